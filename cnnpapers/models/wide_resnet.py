"""Wide Residual Networks (Zagoruyko & Komodakis 2016, "Wide Residual Networks", BMVC).

WRN-d-k for CIFAR/SVHN (the paper's Table 1): a 3x3 stem conv with 16 filters, then three groups
of n = (d - 4) / 6 pre-activation basic blocks B(3,3) with widths 16k, 32k and 64k (the second
and third group start with stride 2), BN-ReLU, 8x8 average pooling and a linear classifier.
A block is BN-ReLU-conv3x3-BN-ReLU-conv3x3 (Fig. 1(c)); "wide-dropout" (Fig. 1(d)) puts dropout
between the two convolutions, after the second ReLU.

Details follow the authors' code (github.com/szagoruyko/wide-residual-networks), which is what
the paper's parameter counts describe: convolutions have no bias; the shortcut is the identity
where the width is unchanged and a 1x1 convolution (with the block's stride) where it changes,
and it reads the block's *pre-activated* input, so the BN-ReLU is shared by both paths there.
The final pooling is global average pooling, which is the paper's 8x8 pooling at 32x32 input and
lets the net read 28x28 Fashion-MNIST too.

The survey (note 001) files WRN under width: at equal depth, k multiplies every block's width,
so the parameter count grows about k² while the depth (and sequential latency) stays fixed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import Category, Reported, register_model
from ._common import require, require_positive_int, require_probability

STEM_WIDTH = 16  # Table 1: conv1 has 16 filters for every k
GROUP_WIDTHS = (16, 32, 64)  # Table 1: conv2-conv4 have 16k, 32k and 64k filters


def blocks_per_group(network_depth: int) -> int:
    """n of the paper's Table 1 from the depth d = 6n + 4."""
    if not (isinstance(network_depth, int) and not isinstance(network_depth, bool)
            and network_depth >= 10 and (network_depth - 4) % 6 == 0):
        raise ValueError(
            "network_depth d of a WRN-d-k must be 6n + 4 with n >= 1 blocks per group: "
            f"10, 16, 22, 28, 34, 40, ...; got {network_depth!r}"
        )
    return (network_depth - 4) // 6


class _WideBlock(nn.Module):
    """Pre-activation basic block B(3,3), with dropout between the convs (Fig. 1(c), 1(d))."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, dropout: float):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        projects = in_channels != out_channels or stride != 1
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False) if projects else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = F.relu(self.bn1(x))
        out = self.conv1(pre)
        out = self.conv2(self.dropout(F.relu(self.bn2(out))))
        return out + (x if self.shortcut is None else self.shortcut(pre))


class WideResNet(nn.Module):
    """WRN-d-k (Table 1): depth ``network_depth`` = d, width multiplier ``widen_factor`` = k.

    ``dropout`` is the probability of the dropout between each block's two convolutions (the
    authors' scripts use 0.3 on CIFAR and 0.4 on SVHN); it is active only in training mode.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, network_depth: int = 28,
                 widen_factor: int = 10, dropout: float = 0.0):
        super().__init__()
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        n = blocks_per_group(network_depth)
        require(isinstance(widen_factor, int) and not isinstance(widen_factor, bool)
                and widen_factor >= 1,
                f"widen_factor k must be a positive integer (k = 1 is a thin pre-activation "
                f"ResNet), got {widen_factor!r}")
        require_probability("dropout", dropout)
        widths = [STEM_WIDTH] + [w * widen_factor for w in GROUP_WIDTHS]
        self.stem = nn.Conv2d(in_channels, STEM_WIDTH, 3, 1, 1, bias=False)
        self.groups = nn.Sequential(*(
            self._group(widths[g], widths[g + 1], n, stride, dropout)
            for g, stride in enumerate((1, 2, 2))
        ))
        self.bn = nn.BatchNorm2d(widths[-1])
        self.fc = nn.Linear(widths[-1], num_classes)
        self._init_weights()

    @staticmethod
    def _group(in_channels: int, out_channels: int, n: int, stride: int, dropout: float) -> nn.Sequential:
        return nn.Sequential(*(
            _WideBlock(in_channels if i == 0 else out_channels, out_channels,
                       stride if i == 0 else 1, dropout)
            for i in range(n)
        ))

    def _init_weights(self) -> None:
        # the authors' MSRinit: N(0, 2 / (k*k*out_channels)) for convs; zero linear bias
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.groups(self.stem(x))
        x = F.relu(self.bn(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


TABLE2 = "DenseNet paper Table 2, Wide ResNet [41] rows"
_MIN_INPUT = 1  # stride-2 3x3 convs (padding 1) and global pooling accept any size >= 1
_CIFAR = dict(paper="zagoruyko2016", category=Category.WIDTH, input_size=(3, 32, 32),
              num_classes=10, min_input_size=_MIN_INPUT)
_README_UPDATE = (
    "The authors' README (github.com/szagoruyko/wide-residual-networks) says the paper was "
    "updated in Nov. 2016 with mean/std-preprocessed CIFAR results and asks for those to be "
    "compared; DenseNet's Table 2 (Aug. 2016) quotes the figures available before that update."
)

register_model(
    "wrn_16_8", WideResNet, **_CIFAR, depth=16,
    reported=Reported(f"{TABLE2} (depth 16, 11.0M)", params="11.0",
                      errors={"C10+": 4.81, "C100+": 22.07},
                      remark="The WRN paper prints the same 11.0M for WRN-16-8. " + _README_UPDATE),
    network_depth=16, widen_factor=8, dropout=0.0,
)
register_model(
    "wrn_28_10", WideResNet, **_CIFAR, depth=28,
    reported=Reported(f"{TABLE2} (depth 28, 36.5M)", params="36.5",
                      errors={"C10+": 4.17, "C100+": 20.50},
                      remark="The WRN paper prints the same 36.5M for WRN-28-10. " + _README_UPDATE
                      + " That README gives 4.00 (C10+) and 19.25 (C100+), median of 5 runs."),
    network_depth=28, widen_factor=10, dropout=0.0,
)
register_model(
    "wrn_28_10_dropout", WideResNet, **_CIFAR, depth=28,
    reported=Reported("Authors' README (github.com/szagoruyko/wide-residual-networks), "
                      "CIFAR table, WRN-28-10-dropout row (mean/std normalisation, median of "
                      "5 runs)", errors={"C10+": 3.89, "C100+": 18.85},
                      remark="Dropout 0.3 between the convs, the paper's CIFAR setting."),
    description="WRN-28-10 with dropout 0.3 between the convolutions (Fig. 1(d)).",
    network_depth=28, widen_factor=10, dropout=0.3,
)
register_model(
    "wrn_16_4_dropout", WideResNet, **_CIFAR, depth=16,
    reported=Reported(f"{TABLE2} ('with Dropout', depth 16, 2.7M)", params="2.7",
                      errors={"SVHN": 1.64},
                      remark="DenseNet's row names no width; WRN-16-4 is the depth-16 WRN with "
                      "2.7M parameters. Dropout 0.4 as in the authors' scripts/train_svhn.sh."),
    description="WRN-16-4 with dropout 0.4 between the convolutions, the SVHN setting.",
    network_depth=16, widen_factor=4, dropout=0.4,
)
