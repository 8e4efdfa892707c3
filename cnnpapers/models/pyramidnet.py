"""PyramidNet (Han, Kim, Kim 2017, "Deep Pyramidal Residual Networks", CVPR).

A ResNet doubles its width only where it halves the resolution; the additive PyramidNet instead
widens *every* residual unit by α/N channels, N being the number of units, so the widths form a
linear ramp from 16 to 16 + α (the paper's Eq. for additive widening, Fig. 2(a)):

    D_k = 16 + k·α/N, rounded,   k = 1, ..., N.

The paper's equation writes the rounding as a floor; the authors' code (Lua and PyTorch,
github.com/jhkim89/PyramidNet, github.com/dyhan0920/PyramidNet-PyTorch), whose networks the
reported parameter counts describe, rounds the exact running sum to the nearest integer. We follow
the code (:func:`additive_widths`); either way the last unit has exactly 16 + α channels.

Each unit is the paper's Fig. 6(d): BN-conv3x3-BN-ReLU-conv3x3-BN, i.e. no ReLU at the unit's
start or end; the bottleneck unit is BN-conv1x1-BN-ReLU-conv3x3-BN-ReLU-conv1x1(4x)-BN. The
shortcut is a zero-padded identity: the input's channels are kept and the new ones are zeros, so
shortcuts add no parameters; where a unit has stride 2 the shortcut first average-pools 2x2. As in
the authors' code the stem is conv3x3(16)-BN without ReLU, convolutions have no bias, and the head
is BN-ReLU-global average pooling-linear.

Two details let the CIFAR nets read any input size >= 1 without changing them at 32x32: the
pooling is global (the paper's 8x8 average at 32x32 input), and the shortcut's 2x2 pooling rounds
up (``ceil_mode``), so at odd sizes it yields as many pixels as the stride-2 convolution.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import Category, Reported, register_model
from ._common import require, require_positive_int

STEM_WIDTH = 16  # D_1's starting point: the stem conv has 16 filters
BOTTLENECK_EXPANSION = 4  # a bottleneck unit's output has 4 x D_k channels


def additive_widths(alpha: float, num_units: int, start: int = STEM_WIDTH) -> list[int]:
    """D_1..D_N of the additive PyramidNet: ``start + k·alpha/num_units``, rounded half up."""
    return [math.floor(start + k * alpha / num_units + 0.5) for k in range(1, num_units + 1)]


def units_per_stage(network_depth: int, bottleneck: bool) -> int:
    """Units per stage n: depth = 6n + 2 (two convs per unit) or 9n + 2 (three, bottleneck)."""
    step = 9 if bottleneck else 6
    if not (isinstance(network_depth, int) and not isinstance(network_depth, bool)
            and network_depth > 2 and (network_depth - 2) % step == 0):
        kind = "bottleneck" if bottleneck else "basic"
        examples = ", ".join(str(step * n + 2) for n in range(1, 5))
        raise ValueError(
            f"network_depth of a PyramidNet with {kind} units must be {step}n + 2 with n >= 1 "
            f"units per stage: {examples}, ..., e.g. {'164, 200, 236, 272' if bottleneck else '110'}"
            f"; got {network_depth!r}"
        )
    return (network_depth - 2) // step


class _PyramidalUnit(nn.Module):
    """Residual unit whose shortcut zero-pads the input to the branch's width (Fig. 6(d))."""

    def __init__(self, branch: nn.Sequential, stride: int):
        super().__init__()
        self.branch = branch
        # ceil_mode keeps the shortcut's size equal to the stride-2 conv's at odd input sizes
        self.pool = nn.AvgPool2d(2, 2, ceil_mode=True) if stride == 2 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branch(x)
        skip = x if self.pool is None else self.pool(x)
        # F.pad's last pair pads the channel dimension: zeros for the new channels
        return out + F.pad(skip, (0, 0, 0, 0, 0, out.shape[1] - skip.shape[1]))


def _basic_branch(in_channels: int, width: int, stride: int) -> nn.Sequential:
    """BN-conv3x3-BN-ReLU-conv3x3-BN, the pyramidal residual unit of Fig. 6(d)."""
    return nn.Sequential(
        nn.BatchNorm2d(in_channels),
        nn.Conv2d(in_channels, width, 3, stride, 1, bias=False),
        nn.BatchNorm2d(width), nn.ReLU(inplace=True),
        nn.Conv2d(width, width, 3, 1, 1, bias=False),
        nn.BatchNorm2d(width),
    )


def _bottleneck_branch(in_channels: int, width: int, stride: int) -> nn.Sequential:
    """BN-conv1x1-BN-ReLU-conv3x3-BN-ReLU-conv1x1(4·D_k)-BN, the pyramidal bottleneck unit."""
    out = BOTTLENECK_EXPANSION * width
    return nn.Sequential(
        nn.BatchNorm2d(in_channels),
        nn.Conv2d(in_channels, width, 1, bias=False),
        nn.BatchNorm2d(width), nn.ReLU(inplace=True),
        nn.Conv2d(width, width, 3, stride, 1, bias=False),
        nn.BatchNorm2d(width), nn.ReLU(inplace=True),
        nn.Conv2d(width, out, 1, bias=False),
        nn.BatchNorm2d(out),
    )


class PyramidNet(nn.Module):
    """Additive PyramidNet for CIFAR: three stages of n units at 32², 16², 8² maps.

    ``alpha`` (α) is the total widening over all N = 3n units; ``network_depth`` counts the
    stem, the units' convolutions and the classifier (6n + 2, or 9n + 2 with ``bottleneck``).
    ``alpha=0`` gives a pre-activation-style ResNet of constant width 16.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, network_depth: int = 110,
                 alpha: float = 48, bottleneck: bool = False):
        super().__init__()
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        require(isinstance(bottleneck, bool), f"bottleneck must be True or False, got {bottleneck!r}")
        n = units_per_stage(network_depth, bottleneck)
        require(isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and alpha >= 0,
                f"alpha (the widening factor, total channels added over all units) must be a "
                f"number >= 0, e.g. 48, 84, 200 or 270; got {alpha!r}")
        make_branch = _bottleneck_branch if bottleneck else _basic_branch
        expansion = BOTTLENECK_EXPANSION if bottleneck else 1
        self.widths = additive_widths(alpha, 3 * n)

        self.stem = nn.Sequential(nn.Conv2d(in_channels, STEM_WIDTH, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(STEM_WIDTH))
        units, channels = [], STEM_WIDTH
        for k, width in enumerate(self.widths):
            stride = 2 if k in (n, 2 * n) else 1  # the first unit of stages 2 and 3 downsamples
            units.append(_PyramidalUnit(make_branch(channels, width, stride), stride))
            channels = expansion * width
        self.units = nn.Sequential(*units)
        self.bn = nn.BatchNorm2d(channels)
        self.fc = nn.Linear(channels, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # the authors' code: N(0, 2 / (k*k*out_channels)) for convs, zero linear bias
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.units(self.stem(x))
        x = F.relu(self.bn(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


README = "Authors' README (github.com/jhkim89/PyramidNet), CIFAR results"
_AUGMENTED = ("Errors as printed under 'CIFAR-10'/'CIFAR-100', trained with the standard "
              "translation and mirroring of fb.resnet.torch, hence C10+/C100+.")
_COUNT_DISAGREES = (
    " The printed parameter count is below the count of the network the authors' PyTorch code "
    "builds for this row (which is ours, and the count independent re-implementations pin); no "
    "single convention (BN or classifier left out, floored widths) reproduces all nine printed "
    "figures. The tests pin our count and this disagreement."
)


def _register(network_depth: int, alpha: int, bottleneck: bool, params: str,
              errors: tuple[float, float], out_dim: int, count_agrees: bool) -> None:
    kind = "bottleneck" if bottleneck else "basic"
    table = "bottleneck table" if bottleneck else "first table"
    name = f"pyramidnet{network_depth}_a{alpha}" + ("_bottleneck" if bottleneck else "")
    remark = f"{_AUGMENTED} The row's output feature dimension is {out_dim}."
    register_model(
        name, PyramidNet, paper="han2017", category=Category.WIDTH, input_size=(3, 32, 32),
        num_classes=10, min_input_size=1, depth=network_depth,
        reported=Reported(
            f"{README}, {table}, row 'PyramidNet-{network_depth} (add), alpha={alpha}'",
            params=params, errors={"C10+": errors[0], "C100+": errors[1]},
            remark=remark if count_agrees else remark + _COUNT_DISAGREES,
        ),
        description=f"Additive PyramidNet-{network_depth}, alpha={alpha}, {kind} units.",
        network_depth=network_depth, alpha=alpha, bottleneck=bottleneck,
    )


# (depth, alpha, bottleneck, params as printed, (CIFAR-10, CIFAR-100) errors, output feature
# dimension, whether the printed count rounds from the built network's)
README_ROWS = (
    (110, 48, False, "1.7", (4.62, 23.31), 64, False),
    (110, 84, False, "3.8", (4.27, 20.21), 100, False),
    (110, 270, False, "28.3", (3.73, 18.25), 286, False),
    (164, 48, True, "1.7", (4.21, 19.52), 256, True),
    (164, 84, True, "3.8", (3.96, 18.32), 400, True),
    (164, 270, True, "27.0", (3.48, 17.01), 1144, False),
    (200, 240, True, "26.6", (3.44, 16.51), 1024, False),
    (236, 220, True, "26.8", (3.40, 16.37), 944, False),
    (272, 200, True, "26.0", (3.31, 16.35), 864, False),
)
for _row in README_ROWS:
    _register(*_row)
