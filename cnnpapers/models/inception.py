"""Inception-v3 (Szegedy et al. 2016, "Rethinking the Inception Architecture for Computer Vision")
and Inception-v4 / Inception-ResNet-v2 (Szegedy et al. 2017, "Inception-v4, Inception-ResNet and
the Impact of Residual Connections on Learning").

The 2016 paper's principle is *factorisation* (Section 3): a 5x5 convolution becomes two stacked
3x3 ones (:class:`Factorized5x5`, Fig. 1; 18/25 of the weights, 28% saved) and an n x n one
becomes 1 x n followed by n x 1 (:class:`AsymmetricConv`, Fig. 3; 2n/n^2 of the weights, 33%
saved for n = 3). Both blocks are public so the survey chapter can count the savings; Inception-v4
and Inception-ResNet-v2 are assembled from them.

``inception_v3`` is torchvision's ``Inception3`` (module names kept, so its ``state_dict`` loads
strictly). ``inception_v4`` and ``inception_resnet_v2`` follow the 2017 paper's figures;
``inception_resnet_v2_tf`` is the graph of the checkpoint the authors released with TF-slim (and
that timm ports), which differs from the figures (see its card).
"""

from __future__ import annotations

from collections import namedtuple
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import Category, Reported, register_model
from ._common import require, require_positive_int, require_probability
from .googlenet import BasicConv2d, imagenet_to_inception_range

InceptionOutputs = namedtuple("InceptionOutputs", ["logits", "aux_logits"])
ConvFactory = Callable[..., nn.Module]


# --- factorisation blocks (2016 paper, Section 3) -------------------------------------------


class Factorized5x5(nn.Sequential):
    """A 5x5 convolution as two stacked 3x3 ones (2016 paper, Section 3.1, Fig. 1).

    Same 5x5 receptive field and output size; with ``in = mid = out = C`` it holds 18 C^2 weights
    instead of 25 C^2 -- "a 28% relative gain" -- and adds one more nonlinearity.
    """

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int | None = None,
                 conv_block: ConvFactory = BasicConv2d):
        mid = out_channels if mid_channels is None else mid_channels
        super().__init__(conv_block(in_channels, mid, kernel_size=3, padding=1),
                         conv_block(mid, out_channels, kernel_size=3, padding=1))


class AsymmetricConv(nn.Sequential):
    """An n x n convolution as a 1 x n and an n x 1 one in sequence (2016 paper, Section 3.2,
    Fig. 3).

    With ``in = mid = out = C`` it holds 2n C^2 weights instead of n^2 C^2: "33% cheaper" for
    n = 3, 71% for the n = 7 used on 17x17 grids. The order does not change the count;
    ``vertical_first`` puts the n x 1 layer first, as in Fig. 3 of the 2016 paper and the
    Inception-v4 stem (Fig. 3 of the 2017 paper).
    """

    def __init__(self, in_channels: int, out_channels: int, n: int,
                 mid_channels: int | None = None, conv_block: ConvFactory = BasicConv2d,
                 vertical_first: bool = False):
        require(isinstance(n, int) and n >= 3 and n % 2 == 1,
                f"n must be an odd integer >= 3 (so padding keeps the size), got {n!r}")
        mid = out_channels if mid_channels is None else mid_channels
        row = dict(kernel_size=(1, n), padding=(0, n // 2))
        column = dict(kernel_size=(n, 1), padding=(n // 2, 0))
        first, second = (column, row) if vertical_first else (row, column)
        super().__init__(conv_block(in_channels, mid, **first),
                         conv_block(mid, out_channels, **second))


class _SplitAsymmetric(nn.Module):
    """1 x n and n x 1 side by side on the same input, concatenated: the "expanded filter bank"
    of the coarsest grid (2016 paper, Fig. 7; 2017 paper, Fig. 6)."""

    def __init__(self, in_channels: int, out_each: int, n: int = 3):
        super().__init__()
        self.row = BasicConv2d(in_channels, out_each, kernel_size=(1, n), padding=(0, n // 2))
        self.column = BasicConv2d(in_channels, out_each, kernel_size=(n, 1), padding=(n // 2, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.row(x), self.column(x)], 1)


class _Branches(nn.Module):
    """Parallel branches whose outputs are concatenated (the Inception "filter concat")."""

    def __init__(self, *branches: nn.Module):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], 1)


def _avg_pool_proj(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3/1 average pool then 1x1 projection (padding excluded from the average, as in TF)."""
    return nn.Sequential(nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
                         BasicConv2d(in_channels, out_channels, kernel_size=1))


def _conv(in_channels: int, out_channels: int, kernel_size: int = 1, stride: int = 1,
          padding: int = 0) -> BasicConv2d:
    return BasicConv2d(in_channels, out_channels, kernel_size=kernel_size, stride=stride,
                       padding=padding)


# --- Inception-v3, torchvision's module names ------------------------------------------------


class _Mixed35(nn.Module):
    """35x35 module (torchvision's ``InceptionA``, the released form of the 2016 paper's
    Fig. 5): beside Fig. 5's tower of two 3x3 convolutions it keeps a plain 5x5 tower."""

    def __init__(self, in_channels: int, pool_features: int):
        super().__init__()
        self.branch1x1 = _conv(in_channels, 64)
        self.branch5x5_1 = _conv(in_channels, 48)
        self.branch5x5_2 = _conv(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = _conv(in_channels, 64)
        self.branch3x3dbl_2 = _conv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _conv(96, 96, 3, padding=1)
        self.branch_pool = _conv(in_channels, pool_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([self.branch1x1(x), b5, b3, pool], 1)


class _Reduction35(nn.Module):
    """35 -> 17 grid reduction (Fig. 10; torchvision's ``InceptionB``): stride-2 convolutions
    beside a stride-2 pool, so the grid shrinks without a representational bottleneck."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3 = _conv(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = _conv(in_channels, 64)
        self.branch3x3dbl_2 = _conv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _conv(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class _Mixed17(nn.Module):
    """17x17 module with 7x7 convolutions factorised as 1x7 and 7x1 (Fig. 6, n = 7;
    torchvision's ``InceptionC``)."""

    def __init__(self, in_channels: int, channels_7x7: int):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = _conv(in_channels, 192)
        self.branch7x7_1 = _conv(in_channels, c7)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = _conv(in_channels, c7)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = _conv(in_channels, 192)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                      self.branch7x7dbl_4, self.branch7x7dbl_5):
            d = layer(d)
        pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([self.branch1x1(x), b7, d, pool], 1)


class _Reduction17(nn.Module):
    """17 -> 8 grid reduction (torchvision's ``InceptionD``)."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3_1 = _conv(in_channels, 192)
        self.branch3x3_2 = _conv(192, 320, 3, stride=2)
        self.branch7x7x3_1 = _conv(in_channels, 192)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = _conv(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class _Mixed8(nn.Module):
    """8x8 module with expanded filter-bank outputs (Fig. 7; torchvision's ``InceptionE``):
    the 3x3 towers end in 1x3 and 3x1 side by side, to widen the coarsest representation."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch1x1 = _conv(in_channels, 320)
        self.branch3x3_1 = _conv(in_channels, 384)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = _conv(in_channels, 448)
        self.branch3x3dbl_2 = _conv(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = _conv(in_channels, 192)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([self.branch1x1(x), b3, d, pool], 1)


class _AuxHead(nn.Module):
    """Auxiliary classifier on the 17x17 grid (Fig. 8), batch-normalised as in the
    "BN-auxiliary" row of Table 3: 5x5/3 average pool -> 1x1 conv 128 -> 5x5 conv 768 ->
    linear."""

    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()
        self.conv0 = _conv(in_channels, 128)
        self.conv1 = _conv(128, 768, 5)
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(self.conv0(F.avg_pool2d(x, kernel_size=5, stride=3)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1))


class Inception3(nn.Module):
    """Inception-v3: the last row of the 2016 paper's Table 3 ("Inception-v2 BN-auxiliary"),
    laid out and named as ``torchvision.models.Inception3``.

    Stem of 3x3 convolutions (the factorised 7x7, Section 6), three 35x35 modules, a grid
    reduction, four 17x17 modules, a second reduction, two 8x8 modules, global average pooling.
    With ``aux_logits=True`` a training-mode forward returns ``InceptionOutputs(logits,
    aux_logits)``; the auxiliary head needs 17x17 maps after Mixed_6e (inputs of 299 and up).
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False,
                 transform_input: bool = False, dropout: float = 0.5):
        super().__init__()
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        require_probability("dropout", dropout)
        require(not transform_input or in_channels == 3,
                f"transform_input needs RGB input (in_channels=3), got in_channels={in_channels}")
        self.aux_logits, self.transform_input = aux_logits, transform_input
        self.Conv2d_1a_3x3 = _conv(in_channels, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = _conv(32, 32, 3)
        self.Conv2d_2b_3x3 = _conv(32, 64, 3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = _conv(64, 80)
        self.Conv2d_4a_3x3 = _conv(80, 192, 3)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = _Mixed35(192, pool_features=32)
        self.Mixed_5c = _Mixed35(256, pool_features=64)
        self.Mixed_5d = _Mixed35(288, pool_features=64)
        self.Mixed_6a = _Reduction35(288)
        self.Mixed_6b = _Mixed17(768, channels_7x7=128)
        self.Mixed_6c = _Mixed17(768, channels_7x7=160)
        self.Mixed_6d = _Mixed17(768, channels_7x7=160)
        self.Mixed_6e = _Mixed17(768, channels_7x7=192)
        self.AuxLogits = _AuxHead(768, num_classes) if aux_logits else None
        self.Mixed_7a = _Reduction17(768)
        self.Mixed_7b = _Mixed8(1280)
        self.Mixed_7c = _Mixed8(2048)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(2048, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's truncated normals: std 0.1, except 0.01 / 0.001 in the auxiliary head
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, mean=0.0, std=0.1, a=-2, b=2)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if self.AuxLogits is not None:
            nn.init.trunc_normal_(self.AuxLogits.conv1.conv.weight, std=0.01, a=-2, b=2)
            nn.init.trunc_normal_(self.AuxLogits.fc.weight, std=0.001, a=-2, b=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor | InceptionOutputs:
        if self.transform_input:
            x = imagenet_to_inception_range(x)
        x = self.maxpool1(self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x))))
        x = self.maxpool2(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)))
        x = self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x)))
        x = self.Mixed_6e(self.Mixed_6d(self.Mixed_6c(self.Mixed_6b(self.Mixed_6a(x)))))
        head = self.training and self.AuxLogits is not None
        aux = self.AuxLogits(x) if head else None
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))
        x = self.fc(torch.flatten(self.dropout(self.avgpool(x)), 1))
        return InceptionOutputs(x, aux) if head else x


# --- Inception-v4 (2017 paper, Figs. 3-9) ----------------------------------------------------


class _StemV4(nn.Module):
    """The stem of Inception-v4 and Inception-ResNet-v2 (2017 paper, Fig. 3): 299x299x3 ->
    35x35x384, with stride-2 convolutions beside max-pools at two of its three reductions."""

    out_channels = 384

    def __init__(self, in_channels: int):
        super().__init__()
        self.convs = nn.Sequential(_conv(in_channels, 32, 3, stride=2), _conv(32, 32, 3),
                                   _conv(32, 64, 3, padding=1))
        self.mixed_a = _Branches(nn.MaxPool2d(3, stride=2), _conv(64, 96, 3, stride=2))
        self.mixed_b = _Branches(
            nn.Sequential(_conv(160, 64), _conv(64, 96, 3)),
            nn.Sequential(_conv(160, 64), AsymmetricConv(64, 64, 7, vertical_first=True),
                          _conv(64, 96, 3)),
        )
        self.mixed_c = _Branches(_conv(192, 192, 3, stride=2), nn.MaxPool2d(3, stride=2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mixed_c(self.mixed_b(self.mixed_a(self.convs(x))))


def _inception_a(in_channels: int = 384) -> _Branches:
    """Inception-A, 35x35 (Fig. 4): 96 + 96 + 96 + 96 = 384 maps."""
    return _Branches(
        _avg_pool_proj(in_channels, 96),
        _conv(in_channels, 96),
        nn.Sequential(_conv(in_channels, 64), _conv(64, 96, 3, padding=1)),
        nn.Sequential(_conv(in_channels, 64), Factorized5x5(64, 96)),
    )


def _reduction_a(in_channels: int, k: int, l: int, m: int, n: int) -> _Branches:
    """Reduction-A, 35 -> 17 (Fig. 7); (k, l, m, n) per network from Table 1.
    Output: in_channels + n + m maps."""
    return _Branches(
        nn.MaxPool2d(3, stride=2),
        _conv(in_channels, n, 3, stride=2),
        nn.Sequential(_conv(in_channels, k), _conv(k, l, 3, padding=1), _conv(l, m, 3, stride=2)),
    )


def _inception_b(in_channels: int = 1024) -> _Branches:
    """Inception-B, 17x17 (Fig. 5): 128 + 384 + 256 + 256 = 1024 maps."""
    return _Branches(
        _avg_pool_proj(in_channels, 128),
        _conv(in_channels, 384),
        nn.Sequential(_conv(in_channels, 192), AsymmetricConv(192, 256, 7, mid_channels=224)),
        nn.Sequential(_conv(in_channels, 192), AsymmetricConv(192, 224, 7, mid_channels=192),
                      AsymmetricConv(224, 256, 7, mid_channels=224)),
    )


def _reduction_b(in_channels: int = 1024) -> _Branches:
    """Reduction-B, 17 -> 8 (Fig. 8): in_channels + 192 + 320 maps."""
    return _Branches(
        nn.MaxPool2d(3, stride=2),
        nn.Sequential(_conv(in_channels, 192), _conv(192, 192, 3, stride=2)),
        nn.Sequential(_conv(in_channels, 256), AsymmetricConv(256, 320, 7, mid_channels=256),
                      _conv(320, 320, 3, stride=2)),
    )


def _inception_c(in_channels: int = 1536) -> _Branches:
    """Inception-C, 8x8 (Fig. 6): 256 + 256 + 2x256 + 2x256 = 1536 maps."""
    return _Branches(
        _avg_pool_proj(in_channels, 256),
        _conv(in_channels, 256),
        nn.Sequential(_conv(in_channels, 384), _SplitAsymmetric(384, 256)),
        nn.Sequential(_conv(in_channels, 384), AsymmetricConv(384, 512, 3, mid_channels=448),
                      _SplitAsymmetric(512, 256)),
    )


class InceptionV4(nn.Module):
    """Inception-v4 (2017 paper, Fig. 9): stem, 4 x Inception-A, Reduction-A (k, l, m, n =
    192, 224, 256, 384), 7 x Inception-B, Reduction-B, 3 x Inception-C, average pooling,
    dropout (keep 0.8), softmax. Every convolution is batch-normalised (Section 3.2)."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.2):
        super().__init__()
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        require_probability("dropout", dropout)
        self.features = nn.Sequential(
            _StemV4(in_channels),
            *[_inception_a() for _ in range(4)], _reduction_a(384, 192, 224, 256, 384),
            *[_inception_b() for _ in range(7)], _reduction_b(),
            *[_inception_c() for _ in range(3)],
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(1536, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(torch.flatten(self.avgpool(self.features(x)), 1)))


# --- Inception-ResNet-v2 (2017 paper, Figs. 15-19) -------------------------------------------


class _ResidualInception(nn.Module):
    """``relu(x + scale * up(concat(branches(x))))`` (Figs. 16, 17, 19 and 20).

    ``up`` is the 1x1 "Linear" convolution that restores the input width so the sum is defined;
    it has no BN ("batch-normalization only on top of the traditional layers, but not on top of
    the summations", Section 3.2). ``scale`` is the residual scaling of Section 3.3.
    """

    def __init__(self, branches: _Branches, branch_channels: int, channels: int, scale: float,
                 activate: bool = True):
        super().__init__()
        self.branches = branches
        self.up = nn.Conv2d(branch_channels, channels, kernel_size=1)
        self.scale, self.activate = scale, activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x + self.scale * self.up(self.branches(x))
        return F.relu(out) if self.activate else out


def _inception_resnet_a(channels: int, scale: float) -> _ResidualInception:
    """Inception-ResNet-A, 35x35 (Fig. 16): 32 | 32 -> 32 | 32 -> 48 -> 64, then 1x1 up."""
    branches = _Branches(
        _conv(channels, 32),
        nn.Sequential(_conv(channels, 32), _conv(32, 32, 3, padding=1)),
        nn.Sequential(_conv(channels, 32), Factorized5x5(32, 64, mid_channels=48)),
    )
    return _ResidualInception(branches, 128, channels, scale)


def _inception_resnet_b(channels: int, scale: float) -> _ResidualInception:
    """Inception-ResNet-B, 17x17 (Fig. 17): 192 | 128 -> 1x7 160 -> 7x1 192, then 1x1 up."""
    branches = _Branches(
        _conv(channels, 192),
        nn.Sequential(_conv(channels, 128), AsymmetricConv(128, 192, 7, mid_channels=160)),
    )
    return _ResidualInception(branches, 384, channels, scale)


def _inception_resnet_c(channels: int, scale: float, activate: bool = True) -> _ResidualInception:
    """Inception-ResNet-C, 8x8 (Fig. 19): 192 | 192 -> 1x3 224 -> 3x1 256, then 1x1 up."""
    branches = _Branches(
        _conv(channels, 192),
        nn.Sequential(_conv(channels, 192), AsymmetricConv(192, 256, 3, mid_channels=224)),
    )
    return _ResidualInception(branches, 448, channels, scale, activate)


def _reduction_b_v2(in_channels: int) -> _Branches:
    """Reduction-B of Inception-ResNet-v2, 17 -> 8 (Fig. 18): in_channels + 384 + 288 + 320."""
    return _Branches(
        nn.MaxPool2d(3, stride=2),
        nn.Sequential(_conv(in_channels, 256), _conv(256, 384, 3, stride=2)),
        nn.Sequential(_conv(in_channels, 256), _conv(256, 288, 3, stride=2)),
        nn.Sequential(_conv(in_channels, 256), _conv(256, 288, 3, padding=1),
                      _conv(288, 320, 3, stride=2)),
    )


class _StemReleased(nn.Module):
    """Stem of the released TF-slim Inception-ResNet-v2: Inception-v3's convolutions and pools,
    then a 35x35 Inception module of 96 + 64 + 96 + 64 = 320 maps (TF-slim's ``Mixed_5b``)."""

    out_channels = 320

    def __init__(self, in_channels: int):
        super().__init__()
        self.convs = nn.Sequential(
            _conv(in_channels, 32, 3, stride=2), _conv(32, 32, 3), _conv(32, 64, 3, padding=1),
            nn.MaxPool2d(3, stride=2), _conv(64, 80), _conv(80, 192, 3), nn.MaxPool2d(3, stride=2),
        )
        self.mixed = _Branches(
            _conv(192, 96),
            nn.Sequential(_conv(192, 48), _conv(48, 64, 5, padding=2)),
            nn.Sequential(_conv(192, 64), Factorized5x5(64, 96)),
            _avg_pool_proj(192, 64),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mixed(self.convs(x))


class InceptionResNetV2(nn.Module):
    """Inception-ResNet-v2 (2017 paper, Fig. 15), as drawn (``paper_exact``) or as released.

    ``paper_exact=True``: the Fig. 3 stem (384 maps), ``blocks`` = (5, 10, 5) residual modules
    A, B, C, Reduction-A with (k, l, m, n) = (256, 256, 384, 384) and Fig. 18's Reduction-B. Two
    widths printed in the figures cannot be built, since a residual sum needs the up-projection
    to return the input width: Fig. 17's "1154" must be 1152 (= 384 + 384 + 384 after
    Reduction-A) and Fig. 19's "2048" must be 2144 (= 1152 + 384 + 288 + 320 after
    Reduction-B). We use the widths the sums require.

    ``paper_exact=False``: the graph of the TF-slim checkpoint (timm's ``inception_resnet_v2``):
    a 320-map Inception-v3-style stem, 1088 and 2080 maps after the reductions, ``blocks`` =
    (10, 20, 10) with the last C module unscaled and without ReLU, and a 1x1 convolution to
    1536 maps before pooling.

    ``residual_scales`` multiply the A, B, C residuals; the paper only says "between 0.1 and 0.3"
    (Section 3.3), the release uses 0.17, 0.10, 0.20.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, paper_exact: bool = True,
                 blocks: tuple[int, int, int] = (5, 10, 5),
                 residual_scales: tuple[float, float, float] = (0.17, 0.10, 0.20),
                 dropout: float = 0.2):
        super().__init__()
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        require(len(blocks) == 3 and all(isinstance(b, int) and b >= 1 for b in blocks),
                f"blocks must be three positive integers (A, B, C modules), got {blocks!r}")
        require(len(residual_scales) == 3 and all(0 < s <= 1 for s in residual_scales),
                f"residual_scales must be three numbers in (0, 1], got {residual_scales!r}")
        require_probability("dropout", dropout)
        n_a, n_b, n_c = blocks
        s_a, s_b, s_c = residual_scales
        stem = (_StemV4 if paper_exact else _StemReleased)(in_channels)
        c35 = stem.out_channels
        c17 = c35 + 384 + 384
        c8 = c17 + 384 + 288 + 320
        if paper_exact:
            stage_c = [_inception_resnet_c(c8, s_c) for _ in range(n_c)]
            head: list[nn.Module] = []
            self.num_features = c8
        else:
            stage_c = [_inception_resnet_c(c8, s_c) for _ in range(n_c - 1)]
            stage_c.append(_inception_resnet_c(c8, 1.0, activate=False))
            head = [_conv(c8, 1536)]
            self.num_features = 1536
        self.features = nn.Sequential(
            stem,
            *[_inception_resnet_a(c35, s_a) for _ in range(n_a)],
            _reduction_a(c35, 256, 256, 384, 384),
            *[_inception_resnet_b(c17, s_b) for _ in range(n_b)],
            _reduction_b_v2(c17),
            *stage_c, *head,
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.num_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(torch.flatten(self.avgpool(self.features(x)), 1)))


# --- registration -----------------------------------------------------------------------------

_TABLE_2_2017 = ("Szegedy et al. 2017, Table 2 (single crop, single model; ILSVRC-2012 val, "
                 "non-blacklisted subset), row '{}'")

register_model(
    "inception_v3", Inception3, paper="szegedy2016", category=Category.SPATIAL,
    input_size=(3, 299, 299), num_classes=1000, min_input_size=75, depth=42,
    torchvision="inception_v3",
    reported=Reported(
        "Szegedy et al. 2016: Table 3, last row ('Inception-v2 BN-auxiliary', which Section 10 "
        "names Inception-v3; single crop, ILSVRC-2012 val) and abstract ('less than 25 million "
        "parameters')",
        gflops="4.8", errors={"ILSVRC-2012 val top-1": 21.2, "ILSVRC-2012 val top-5": 5.6},
        remark="No exact count is printed, only 'less than 25 million parameters'; that holds "
               "without the auxiliary head and fails with it (tested).",
    ),
    departure="torchvision's port of the released TensorFlow graph, which keeps a plain 5x5 "
              "tower beside the factorised one in the 35x35 modules (Fig. 5 has only the "
              "latter). aux_logits is off by default (torchvision's constructor defaults to "
              "on); the auxiliary head needs the full 299x299 input.",
    aux_logits=False, transform_input=False, dropout=0.5,
)
register_model(
    "inception_v4", InceptionV4, paper="szegedy2017", category=Category.DEPTH,
    input_size=(3, 299, 299), num_classes=1000, min_input_size=75,
    reported=Reported(
        _TABLE_2_2017.format("Inception-v4"),
        errors={"ILSVRC-2012 val top-1": 20.0, "ILSVRC-2012 val top-5": 5.0},
        remark="The paper prints no parameter count; tests compare ours with timm's published "
               "42.7 M for its port of the released checkpoint.",
    ),
    dropout=0.2,
)
register_model(
    "inception_resnet_v2", InceptionResNetV2, paper="szegedy2017", category=Category.DEPTH,
    input_size=(3, 299, 299), num_classes=1000, min_input_size=75,
    reported=Reported(
        _TABLE_2_2017.format("Inception-ResNet-v2"),
        errors={"ILSVRC-2012 val top-1": 19.9, "ILSVRC-2012 val top-5": 4.9},
        remark="No parameter count is printed. Figs. 17 and 19 print up-projection widths "
               "(1154, 2048) that cannot be added to their inputs (1152, 2144 maps).",
    ),
    departure="Up-projection widths corrected to 1152 and 2144 so the residual sums are "
              "defined; residual scales 0.17/0.10/0.20 from the release (the paper gives a "
              "0.1-0.3 range). Far fewer parameters than timm's 55.8 M, which counts the "
              "released graph (inception_resnet_v2_tf).",
    paper_exact=True, blocks=(5, 10, 5), residual_scales=(0.17, 0.10, 0.20), dropout=0.2,
)
register_model(
    "inception_resnet_v2_tf", InceptionResNetV2, paper="szegedy2017", category=Category.DEPTH,
    input_size=(3, 299, 299), num_classes=1000, min_input_size=75,
    departure="The graph of the TF-slim checkpoint released with the paper (ported by timm), not "
              "Fig. 15: Inception-v3-style stem with a 320-map module, 10/20/10 residual "
              "modules, 1088/2080 widths, a final unscaled C module without ReLU and a 1x1 "
              "convolution to 1536 maps. Parameters equal timm's inception_resnet_v2.",
    paper_exact=False, blocks=(10, 20, 10), residual_scales=(0.17, 0.10, 0.20), dropout=0.2,
)
