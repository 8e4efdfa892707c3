"""The bibliography: every paper a registered model, a chapter or a claim cites.

One entry per paper, keyed by a short citation key. Model cards point here, and the book's
bibliography page is generated from this table, so a paper is typed in exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Paper:
    key: str
    title: str
    authors: str
    year: int
    venue: str
    arxiv: str | None = None  # None for papers that never appeared on arXiv

    @property
    def url(self) -> str:
        if self.arxiv:
            return f"https://arxiv.org/abs/{self.arxiv}"
        return ""

    def cite(self) -> str:
        """Short inline citation, e.g. 'Huang et al. 2017'."""
        return f"{self.authors.split(',')[0].split(' and ')[0]} {self.year}"


_PAPERS = [
    Paper("lecun1998", "Gradient-Based Learning Applied to Document Recognition",
          "LeCun, Bottou, Bengio, Haffner", 1998, "Proc. IEEE"),
    Paper("krizhevsky2012", "ImageNet Classification with Deep Convolutional Neural Networks",
          "Krizhevsky, Sutskever, Hinton", 2012, "NeurIPS"),
    Paper("krizhevsky2014", "One weird trick for parallelizing convolutional neural networks",
          "Krizhevsky", 2014, "arXiv", "1404.5997"),
    Paper("zeiler2014", "Visualizing and Understanding Convolutional Networks",
          "Zeiler, Fergus", 2014, "ECCV", "1311.2901"),
    Paper("simonyan2015", "Very Deep Convolutional Networks for Large-Scale Image Recognition",
          "Simonyan, Zisserman", 2015, "ICLR", "1409.1556"),
    Paper("lin2014", "Network In Network", "Lin, Chen, Yan", 2014, "ICLR", "1312.4400"),
    Paper("szegedy2015", "Going Deeper with Convolutions",
          "Szegedy, Liu, Jia, Sermanet, Reed, Anguelov, Erhan, Vanhoucke, Rabinovich", 2015,
          "CVPR", "1409.4842"),
    Paper("szegedy2016", "Rethinking the Inception Architecture for Computer Vision",
          "Szegedy, Vanhoucke, Ioffe, Shlens, Wojna", 2016, "CVPR", "1512.00567"),
    Paper("szegedy2017", "Inception-v4, Inception-ResNet and the Impact of Residual Connections "
          "on Learning", "Szegedy, Ioffe, Vanhoucke, Alemi", 2017, "AAAI", "1602.07261"),
    Paper("chollet2017", "Xception: Deep Learning with Depthwise Separable Convolutions",
          "Chollet", 2017, "CVPR", "1610.02357"),
    Paper("srivastava2015", "Training Very Deep Networks",
          "Srivastava, Greff, Schmidhuber", 2015, "NeurIPS", "1507.06228"),
    Paper("larsson2017", "FractalNet: Ultra-Deep Neural Networks without Residuals",
          "Larsson, Maire, Shakhnarovich", 2017, "ICLR", "1605.07648"),
    Paper("he2016", "Deep Residual Learning for Image Recognition",
          "He, Zhang, Ren, Sun", 2016, "CVPR", "1512.03385"),
    Paper("he2016identity", "Identity Mappings in Deep Residual Networks",
          "He, Zhang, Ren, Sun", 2016, "ECCV", "1603.05027"),
    Paper("huang2016stochastic", "Deep Networks with Stochastic Depth",
          "Huang, Sun, Liu, Sedra, Weinberger", 2016, "ECCV", "1603.09382"),
    Paper("zagoruyko2016", "Wide Residual Networks", "Zagoruyko, Komodakis", 2016, "BMVC",
          "1605.07146"),
    Paper("han2017", "Deep Pyramidal Residual Networks", "Han, Kim, Kim", 2017, "CVPR",
          "1610.02915"),
    Paper("huang2017", "Densely Connected Convolutional Networks",
          "Huang, Liu, van der Maaten, Weinberger", 2017, "CVPR", "1608.06993"),
    Paper("pleiss2017", "Memory-Efficient Implementation of DenseNets",
          "Pleiss, Chen, Huang, Li, van der Maaten, Weinberger", 2017, "arXiv", "1707.06990"),
    Paper("xie2017", "Aggregated Residual Transformations for Deep Neural Networks",
          "Xie, Girshick, Dollár, Tu, He", 2017, "CVPR", "1611.05431"),
    Paper("howard2017", "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision "
          "Applications", "Howard, Zhu, Chen, Kalenichenko, Wang, Weyand, Andreetto, Adam", 2017,
          "arXiv", "1704.04861"),
    Paper("sandler2018", "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
          "Sandler, Howard, Zhu, Zhmoginov, Chen", 2018, "CVPR", "1801.04381"),
    Paper("zhang2018", "ShuffleNet: An Extremely Efficient Convolutional Neural Network for "
          "Mobile Devices", "Zhang, Zhou, Lin, Sun", 2018, "CVPR", "1707.01083"),
    Paper("ma2018", "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design",
          "Ma, Zhang, Zheng, Sun", 2018, "ECCV", "1807.11164"),
    Paper("hu2018", "Squeeze-and-Excitation Networks", "Hu, Shen, Sun", 2018, "CVPR",
          "1709.01507"),
    Paper("woo2018", "CBAM: Convolutional Block Attention Module",
          "Woo, Park, Lee, Kweon", 2018, "ECCV", "1807.06521"),
    Paper("lee2015", "Deeply-Supervised Nets", "Lee, Xie, Gallagher, Zhang, Tu", 2015,
          "AISTATS", "1409.5185"),
    Paper("springenberg2015", "Striving for Simplicity: The All Convolutional Net",
          "Springenberg, Dosovitskiy, Brox, Riedmiller", 2015, "ICLR workshop", "1412.6806"),
    Paper("khan2020", "A Survey of the Recent Architectures of Deep Convolutional Neural "
          "Networks", "Khan, Sohail, Zahoora, Qureshi", 2020, "Artif. Intell. Rev.", "1901.06032"),
    Paper("xiao2017", "Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning "
          "Algorithms", "Xiao, Rasul, Vollgraf", 2017, "arXiv", "1708.07747"),
    Paper("yang2019", "A Mean Field Theory of Batch Normalization",
          "Yang, Pennington, Rao, Sohl-Dickstein, Schoenholz", 2019, "ICLR", "1902.08129"),
]

PAPERS: dict[str, Paper] = {p.key: p for p in _PAPERS}


def get_paper(key: str) -> Paper:
    try:
        return PAPERS[key]
    except KeyError:
        raise ValueError(
            f"unknown paper key {key!r}; add it to cnnpapers/papers.py. Known: {sorted(PAPERS)}"
        ) from None
