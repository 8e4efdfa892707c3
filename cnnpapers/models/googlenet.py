"""GoogLeNet / Inception-v1 (Szegedy et al. 2015, "Going Deeper with Convolutions", Table 1,
Figs. 2(b) and 3).

An Inception module runs 1x1, 3x3 and 5x5 convolutions and a 3x3 max-pool side by side and
concatenates their outputs (split, transform, merge); 1x1 "reduce" convolutions in front of the
3x3 and 5x5 branches and behind the pool keep the cost down (Section 4). Nine modules, a
convolutional stem, global average pooling and one linear layer give the 22-layer network;
two auxiliary classifiers on 4a and 4d add gradient signal during training (Section 5).

``googlenet`` is torchvision's form (loads its ``state_dict`` strictly): BN after every
convolution, and the known slip that the "5x5" branch holds a 3x3 convolution
(pytorch/vision#906). ``googlenet_paper`` is Table 1 as printed: real 5x5 convolutions with
biases, no BN, local response normalisation in the stem (Fig. 3), 40% dropout.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import Category, Reported, register_model
from ._common import require, require_positive_int, require_probability

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])

# Table 1, columns #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj, for 3a ... 5b.
INCEPTION_TABLE = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


class BasicConv2d(nn.Module):
    """Convolution (no bias) -> BatchNorm (eps 1e-3) -> ReLU, as torchvision names it."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class ConvReLU(nn.Module):
    """Convolution with bias -> ReLU: the 2014 paper's layer ("all convolutions ... use
    rectified linear activation", Section 5), before batch normalisation existed."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv(x), inplace=True)


class Inception(nn.Module):
    """Inception module with dimension reductions (Fig. 2(b)); arguments are Table 1's columns.

    The four branches are 1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 | 3x3 max-pool -> 1x1, padded so that all
    keep the input size and can be concatenated (out = ch1x1 + ch3x3 + ch5x5 + pool_proj).
    ``Inception(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)`` is the block of
    the survey's notes (note 001); ``ch5x5_kernel_size=3`` reproduces torchvision's module.
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int,
                 ch5x5: int, pool_proj: int, conv_block: Callable[..., nn.Module] = BasicConv2d,
                 ch5x5_kernel_size: int = 5):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("ch1x1", ch1x1),
                            ("ch3x3red", ch3x3red), ("ch3x3", ch3x3), ("ch5x5red", ch5x5red),
                            ("ch5x5", ch5x5), ("pool_proj", pool_proj)):
            require_positive_int(name, value)
        require(ch5x5_kernel_size in (3, 5), f"ch5x5_kernel_size must be 5 (paper) or 3 "
                                             f"(torchvision), got {ch5x5_kernel_size!r}")
        self.branch1 = conv_block(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            conv_block(in_channels, ch3x3red, kernel_size=1),
            conv_block(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            conv_block(in_channels, ch5x5red, kernel_size=1),
            conv_block(ch5x5red, ch5x5, kernel_size=ch5x5_kernel_size,
                       padding=ch5x5_kernel_size // 2),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            conv_block(in_channels, pool_proj, kernel_size=1),
        )
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier (Section 5): 5x5/3 average pool -> 1x1 conv 128 -> fc 1024 ->
    dropout 70% -> linear. torchvision pools adaptively to 4x4 instead (``paper_pooling=False``);
    the two agree in output size, not in window, at the 14x14 maps of a 224 input."""

    def __init__(self, in_channels: int, num_classes: int,
                 conv_block: Callable[..., nn.Module] = BasicConv2d, dropout: float = 0.7,
                 paper_pooling: bool = False):
        super().__init__()
        self.paper_pooling = paper_pooling
        self.conv = conv_block(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.paper_pooling:
            x = F.avg_pool2d(x, kernel_size=5, stride=3)
        x = F.adaptive_avg_pool2d(x, (4, 4))  # a no-op after the paper's pool at 224x224 input
        x = torch.flatten(self.conv(x), 1)
        return self.fc2(self.dropout(F.relu(self.fc1(x), inplace=True)))


# ImageNet RGB mean/std -> scale and shift onto Google's (x - 0.5) / 0.5, in double precision
_TO_INCEPTION_SCALE = tuple(s / 0.5 for s in (0.229, 0.224, 0.225))
_TO_INCEPTION_SHIFT = tuple((m - 0.5) / 0.5 for m in (0.485, 0.456, 0.406))


def imagenet_to_inception_range(x: torch.Tensor) -> torch.Tensor:
    """Map RGB standardised with ImageNet's mean/std to Google's (x - 0.5) / 0.5 scaling, which
    the weights torchvision ported from TensorFlow expect (its ``transform_input``)."""
    scale = x.new_tensor(_TO_INCEPTION_SCALE).view(1, 3, 1, 1)
    shift = x.new_tensor(_TO_INCEPTION_SHIFT).view(1, 3, 1, 1)
    return x * scale + shift


def _stem_lrn(paper_exact: bool) -> nn.Module:
    # Fig. 3's LocalRespNorm; the paper prints no constants, these are the BVLC Caffe model's
    # (PyTorch and Caffe both divide alpha by the window size)
    return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0) if paper_exact else nn.Identity()


class GoogLeNet(nn.Module):
    """GoogLeNet of Table 1; ``paper_exact`` picks the 2014 layers, else torchvision's.

    With ``aux_logits=True`` a training-mode forward returns ``GoogLeNetOutputs(logits,
    aux_logits2, aux_logits1)`` (torchvision's order); evaluation always returns the logits.
    With ``paper_exact`` the auxiliary heads' 5x5 pool needs 4a/4d maps of at least 5x5, i.e.
    inputs of 79x79 and up. ``transform_input`` re-normalises ImageNet-standardised RGB to the
    [-1, 1] scaling of the weights torchvision ported from the paper (3 channels only).
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False,
                 transform_input: bool = False, paper_exact: bool = False, dropout: float = 0.2,
                 dropout_aux: float = 0.7):
        super().__init__()
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        require_probability("dropout", dropout)
        require_probability("dropout_aux", dropout_aux)
        require(not transform_input or in_channels == 3,
                f"transform_input needs RGB input (in_channels=3), got in_channels={in_channels}")
        block = ConvReLU if paper_exact else BasicConv2d
        kernel5 = 5 if paper_exact else 3
        self.aux_logits, self.transform_input = aux_logits, transform_input

        self.conv1 = block(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.lrn1 = _stem_lrn(paper_exact)
        self.conv2 = block(64, 64, kernel_size=1)
        self.conv3 = block(64, 192, kernel_size=3, padding=1)
        self.lrn2 = _stem_lrn(paper_exact)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        def inception(name: str, in_ch: int) -> Inception:
            return Inception(in_ch, *INCEPTION_TABLE[name], conv_block=block,
                             ch5x5_kernel_size=kernel5)

        self.inception3a = inception("3a", 192)
        self.inception3b = inception("3b", 256)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = inception("4a", 480)
        self.inception4b = inception("4b", 512)
        self.inception4c = inception("4c", 512)
        self.inception4d = inception("4d", 512)
        self.inception4e = inception("4e", 528)
        # Table 1 has a 3x3/2 max-pool here; torchvision uses 2x2/2 (same 7x7 output at 224)
        self.maxpool4 = nn.MaxPool2d(3 if paper_exact else 2, stride=2, ceil_mode=True)
        self.inception5a = inception("5a", 832)
        self.inception5b = inception("5b", 832)

        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, block, dropout_aux, paper_exact)
            self.aux2 = InceptionAux(528, num_classes, block, dropout_aux, paper_exact)
        else:
            self.aux1 = self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's initialisation (truncated normal, std 0.01)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor | GoogLeNetOutputs:
        if self.transform_input:
            x = imagenet_to_inception_range(x)
        x = self.lrn1(self.maxpool1(self.conv1(x)))
        x = self.maxpool2(self.lrn2(self.conv3(self.conv2(x))))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        heads = self.training and self.aux1 is not None
        aux1 = self.aux1(x) if heads else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if heads else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
        return GoogLeNetOutputs(x, aux2, aux1) if heads else x


register_model(
    "googlenet", GoogLeNet, paper="szegedy2015", category=Category.SPATIAL,
    input_size=(3, 224, 224), num_classes=1000, min_input_size=15, depth=22,
    torchvision="googlenet",
    departure="torchvision's form: BN after every convolution (no biases, no LRN), a 3x3 "
              "convolution in the '5x5' branch (pytorch/vision#906), a 2x2 pool after 4e, "
              "20% dropout, auxiliary heads pooled adaptively. aux_logits is off by default "
              "(torchvision's constructor defaults to on); see googlenet_paper for Table 1.",
    aux_logits=False, transform_input=False, paper_exact=False, dropout=0.2, dropout_aux=0.7,
)
register_model(
    "googlenet_paper", GoogLeNet, paper="szegedy2015", category=Category.SPATIAL,
    input_size=(3, 224, 224), num_classes=1000, min_input_size=31, depth=22,
    reported=Reported(
        "Szegedy et al. 2015: Section 1 ('12x fewer parameters than' AlexNet; a budget of "
        "'1.5 billion multiply-adds' at inference); Table 3, row '1 model, 1 crop' (top-5 error, "
        "ILSVRC-2014 validation)",
        gflops="1.5", errors={"ILSVRC-2014 val top-5": 10.07},
        remark="No total parameter count is printed (Table 1 lists per-layer counts). The "
               "'12x fewer than AlexNet' claim does not hold for the layers of Table 1 against "
               "AlexNet's 60 M: the ratio is below 9 (tested).",
    ),
    departure="Auxiliary heads (Section 5) are off by default: pass aux_logits=True to train "
              "with them. LRN constants are the BVLC Caffe model's (the paper gives none).",
    aux_logits=False, transform_input=False, paper_exact=True, dropout=0.4, dropout_aux=0.7,
)
