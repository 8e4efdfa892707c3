"""ZFNet (Zeiler & Fergus 2014, "Visualizing and Understanding Convolutional Networks", Fig. 3).

Deconvnet visualisations of AlexNet (Section 4.1) showed first-layer filters of only very high
or very low frequency and aliasing in the second layer, which the paper traces to conv1's 11x11
kernels and stride 4. Fig. 3 is AlexNet with conv1 cut to 7x7, stride 2:

    224x224x3 -> conv1 96@110x110 (7x7/2) -> max-pool 3/2 -> contrast norm. (55x55)
              -> conv2 256@26x26 (5x5/2) -> max-pool 3/2 -> contrast norm. (13x13)
              -> conv3 384 -> conv4 384 -> conv5 256 (3x3/1) -> max-pool 3/2 (6x6)
              -> fc6 4096 -> fc7 4096 -> C-way softmax

and, unlike AlexNet's two-GPU split, conv3-5 are densely connected (Section 3: "sparse
connections used in Krizhevsky's layers 3,4,5 ... are replaced with dense connections").
"""

from __future__ import annotations

import torch
from torch import nn

from ..registry import Category, Reported, register_model
from ._common import require_positive_int, require_probability
from .alexnet import GroupedLocalResponseNorm


class ZFNet(nn.Module):
    """Zeiler & Fergus's 8-layer network of Fig. 3.

    Fig. 3's map sizes (110 -> 55, 26 -> 13, 13 -> 6) come out of 3x3/2 pooling that rounds up,
    as in the Caffe-style pooling of the time, with conv1 padded by 1. The paper names
    "contrast normalisation across feature maps" without constants; we use AlexNet's LRN.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5):
        super().__init__()
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        require_probability("dropout", dropout)

        def pool() -> nn.MaxPool2d:
            return nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)

        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 96, kernel_size=7, stride=2, padding=1), nn.ReLU(inplace=True),
            pool(), GroupedLocalResponseNorm(),
            nn.Conv2d(96, 256, kernel_size=5, stride=2), nn.ReLU(inplace=True),
            pool(), GroupedLocalResponseNorm(),
            nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            pool(),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))  # identity at 224; lets smaller inputs run
        # Section 3: dropout with rate 0.5 in the fully connected layers 6 and 7
        self.classifier = nn.Sequential(
            nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


register_model(
    "zfnet", ZFNet, paper="zeiler2014", category=Category.SPATIAL, input_size=(3, 224, 224),
    num_classes=1000, min_input_size=47, depth=8,
    reported=Reported(
        "Zeiler & Fergus 2014, Table 2, row '1 convnet as per Fig. 3' (ILSVRC-2012 val)",
        errors={"ILSVRC-2012 val top-1": 38.4, "ILSVRC-2012 val top-5": 16.5},
        remark="The paper prints no parameter count.",
    ),
    departure="Contrast normalisation uses AlexNet's LRN constants (the paper gives none); "
              "the paper's filter renormalisation (RMS capped at 0.1) is a training rule, "
              "not part of the module.",
    dropout=0.5,
)
