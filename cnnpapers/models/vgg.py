"""VGG (Simonyan & Zisserman 2015, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", Table 1 configurations A, B, D, E).

Every convolution is 3x3 with stride 1 and padding 1; five 2x2 max-pools halve the map; widths
double after each pool from 64 to 512; then fc 4096 -> fc 4096 -> softmax. Section 2.3's case
for 3x3 kernels: three stacked 3x3 layers see a 7x7 field with 3 (3^2 C^2) = 27 C^2 weights
instead of 49 C^2, and put three ReLUs where a 7x7 layer has one.

Module names follow ``torchvision.models.VGG``, so torchvision's ``vgg*`` ``state_dict`` loads
strictly. The ``_bn`` variants (batch normalisation after every convolution) are torchvision's,
not the paper's, whose first version predates batch normalisation (Ioffe & Szegedy 2015).
"""

from __future__ import annotations

import torch
from torch import nn

from ..registry import Category, Reported, register_model
from ._common import require_choice, require_positive_int, require_probability

# Table 1: output widths of the 3x3 convolutions per column, "M" for a 2x2/2 max-pool.
CONFIGS: dict[str, tuple[int | str, ...]] = {
    "A": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "B": (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "D": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
    "E": (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"),
}
DEPTH = {"A": 11, "B": 13, "D": 16, "E": 19}  # weight layers: convolutions + 3 FC


def make_features(config: tuple[int | str, ...], in_channels: int,
                  batch_norm: bool) -> nn.Sequential:
    """The convolutional stack of one Table 1 column (torchvision's layer order and indices)."""
    layers: list[nn.Module] = []
    for width in config:
        if width == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, width, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(width))
        layers.append(nn.ReLU(inplace=True))
        in_channels = width
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """VGG of Table 1 column ``config`` ("A", "B", "D", "E": 11, 13, 16, 19 weight layers).

    The adaptive 7x7 pool is the identity at the paper's 224x224 input and lets inputs down to
    32x32 (one pixel after five pools) reach the 7x7x512 that fc6 expects.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, config: str = "D",
                 batch_norm: bool = False, dropout: float = 0.5):
        super().__init__()
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        require_choice("config", config, sorted(CONFIGS))
        require_probability("dropout", dropout)
        self.features = make_features(CONFIGS[config], in_channels, batch_norm)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's scheme; the paper pre-trained A and copied its layers into the deeper
        # nets, then noted that Glorot initialisation works without pre-training (Section 3.1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# Table 2: parameters in millions. Table 3: single-scale evaluation, top-1 / top-5 val error
# of the nets trained and tested at S = Q = 256 (the one setting every column was run at).
TABLE_2_PARAMS = {"A": "133", "B": "133", "D": "138", "E": "144"}
TABLE_3_ERRORS = {"A": (29.6, 10.4), "B": (28.7, 9.9), "D": (27.0, 8.8), "E": (27.3, 9.0)}


def _register(config: str, batch_norm: bool) -> None:
    depth = DEPTH[config]
    name = f"vgg{depth}" + ("_bn" if batch_norm else "")
    top1, top5 = TABLE_3_ERRORS[config]
    if batch_norm:
        reported = Reported(
            f"Simonyan & Zisserman 2015, Table 2, column {config} (the same net without BN)",
            params=TABLE_2_PARAMS[config],
            remark="The paper trained no BN network, so no error is quoted; BN adds two "
                   "parameters per channel, too few to change the printed millions.",
        )
        departure = "Batch normalisation after every convolution (torchvision's addition)."
    else:
        reported = Reported(
            f"Simonyan & Zisserman 2015, Table 2 (column {config}) and Table 3 "
            f"(row {config}, train S = 256, test Q = 256)",
            params=TABLE_2_PARAMS[config],
            errors={"ILSVRC-2012 val top-1": top1, "ILSVRC-2012 val top-5": top5},
        )
        departure = ""
    register_model(
        name, VGG, paper="simonyan2015", category=Category.SPATIAL, input_size=(3, 224, 224),
        num_classes=1000, min_input_size=32, depth=depth, reported=reported, torchvision=name,
        departure=departure, description=f"VGG-{depth}: Table 1 column {config}.",
        config=config, batch_norm=batch_norm, dropout=0.5,
    )


for _config in CONFIGS:
    for _batch_norm in (False, True):
        _register(_config, _batch_norm)
