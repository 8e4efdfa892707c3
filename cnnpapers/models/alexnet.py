"""AlexNet (Krizhevsky, Sutskever, Hinton 2012, "ImageNet Classification with Deep Convolutional
Neural Networks", Section 3 and Fig. 2), in two forms.

``alexnet_paper`` is the network of Fig. 2, which was split over two GTX 580 GPUs of 3 GB each:

    227x227x3 -> conv1 96@55x55 (11x11/4) -> LRN -> max-pool 3/2
              -> conv2 256@27x27 (5x5, groups=2) -> LRN -> max-pool 3/2
              -> conv3 384@13x13 (3x3, reads both halves) -> conv4 384 (3x3, groups=2)
              -> conv5 256 (3x3, groups=2) -> max-pool 3/2 -> fc6 4096 -> fc7 4096 -> fc8 1000

``alexnet`` is torchvision's single-stream network (64-192-384-256-256 channels, no LRN, no
grouping), which torchvision attributes to Krizhevsky's 2014 "One weird trick" report; it loads
torchvision's ``state_dict`` unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

from ..registry import Category, Reported, register_model
from ._common import require_choice, require_positive_int, require_probability

# Section 3.3: k = 2, n = 5, alpha = 1e-4, beta = 0.75 in b = a / (k + alpha * sum a^2)^beta.
LRN_SIZE, LRN_ALPHA, LRN_BETA, LRN_K = 5, 1e-4, 0.75, 2.0


class GroupedLocalResponseNorm(nn.Module):
    """Local response normalisation (Section 3.3) applied to each GPU's maps on their own.

    The paper's sum runs over the ``n`` adjacent kernel maps *on the same GPU*: GPU 1 never sees
    GPU 2's 48 conv1 maps, so the window stops at the split. ``groups=1`` is one ordinary LRN.
    PyTorch divides ``alpha`` by ``n``; we multiply it back so the paper's ``alpha`` is kept.
    """

    def __init__(self, groups: int = 1, size: int = LRN_SIZE, alpha: float = LRN_ALPHA,
                 beta: float = LRN_BETA, k: float = LRN_K):
        super().__init__()
        self.groups = groups
        self.norm = nn.LocalResponseNorm(size, alpha=alpha * size, beta=beta, k=k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.groups == 1:
            return self.norm(x)
        return torch.cat([self.norm(part) for part in x.chunk(self.groups, dim=1)], dim=1)


class AlexNet(nn.Module):
    """torchvision's AlexNet: one stream of 64-192-384-256-256 channels, no LRN.

    Module names match ``torchvision.models.AlexNet`` so its ``state_dict`` loads strictly.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5):
        super().__init__()
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        require_probability("dropout", dropout)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class AlexNet2012(nn.Module):
    """The 2012 paper's two-GPU AlexNet (Fig. 2), on one device with grouped convolutions.

    Group convolution began here because the network could not run on one GPU (note 000:
    "最早出现于AlexNet中，无法在单块GPU上运行"): a GTX 580 has 3 GB, and the net was
    "too big to fit on one GPU" (Section 3.2). So every layer's kernels were split in half, one
    half per GPU, and "the GPUs communicate only in certain layers". With ``groups=2``:

    * conv1 (96 kernels, 48 per GPU) reads all three input channels: a dense convolution;
    * conv2 (256), conv4 (384) and conv5 (256) see only the maps on their own GPU, i.e. a
      convolution with ``groups=2`` -- half the weights of a dense one;
    * conv3 and the fully connected layers read both GPUs' maps: dense;
    * LRN normalises within each GPU's maps (:class:`GroupedLocalResponseNorm`).

    ``groups=1`` is the same network with every layer dense (the counterfactual single big GPU).
    Fig. 2 labels the input 224x224, but an 11x11 stride-4 convolution only yields its 55x55 maps
    from 227x227, the size used here. The adaptive pool is the identity at 227 and lets smaller
    inputs reach the 6x6x256 that fc6 expects.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, groups: int = 2,
                 dropout: float = 0.5):
        super().__init__()
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        require_choice("groups", groups, (1, 2))
        require_probability("dropout", dropout)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 96, kernel_size=11, stride=4), nn.ReLU(inplace=True),   # conv1
            GroupedLocalResponseNorm(groups), nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=groups), nn.ReLU(inplace=True),
            GroupedLocalResponseNorm(groups), nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),         # conv3
            nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=groups), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=groups), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        # Section 4.2: dropout on the outputs of the first two fully connected layers
        self.classifier = nn.Sequential(
            nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True), nn.Dropout(p=dropout),  # fc6
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(p=dropout),         # fc7
            nn.Linear(4096, num_classes),                                                # fc8
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


register_model(
    "alexnet", AlexNet, paper="krizhevsky2014", category=Category.SPATIAL,
    input_size=(3, 224, 224), num_classes=1000, min_input_size=63, depth=8,
    torchvision="alexnet",
    departure="torchvision's single-stream form, not the 2012 network: 64-192-384-256-256 "
              "channels, no response normalisation, no grouped layers, conv1 padded by 2, "
              "dropout before (not after) fc6/fc7. See alexnet_paper for Fig. 2 of the 2012 paper.",
    dropout=0.5,
)
register_model(
    "alexnet_paper", AlexNet2012, paper="krizhevsky2012", category=Category.SPATIAL,
    input_size=(3, 227, 227), num_classes=1000, min_input_size=67, depth=8,
    reported=Reported(
        "Krizhevsky et al. 2012: abstract ('60 million parameters'); Table 1, row 'CNN' "
        "(ILSVRC-2010 test); Table 2, row '1 CNN' (ILSVRC-2012 val)",
        params="60",
        errors={"ILSVRC-2010 test top-1": 37.5, "ILSVRC-2010 test top-5": 17.0,
                "ILSVRC-2012 val top-1": 40.7, "ILSVRC-2012 val top-5": 18.2},
        remark="'60 million' is a round figure: the layers of Section 3.5 hold a little under "
               "61 M, which does not round to 60 at the printed precision.",
    ),
    departure="Both GPUs' halves live in one module (groups=2 convolutions and per-half LRN: "
              "same connections and parameters). Input 227x227, not Fig. 2's 224x224, which "
              "cannot give the 55x55 conv1 maps.",
    groups=2, dropout=0.5,
)
