"""Recalibrating a residual branch: squeeze-and-excitation (Hu, Shen, Sun 2018) and CBAM (Woo,
Park, Lee, Kweon 2018).

Both modules take the output ``U = F(x)`` of a residual branch and rescale it before it is added
to the shortcut (SE paper, Fig. 3 right; CBAM, Fig. 3), so they plug into every block of
``resnet.py`` through the blocks' ``attention`` argument. The survey (note 001) files SE under
feature-map (channel) exploitation and CBAM, which adds a spatial map, under attention.

* SE (Sec. 3): squeeze each channel to its global average (Eq. 2), excite through a two-layer
  bottleneck ``s = sigmoid(W2 relu(W1 z))`` with reduction ratio r = 16 (Eq. 3), scale each
  channel by its ``s_c`` (Eq. 4).
* CBAM (Sec. 3): a channel map from a shared MLP applied to both the average- and max-pooled
  descriptors (Eq. 2), then a spatial map from a 7x7 convolution over the channel-wise average
  and max (Eq. 3), applied in that order (Eq. 1).
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from ..registry import Category, Reported, register_model
from ._common import require, require_positive_int
from .resnet import ResNet, ResNetCIFAR


def _hidden_units(channels: int, reduction: int) -> int:
    require_positive_int("reduction", reduction)
    require(channels // reduction >= 1,
            f"reduction {reduction} leaves no hidden unit for {channels} channels; "
            f"use a reduction <= {channels}")
    return channels // reduction


class SqueezeExcitation(nn.Module):
    """The SE block (Fig. 1): squeeze (Eq. 2), excitation (Eq. 3), scale (Eq. 4)."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = _hidden_units(channels, reduction)
        self.fc1 = nn.Linear(channels, hidden)  # W1, reduces by r
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(hidden, channels)  # W2, restores

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        z = u.mean(dim=(2, 3))
        s = torch.sigmoid(self.fc2(self.relu(self.fc1(z))))
        return u * s[:, :, None, None]


class ChannelAttention(nn.Module):
    """CBAM's channel map, Eq. 2: ``M_c = sigmoid(MLP(AvgPool(F)) + MLP(MaxPool(F)))``,
    one MLP (W0, W1) shared by both descriptors."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = _hidden_units(channels, reduction)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, channels))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        m_c = torch.sigmoid(self.mlp(f.mean(dim=(2, 3))) + self.mlp(f.amax(dim=(2, 3))))
        return f * m_c[:, :, None, None]


class SpatialAttention(nn.Module):
    """CBAM's spatial map, Eq. 3: ``M_s = sigmoid(f7x7([AvgPool(F); MaxPool(F)]))``, pooling
    across channels.

    As Eq. 3 writes it: the convolution alone. The authors' code (Jongchan/attention-module)
    adds a BN after it and orders the two maps [max; avg].
    """

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        require(isinstance(kernel_size, int) and kernel_size > 0 and kernel_size % 2 == 1,
                f"kernel_size must be a positive odd integer (the paper uses 7), "
                f"got {kernel_size!r}")
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([f.mean(dim=1, keepdim=True), f.amax(dim=1, keepdim=True)], dim=1)
        return f * torch.sigmoid(self.conv(pooled))


class CBAM(nn.Module):
    """Convolutional Block Attention Module (Fig. 1, Eq. 1): channel map, then spatial map."""

    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7):
        super().__init__()
        self.channel = ChannelAttention(channels, reduction)
        self.spatial = SpatialAttention(kernel_size)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.spatial(self.channel(f))


class SEResNet(ResNet):
    """SE-ResNet (Sec. 4, Fig. 3 right, Table 1): an SE block on every residual branch.

    ``stride_in_1x1=True`` is the released Caffe models' placement of a down-sampling stride
    (in the first 1x1); with it, SE-ResNet-50 costs the printed 3.87 GFLOPs once the SE blocks'
    pooling and scaling are counted with the convolutions.
    """

    def __init__(self, network_depth: int = 50, reduction: int = 16, stride_in_1x1: bool = True,
                 num_classes: int = 1000, in_channels: int = 3):
        require_positive_int("reduction", reduction)
        super().__init__(network_depth=network_depth, num_classes=num_classes,
                         in_channels=in_channels, stride_in_1x1=stride_in_1x1,
                         attention=partial(SqueezeExcitation, reduction=reduction))


class CBAMResNet(ResNet):
    """CBAM-ResNet (Fig. 3): a CBAM on every residual branch.

    ``stride_in_1x1=True`` (a down-sampling block strides in its first 1x1, as in He et al.) is
    the net whose multiply-adds the paper prints; the authors' code, built on torchvision's
    ResNet, strides in the 3x3 (``stride_in_1x1=False``).
    """

    def __init__(self, network_depth: int = 50, reduction: int = 16, kernel_size: int = 7,
                 stride_in_1x1: bool = True, num_classes: int = 1000, in_channels: int = 3):
        require_positive_int("reduction", reduction)
        super().__init__(network_depth=network_depth, num_classes=num_classes,
                         in_channels=in_channels, stride_in_1x1=stride_in_1x1,
                         attention=partial(CBAM, reduction=reduction, kernel_size=kernel_size))


class SEResNetCIFAR(ResNetCIFAR):
    """The CIFAR ResNet (6n+2 layers) with an SE block on every residual branch."""

    def __init__(self, network_depth: int = 20, reduction: int = 16, num_classes: int = 10,
                 in_channels: int = 3):
        require_positive_int("reduction", reduction)
        super().__init__(network_depth=network_depth, num_classes=num_classes,
                         in_channels=in_channels,
                         attention=partial(SqueezeExcitation, reduction=reduction))


class CBAMResNetCIFAR(ResNetCIFAR):
    """The CIFAR ResNet (6n+2 layers) with a CBAM on every residual branch."""

    def __init__(self, network_depth: int = 20, reduction: int = 16, kernel_size: int = 7,
                 num_classes: int = 10, in_channels: int = 3):
        require_positive_int("reduction", reduction)
        super().__init__(network_depth=network_depth, num_classes=num_classes,
                         in_channels=in_channels,
                         attention=partial(CBAM, reduction=reduction, kernel_size=kernel_size))


# ---------------------------------------------------------------------------------------------
# Registered variants (global average pooling: any H = W >= 1 runs)


def _register(name: str, factory, paper: str, category: Category, depth: int, imagenet: bool,
              **kwargs) -> None:
    size, classes = ((3, 224, 224), 1000) if imagenet else ((3, 32, 32), 10)
    register_model(name, factory, paper=paper, category=category, input_size=size,
                   num_classes=classes, min_input_size=1, depth=depth, network_depth=depth,
                   **kwargs)


_CBAM_TABLE4 = "Woo et al. 2018, Table 4 (ImageNet-1K, single crop), row 'ResNet50 + {}'"
_register(
    "se_resnet50", SEResNet, "hu2018", Category.FEATURE_MAP, 50, True,
    reported=Reported(
        "Hu et al. 2018, Table 2, row 'ResNet-50', SENet columns (single 224x224 crop: top-1, "
        "top-5, GFLOPs); parameters from " + _CBAM_TABLE4.format("SE"),
        params="28.09", gflops="3.87", errors={"ImageNet top-1": 23.29, "ImageNet top-5": 6.62},
        remark="Hu et al. print no total; their Sec. 4 counts ~2.5 million parameters added to "
               "ResNet-50's ~25 million. Their ResNet-50 baseline: 24.80 / 7.48 at 3.86 GFLOPs."),
    description="SE-ResNet-50, reduction r = 16.",
)
_register(
    "cbam_resnet50", CBAMResNet, "woo2018", Category.ATTENTION, 50, True,
    reported=Reported(
        _CBAM_TABLE4.format("CBAM"), params="28.09", gflops="3.864",
        errors={"ImageNet top-1": 22.66, "ImageNet top-5": 6.31},
        remark="The printed GFLOPs are the multiply-adds of this net, whose down-sampling "
               "blocks stride in their first 1x1 (the table gives 3.858 for ResNet-50 alone)."),
    departure="No BN after the spatial map's 7x7 convolution (Eq. 3). The authors' code "
              "(Jongchan/attention-module) has one, and strides in the 3x3 like torchvision "
              "(stride_in_1x1=False).",
    description="CBAM-ResNet-50: channel then spatial attention on every residual branch.",
)
_OURS = ("Our own CIFAR-sized variant, not in the paper: the {} blocks on every branch of the "
         "CIFAR ResNet-20 (He et al. Sec. 4.2), to compare against resnet20_cifar at equal depth.")
_register(
    "se_resnet20_cifar", SEResNetCIFAR, "hu2018", Category.FEATURE_MAP, 20, False,
    departure=_OURS.format("SE (r = 16)"),
    description="ResNet-20 for CIFAR with an SE block (r = 16) on every residual branch.",
)
_register(
    "cbam_resnet20_cifar", CBAMResNetCIFAR, "woo2018", Category.ATTENTION, 20, False,
    departure=_OURS.format("CBAM (r = 16, 7x7)"),
    description="ResNet-20 for CIFAR with a CBAM (r = 16, 7x7) on every residual branch.",
)
