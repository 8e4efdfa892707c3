"""Highway networks (Srivastava, Greff, Schmidhuber 2015, "Training Very Deep Networks", NeurIPS).

A plain layer computes y = H(x). A highway layer adds a learned gate that decides, per unit,
how much of the layer's input to carry through unchanged (the paper's Eq. (3)):

    y = H(x, W_H) · T(x, W_T) + x · (1 − T(x, W_T)),    T(x) = σ(W_T x + b_T).

The transform gate's bias b_T starts negative (Sec. 2.2), so at initialisation T ≈ σ(b_T) is
small and every layer mostly copies its input: the network starts close to the identity and the
gradient reaches early layers however deep it is. Here H is a 3x3 convolution with ReLU and T a
3x3 convolution with a sigmoid, as in the authors' Caffe ``CuDNNHighway`` layer.

The CIFAR network is the authors' released 19-layer model ("Highway B", the deep counterpart of
FitNet B; github.com/flukeskywalker/highway-networks, examples/highways/cifar10-19layers): input
dropout 0.2; three stages of one plain 3x3 conv (32, 80, 128 filters, ReLU) followed by 4, 5 and
5 highway layers of the same width, with 2x2 max pooling and dropout 0.2 between stages; a 1x1
conv to 100 maps with ReLU, 8x8 average pooling, dropout 0.2 and a linear classifier. b_T = -2.
Pooling rounds up and the final pooling is global, as Caffe does and as the 8x8 pooling is at
32x32 input, so the net also reads 28x28 Fashion-MNIST.

``highway=False`` replaces every highway layer by its plain counterpart y = H(x) (half the
parameters: no gate) and ``layers_per_stage`` sets the depth, so the book can retrace the paper's
optimisation experiment (plain nets get harder to train as they deepen; highway nets do not).
The survey (note 001) remembers the highway net as the first to connect across layers, and
suspects its sigmoid gates of keeping it behind ResNet, whose shortcut carries x ungated.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import Category, Reported, register_model
from ._common import require, require_positive_int, require_probability


class _HighwayConv(nn.Module):
    """y = H(x)·T(x) + x·(1 − T(x)) with H = ReLU(conv3x3), T = σ(conv3x3 + b_T) (Eq. (3))."""

    def __init__(self, channels: int):
        super().__init__()
        self.transform = nn.Conv2d(channels, channels, 3, 1, 1)  # H's weights W_H
        self.gate = nn.Conv2d(channels, channels, 3, 1, 1)  # T's weights W_T and bias b_T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.transform(x))
        t = torch.sigmoid(self.gate(x))
        return x + t * (h - x)  # = h·t + x·(1 − t), with one product fewer


class _PlainConv(nn.Module):
    """The plain layer y = H(x) = ReLU(conv3x3(x)) that a highway layer gates (Eq. (1))."""

    def __init__(self, channels: int):
        super().__init__()
        self.transform = nn.Conv2d(channels, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.transform(x))


class HighwayNet(nn.Module):
    """Convolutional highway network for CIFAR (the authors' 19-layer model by default).

    Stage s has one plain conv to ``widths[s]`` channels and ``layers_per_stage[s]`` highway
    layers (plain layers if ``highway=False``); the depth counts those, the 1x1 conv and the
    classifier: ``len(widths) + sum(layers_per_stage) + 2``. ``transform_bias`` is b_T's initial
    value; ``dropout`` the rate of the dropout before each stage and before the classifier.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3,
                 widths: tuple[int, ...] = (32, 80, 128),
                 layers_per_stage: tuple[int, ...] = (4, 5, 5), highway: bool = True,
                 transform_bias: float = -2.0, head_channels: int = 100, dropout: float = 0.2):
        super().__init__()
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        require_positive_int("head_channels", head_channels)
        require(isinstance(widths, (tuple, list)) and len(widths) > 0
                and all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths),
                f"widths must be a non-empty tuple of positive integers, got {widths!r}")
        require(isinstance(layers_per_stage, (tuple, list)) and len(layers_per_stage) == len(widths)
                and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                        for n in layers_per_stage),
                f"layers_per_stage must give a count >= 0 for each of the {len(widths)} stages "
                f"of widths={tuple(widths)}, got {layers_per_stage!r}")
        require(isinstance(highway, bool), f"highway must be True or False, got {highway!r}")
        require(isinstance(transform_bias, (int, float)) and not isinstance(transform_bias, bool),
                f"transform_bias must be a number (the paper uses negative values, e.g. -1 to "
                f"-3), got {transform_bias!r}")
        require_probability("dropout", dropout)
        self.depth = len(widths) + sum(layers_per_stage) + 2
        self.stages = nn.Sequential(*(
            self._stage(widths[s - 1] if s else in_channels, widths[s], layers_per_stage[s],
                        highway, dropout, pool_first=s > 0)
            for s in range(len(widths))
        ))
        self.head = nn.Sequential(nn.Conv2d(widths[-1], head_channels, 1), nn.ReLU(inplace=True),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout))
        self.fc = nn.Linear(head_channels, num_classes)
        self._init_weights(transform_bias)

    @staticmethod
    def _stage(in_channels: int, width: int, layers: int, highway: bool, dropout: float,
               pool_first: bool) -> nn.Sequential:
        pool = [nn.MaxPool2d(2, 2, ceil_mode=True)] if pool_first else []
        layer = _HighwayConv if highway else _PlainConv
        return nn.Sequential(*pool, nn.Dropout(dropout),
                             nn.Conv2d(in_channels, width, 3, 1, 1), nn.ReLU(inplace=True),
                             *(layer(width) for _ in range(layers)))

    def _init_weights(self, transform_bias: float) -> None:
        # Caffe's "xavier" filler of the authors' model, U(±sqrt(3 / fan_in)), and zero biases;
        # then b_T = transform_bias < 0 so that every layer starts by carrying its input
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_uniform_(m.weight, a=1)
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, _HighwayConv):
                nn.init.constant_(m.gate.bias, transform_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.head(self.stages(x)))


TABLE2 = "DenseNet paper Table 2, Highway Network [33] row"
_CIFAR = dict(paper="srivastava2015", category=Category.DEPTH, input_size=(3, 32, 32),
              num_classes=10, min_input_size=1, depth=19)

register_model(
    "highway_19", HighwayNet, **_CIFAR,
    reported=Reported(
        f"{TABLE2} (errors); Srivastava et al. 2015, Table 3, row 'Highway B (Fitnet B)', "
        "19 layers (parameters)",
        params="2.3", errors={"C10+": 7.72, "C100+": 32.39},
        remark="The paper prints the parameter count as '~2.3M'. DenseNet's errors are 100 "
        "minus the accuracies 92.28% (CIFAR-10) and 67.61% (CIFAR-100). The authors' released "
        "CIFAR-10 file ends in a 100-way classifier (copied from CIFAR-100); we use "
        "num_classes outputs.",
    ),
    description="Highway B: the authors' 19-layer convolutional highway network for CIFAR.",
    widths=(32, 80, 128), layers_per_stage=(4, 5, 5), highway=True, transform_bias=-2.0,
    head_channels=100, dropout=0.2,
)
register_model(
    "highway_19_plain", HighwayNet, **_CIFAR,
    departure="Not in the paper: highway_19 with each highway layer replaced by its plain "
    "layer y = H(x) (no gate, half the parameters), the baseline for the depth experiment.",
    description="Plain twin of highway_19: the same layers without transform gates.",
    widths=(32, 80, 128), layers_per_stage=(4, 5, 5), highway=False, transform_bias=-2.0,
    head_channels=100, dropout=0.2,
)
