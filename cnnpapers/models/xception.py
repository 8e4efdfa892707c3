"""Xception (Chollet 2017, "Xception: Deep Learning with Depthwise Separable Convolutions",
Section 3 and Fig. 5).

Section 1.2 reads an Inception module as an intermediate point between a regular convolution and
an "extreme" Inception: one 1x1 convolution, then a separate spatial convolution for *every*
output channel -- a depthwise separable convolution up to the order of the two steps. Xception is
a linear stack of 36 such (and two regular) convolutions with residual connections:

    entry flow   conv 3x3/2 32 -> conv 3x3 64 -> 3 x [SepConv, SepConv, max-pool 3/2] + 1x1/2
                 shortcut, 128 / 256 / 728 maps
    middle flow  8 x [ReLU-SepConv 728] x 3 + identity
    exit flow    [SepConv 728, SepConv 1024, max-pool 3/2] + 1x1/2 shortcut ->
                 SepConv 1536 -> SepConv 2048 -> global average pool -> dropout -> logistic layer

"All Convolution and SeparableConvolution layers are followed by batch normalization" (Fig. 5).
"""

from __future__ import annotations

import torch
from torch import nn

from ..registry import Category, Reported, register_model
from ._common import require_positive_int, require_probability


class SeparableConv2d(nn.Module):
    """Depthwise separable convolution: a 3x3 depthwise convolution (one filter per input
    channel) then a 1x1 pointwise one, *without* a nonlinearity between them (Section 4.7 found
    that an intermediate ReLU or ELU hurts). No biases: batch normalisation follows."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size,
                                   padding=kernel_size // 2, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class _XceptionBlock(nn.Module):
    """One residual module of Fig. 5: ``[ReLU ->] SepConv -> BN`` per width, a 3x3/2 max-pool
    when ``downsample``, plus the shortcut (identity, or a 1x1/2 convolution and BN)."""

    def __init__(self, in_channels: int, widths: tuple[int, ...], downsample: bool,
                 relu_first: bool = True):
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for i, width in enumerate(widths):
            if relu_first or i > 0:
                layers.append(nn.ReLU())  # not in-place: the shortcut still reads the input
            layers += [SeparableConv2d(channels, width), nn.BatchNorm2d(width)]
            channels = width
        if downsample:
            layers.append(nn.MaxPool2d(3, stride=2, padding=1))
            self.shortcut: nn.Module = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride=2, bias=False), nn.BatchNorm2d(channels))
        else:
            self.shortcut = nn.Identity()
        self.residual = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


def _conv_bn_relu(in_channels: int, out_channels: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, 3, stride=stride, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]


class Xception(nn.Module):
    """Xception of Fig. 5 with ``middle_blocks`` repeats of the middle flow (8 in the paper)."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, middle_blocks: int = 8,
                 dropout: float = 0.5):
        super().__init__()
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        require_positive_int("middle_blocks", middle_blocks)
        require_probability("dropout", dropout)
        self.entry_flow = nn.Sequential(
            *_conv_bn_relu(in_channels, 32, stride=2), *_conv_bn_relu(32, 64),
            _XceptionBlock(64, (128, 128), downsample=True, relu_first=False),
            _XceptionBlock(128, (256, 256), downsample=True),
            _XceptionBlock(256, (728, 728), downsample=True),
        )
        self.middle_flow = nn.Sequential(
            *[_XceptionBlock(728, (728, 728, 728), downsample=False) for _ in range(middle_blocks)])
        self.exit_flow = nn.Sequential(
            _XceptionBlock(728, (728, 1024), downsample=True),
            SeparableConv2d(1024, 1536), nn.BatchNorm2d(1536), nn.ReLU(inplace=True),
            SeparableConv2d(1536, 2048), nn.BatchNorm2d(2048), nn.ReLU(inplace=True),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        # Section 4.3: dropout of rate 0.5 before the logistic regression layer on ImageNet
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.exit_flow(self.middle_flow(self.entry_flow(x)))
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


register_model(
    "xception", Xception, paper="chollet2017", category=Category.WIDTH,
    input_size=(3, 299, 299), num_classes=1000, min_input_size=7, depth=36,
    reported=Reported(
        "Chollet 2017: Table 3, row 'Xception' (parameter count); Table 1, row 'Xception' "
        "(ImageNet single-crop, single-model accuracy top-1 0.790, top-5 0.945)",
        params="22.855952",
        errors={"ImageNet val top-1": 21.0, "ImageNet val top-5": 5.5},
        remark="Table 1 prints accuracies; the errors here are 1 - accuracy, in percent.",
    ),
    middle_blocks=8, dropout=0.5,
)
