"""Network in Network (Lin, Chen, Yan 2014, "Network In Network", Sections 3 and 4.2).

An *mlpconv* layer (Section 3.1, Eq. 2) slides a small multilayer perceptron over the input
instead of a linear filter; the MLP's later layers act on one pixel's feature vector, i.e. they
are 1x1 convolutions ("cascaded cross channel parametric pooling", cccp). The CIFAR-10 network
stacks three mlpconv layers, applies dropout to the outputs of all but the last, and replaces the
fully connected classifier by *global average pooling* (Section 3.2): the last mlpconv emits one
map per class and each map is averaged into that class's score.

The paper prints no layer widths; ours are those of the authors' released CIFAR-10 definition
(conv 5x5 192 -> cccp 160 -> cccp 96 | 5x5 192 -> 192 -> 192 | 3x3 192 -> 192 -> classes),
including its 3x3/2 pools that round up (32 -> 16 -> 8) and average (not max) pooling after the
second mlpconv.
"""

from __future__ import annotations

import torch
from torch import nn

from ..registry import Category, Reported, register_model
from ._common import require_positive_int, require_probability


def _mlpconv(in_channels: int, widths: tuple[int, int, int], kernel_size: int) -> nn.Sequential:
    """One mlpconv layer (Eq. 2): a kxk convolution, then two 1x1 (cccp) layers, all ReLU."""
    c1, c2, c3 = widths
    return nn.Sequential(
        nn.Conv2d(in_channels, c1, kernel_size, padding=kernel_size // 2), nn.ReLU(inplace=True),
        nn.Conv2d(c1, c2, 1), nn.ReLU(inplace=True),
        nn.Conv2d(c2, c3, 1), nn.ReLU(inplace=True),
    )


class NetworkInNetwork(nn.Module):
    """NIN for CIFAR-10 (Section 4.2): three mlpconv layers and global average pooling."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, dropout: float = 0.5):
        super().__init__()
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        require_probability("dropout", dropout)
        self.features = nn.Sequential(
            _mlpconv(in_channels, (192, 160, 96), 5),
            nn.MaxPool2d(3, stride=2, ceil_mode=True), nn.Dropout(dropout),
            _mlpconv(96, (192, 192, 192), 5),
            nn.AvgPool2d(3, stride=2, ceil_mode=True), nn.Dropout(dropout),
            _mlpconv(192, (192, 192, num_classes), 3),  # one confidence map per class
        )
        self.pool = nn.AdaptiveAvgPool2d(1)  # global average pooling replaces the FC layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(self.features(x)), 1)


register_model(
    "nin", NetworkInNetwork, paper="lin2014", category=Category.SPATIAL, input_size=(3, 32, 32),
    num_classes=10, min_input_size=4,
    reported=Reported(
        "DenseNet paper Table 2 (Huang et al. 2017), row 'Network in Network', quoting Lin et "
        "al. 2014; the same numbers as in the notes' copies of that table (notes 000 and 002)",
        errors={"C10": 10.41, "C10+": 8.81, "C100": 35.68, "SVHN": 2.35},
        remark="Neither paper prints a parameter count for NIN.",
    ),
    departure="Layer widths and pooling follow the authors' released CIFAR-10 model (the paper "
              "prints no widths; its text says max pooling follows every mlpconv layer, the "
              "released model average-pools after the second).",
    dropout=0.5,
)
