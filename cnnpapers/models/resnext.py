"""ResNeXt (Xie, Girshick, Dollár, Tu, He 2017, "Aggregated Residual Transformations for Deep
Neural Networks"); note 000, "ResNext".

A ResNeXt block splits its input into C low-dimensional embeddings, transforms each by the same
small topology and sums them: ``y = x + sum_{i=1..C} T_i(x)`` (Eqs. 2-3). C, the *cardinality*, is
a dimension of its own beside depth and width; at equal parameters and FLOPs more paths beat a wider
single path (Table 3). Three equivalent forms of the block are drawn in Fig. 3: (a) C separate
paths summed, (b) the paths' first two layers concatenated ahead of one 1x1, and (c) one grouped
3x3 convolution. Form (c) is what everybody trains, and it is :class:`resnet.Bottleneck` with
``groups = C``: torchvision's ResNeXt is its ResNet with ``groups`` and ``width_per_group``, so
the ImageNet nets here are :class:`resnet.ResNet`'s. The functions :func:`to_aggregated` and
:func:`to_early_concatenation` copy a form-(c) block's weights into forms (a) and (b) exactly.

The template (Sec. 3.1, Table 1): a stage's blocks share their hyper-parameters, and each
down-sampling doubles the width, so a net is named by C and the bottleneck width d of its first
stage ("32x4d"). Down-sampling blocks stride in their 3x3 convolution, as in fb.resnet.torch.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from ..registry import Category, Reported, register_model
from ._common import require, require_positive_int
from .resnet import (Bottleneck, ResidualBlock, ResNet, blocks_per_stage, conv1x1, conv3x3,
                     init_weights)

RESNEXT_DEPTHS = (50, 101, 152)


class ResNeXt(ResNet):
    """ImageNet ResNeXt of Table 1: ResNet-50/101/152 with C groups of d channels in the 3x3.

    ``bottleneck_width`` is d, the width of one group in the first stage (doubled per stage);
    the grouped convolution of stage conv2 is ``cardinality * bottleneck_width`` wide.
    ``cardinality=1, bottleneck_width=64`` is ResNet (the first row of Table 3).
    """

    def __init__(self, network_depth: int = 50, cardinality: int = 32, bottleneck_width: int = 4,
                 num_classes: int = 1000, in_channels: int = 3):
        require(network_depth in RESNEXT_DEPTHS,
                f"a ResNeXt has bottleneck blocks: network_depth must be one of "
                f"{list(RESNEXT_DEPTHS)}, got {network_depth!r}")
        require_positive_int("cardinality", cardinality)
        require_positive_int("bottleneck_width", bottleneck_width)
        super().__init__(network_depth=network_depth, num_classes=num_classes,
                         in_channels=in_channels, groups=cardinality,
                         width_per_group=bottleneck_width)


def complexity_preserving_width(cardinality: int, channels: int = 256,
                                reference_width: int = 64) -> int:
    """The bottleneck width d at which C paths cost what one path of ``reference_width`` does.

    Sec. 3.4: a block of C paths (``channels`` -> d -> d -> ``channels``: 1x1, 3x3, 1x1) has
    ``C * (channels*d + 9*d*d + d*channels)`` weights; for ResNet-50's conv2 block (C = 1,
    d = 64) that is about 70k. Solving for d and rounding gives Table 2: C = 1, 2, 4, 8, 32 ->
    d = 64, 40, 24, 14, 4.
    """
    require_positive_int("cardinality", cardinality)
    budget = 2 * channels * reference_width + 9 * reference_width ** 2
    # positive root of 9 C d^2 + 2 C channels d - budget = 0
    a, b = 9 * cardinality, 2 * cardinality * channels
    d = (-b + math.sqrt(b * b + 4 * a * budget)) / (2 * a)
    return max(1, round(d))


# ---------------------------------------------------------------------------------------------
# Fig. 3: three equivalent forms of one block


def _group_width(width: int, cardinality: int) -> int:
    require_positive_int("cardinality", cardinality)
    require_positive_int("width", width)
    divisors = [c for c in range(1, width + 1) if width % c == 0]
    require(width % cardinality == 0,
            f"cardinality {cardinality} does not divide the bottleneck width {width}; "
            f"valid values: {divisors}")
    return width // cardinality


def _path_head(in_channels: int, d: int, stride: int) -> list[nn.Module]:
    """The first two layers of one path: 1x1 to d channels, then a 3x3, each with BN-ReLU."""
    return [conv1x1(in_channels, d), nn.BatchNorm2d(d), nn.ReLU(inplace=True),
            conv3x3(d, d, stride), nn.BatchNorm2d(d), nn.ReLU(inplace=True)]


class AggregatedTransformations(ResidualBlock):
    """Fig. 3(a): C paths, each 1x1 (in -> d), 3x3 (d -> d), 1x1 (d -> out), summed (Eq. 2).

    ``width`` = C * d is the total width the grouped form (c) would have. A BN follows the sum
    (one BN of the sum equals form (c)'s BN after its last 1x1; a BN per path would not).
    """

    def __init__(self, in_channels: int, width: int, out_channels: int, cardinality: int,
                 stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        d = _group_width(width, cardinality)
        self.paths = nn.ModuleList(
            nn.Sequential(*_path_head(in_channels, d, stride), conv1x1(d, out_channels))
            for _ in range(cardinality))
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn3(sum(path(x) for path in self.paths))


class EarlyConcatenation(ResidualBlock):
    """Fig. 3(b): the C paths' 1x1 and 3x3 layers, concatenated, then one 1x1 (C*d -> out)."""

    def __init__(self, in_channels: int, width: int, out_channels: int, cardinality: int,
                 stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        d = _group_width(width, cardinality)
        self.paths = nn.ModuleList(nn.Sequential(*_path_head(in_channels, d, stride))
                                   for _ in range(cardinality))
        self.conv3 = conv1x1(width, out_channels)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn3(self.conv3(torch.cat([path(x) for path in self.paths], 1)))


def grouped_block(in_channels: int, width: int, out_channels: int, cardinality: int,
                  stride: int = 1, downsample: nn.Module | None = None) -> Bottleneck:
    """Fig. 3(c): 1x1 (in -> C*d), grouped 3x3 (C groups), 1x1 (C*d -> out), i.e. a Bottleneck."""
    _group_width(width, cardinality)
    require(out_channels % Bottleneck.expansion == 0,
            f"a Bottleneck's out_channels is a multiple of {Bottleneck.expansion}, "
            f"got {out_channels}")
    return Bottleneck(in_channels, out_channels // Bottleneck.expansion, stride, downsample,
                      groups=cardinality, width=width)


def _grouped_shape(block: Bottleneck) -> dict:
    require(isinstance(block, Bottleneck) and block.attention is None,
            "expects a resnet.Bottleneck without attention (Fig. 3(c))")
    require(block.conv1.stride == (1, 1) and block.conv2.dilation == (1, 1),
            "Fig. 3 blocks stride in the 3x3 convolution; this block strides in its first 1x1")
    return dict(in_channels=block.conv1.in_channels, width=block.conv1.out_channels,
                out_channels=block.conv3.out_channels, cardinality=block.conv2.groups,
                stride=block.conv2.stride[0], downsample=copy.deepcopy(block.downsample))


def _load_bn(dst: nn.BatchNorm2d, src: nn.BatchNorm2d, channels: slice) -> None:
    dst.load_state_dict({k: v[channels] if v.dim() else v for k, v in src.state_dict().items()})


@torch.no_grad()
def _copy_heads(paths: nn.ModuleList, block: Bottleneck) -> None:
    """Group g of form (c)'s first two layers is path g's 1x1 and 3x3 (and their BNs)."""
    d = block.conv2.in_channels // block.conv2.groups
    for g, path in enumerate(paths):
        rows = slice(g * d, (g + 1) * d)
        path[0].weight.copy_(block.conv1.weight[rows])
        _load_bn(path[1], block.bn1, rows)
        path[3].weight.copy_(block.conv2.weight[rows])  # a group's filters see only its d inputs
        _load_bn(path[4], block.bn2, rows)


@torch.no_grad()
def to_aggregated(block: Bottleneck) -> AggregatedTransformations:
    """Form (a) computing exactly what the grouped block (c) computes: path g gets group g's
    1x1 and 3x3 filters and the input columns g of the last 1x1."""
    aggregated = AggregatedTransformations(**_grouped_shape(block))
    _copy_heads(aggregated.paths, block)
    d = block.conv2.in_channels // block.conv2.groups
    for g, path in enumerate(aggregated.paths):
        path[6].weight.copy_(block.conv3.weight[:, g * d:(g + 1) * d])
    aggregated.bn3.load_state_dict(block.bn3.state_dict())
    return aggregated.train(block.training)


@torch.no_grad()
def to_early_concatenation(block: Bottleneck) -> EarlyConcatenation:
    """Form (b) computing exactly what the grouped block (c) computes."""
    concatenated = EarlyConcatenation(**_grouped_shape(block))
    _copy_heads(concatenated.paths, block)
    concatenated.conv3.weight.copy_(block.conv3.weight)
    concatenated.bn3.load_state_dict(block.bn3.state_dict())
    return concatenated.train(block.training)


# ---------------------------------------------------------------------------------------------
# CIFAR (Sec. 5.3)


class ResNeXtCIFAR(nn.Module):
    """CIFAR ResNeXt (Sec. 5.3): 3x3 conv, three stages of ``n`` bottleneck blocks, pool, fc;
    ``network_depth = 9n + 2`` (ResNeXt-29 has n = 3).

    Stage i (i = 0, 1, 2) has ``base_channels * 2**i`` planes, outputs four times that, and a
    grouped 3x3 of ``cardinality`` groups of ``bottleneck_width * 2**i`` channels. The paper's
    nets have ``base_channels=64`` (outputs 256-512-1024) and d = 64; smaller ``base_channels``
    and widths give budget-sized nets with the same template, e.g. for a cardinality ablation at
    fixed cost with :func:`complexity_preserving_width`. Shortcuts are projections (1x1 + BN)
    where the shape changes, as in the authors' code.
    """

    def __init__(self, network_depth: int = 29, cardinality: int = 8, bottleneck_width: int = 64,
                 base_channels: int = 64, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        n = blocks_per_stage(network_depth, 3, (29,))
        for name, value in (("cardinality", cardinality), ("bottleneck_width", bottleneck_width),
                            ("base_channels", base_channels), ("num_classes", num_classes),
                            ("in_channels", in_channels)):
            require_positive_int(name, value)
        self.conv1 = conv3x3(in_channels, base_channels)
        self.bn1 = nn.BatchNorm2d(base_channels)
        self.relu = nn.ReLU(inplace=True)
        inplanes = base_channels
        stages = []
        for i in range(3):
            planes, out = base_channels * 2 ** i, base_channels * 2 ** i * Bottleneck.expansion
            width = cardinality * bottleneck_width * 2 ** i
            blocks = []
            for j in range(n):
                stride = 2 if i > 0 and j == 0 else 1
                downsample = None
                if stride != 1 or inplanes != out:
                    downsample = nn.Sequential(conv1x1(inplanes, out, stride), nn.BatchNorm2d(out))
                blocks.append(Bottleneck(inplanes, planes, stride, downsample, groups=cardinality,
                                         width=width))
                inplanes = out
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(inplanes, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# ---------------------------------------------------------------------------------------------
# Registered variants (global average pooling: any H = W >= 1 runs)


def _register(name: str, factory, depth: int, imagenet: bool = True, **kwargs) -> None:
    size, classes = ((3, 224, 224), 1000) if imagenet else ((3, 32, 32), 10)
    register_model(name, factory, paper="xie2017", category=Category.WIDTH, input_size=size,
                   num_classes=classes, min_input_size=1, depth=depth, network_depth=depth,
                   **kwargs)


_TABLE3 = "Table 3 (ImageNet-1K, top-1 error, single 224x224 crop)"
# Table 3: (C, d) -> top-1 error, at ResNet-50 and ResNet-101 complexity.
_ABLATION = {
    50: {(1, 64): 23.9, (2, 40): 23.0, (4, 24): 22.6, (8, 14): 22.3, (32, 4): 22.2},
    101: {(1, 64): 22.0, (2, 40): 21.7, (4, 24): 21.4, (8, 14): 21.3, (32, 4): 21.2},
}
# Table 1 prints the cost of the two 50-layer nets it draws.
_TABLE1 = {
    (1, 64): dict(params="25.5", gflops="4.1",
                  remark="This is ResNet-50 (registered as resnet50, the same net). Its "
                         "parameters round to 25.6M: Xie et al. truncate parameter counts "
                         "(25.55M printed as 25.5M; likewise 68.1M in Table 7)."),
    (32, 4): dict(params="25.0", gflops="4.2"),
}
for _depth, _rows in _ABLATION.items():
    for (_c, _d), _top1 in _rows.items():
        _name = f"resnext{_depth}_{_c}x{_d}d"
        _kind = f"ResNet-{_depth}" if _c == 1 else f"ResNeXt-{_depth}"
        _row = f"row '{_kind}, {_c}x{_d}d'"
        _cost = _TABLE1.get((_c, _d), {}) if _depth == 50 else {}
        _tables = f"Table 1 (params, FLOPs) and {_TABLE3}" if _cost else _TABLE3
        _register(
            _name, ResNeXt, _depth, cardinality=_c, bottleneck_width=_d,
            torchvision="resnext50_32x4d" if _name == "resnext50_32x4d" else None,
            reported=Reported(f"Xie et al. 2017, {_tables}, {_row}",
                              errors={"ImageNet top-1": _top1}, **_cost),
            description=f"{_kind} ({_c}x{_d}d), the cardinality ablation of Table 3 at "
                        f"ResNet-{_depth} complexity.",
        )

_register(
    "resnext101_64x4d", ResNeXt, 101, cardinality=64, bottleneck_width=4,
    torchvision="resnext101_64x4d",
    reported=Reported("Xie et al. 2017, Table 4, row 'ResNeXt-101, 64x4d' (2x the complexity of "
                      "ResNet-101; single 224x224 crop)",
                      errors={"ImageNet top-1": 20.4, "ImageNet top-5": 5.3}),
)
_register(
    "resnext101_32x8d", ResNeXt, 101, cardinality=32, bottleneck_width=8,
    torchvision="resnext101_32x8d",
    departure="Not a configuration of the paper (its 2x-complexity ResNeXt-101s in Table 4 are "
              "2x64d and 64x4d); torchvision's builder, kept for its weights.",
)

_TABLE7 = ("Xie et al. 2017, Table 7 (CIFAR, standard augmentation, average of 10 runs), "
           "row 'ResNeXt-29, {}'")
_CIFAR_DEPARTURE = ("Post-activation bottleneck blocks, as in the authors' released code; their "
                    "README says the paper's CIFAR results used pre-activated blocks (BN and "
                    "ReLU before each convolution).")
_TRUNCATED = ("The parameters round to 68.2M; Xie et al. truncate parameter counts (68.15M "
              "printed as 68.1M; likewise ResNet-50's 25.5M in Table 1).")
for _c, _params, _c10, _c100 in ((8, "34.4", 3.65, 17.77), (16, "68.1", 3.58, 17.31)):
    _register(
        f"resnext29_{_c}x64d_cifar", ResNeXtCIFAR, 29, imagenet=False, cardinality=_c,
        bottleneck_width=64,
        reported=Reported(_TABLE7.format(f"{_c}x64d"), params=_params,
                          errors={"C10+": _c10, "C100+": _c100},
                          remark=_TRUNCATED if _c == 16 else ""),
        departure=_CIFAR_DEPARTURE,
        description=f"ResNeXt-29 ({_c}x64d) for CIFAR (Sec. 5.3).",
    )
