"""Residual networks (He, Zhang, Ren, Sun 2016, "Deep Residual Learning for Image Recognition")
and two follow-ups that train them deeper on CIFAR.

A residual block learns ``F`` and outputs ``y = F(x, {W_i}) + x`` (Eq. 1), or
``y = F(x, {W_i}) + W_s x`` (Eq. 2) where a projection ``W_s`` matches the shapes. The module holds

* the ImageNet ResNet-18/34/50/101/152 of Table 1, module for module torchvision's (state dicts
  load strictly), plus the paper's own placement of the down-sampling stride (``resnet50_v1``);
* the CIFAR-10 ResNets of Sec. 4.2 (6n+2 layers, 16-32-64 maps, parameter-free "option A"
  shortcuts) and their *plain* counterparts without shortcuts, the two sides of the degradation
  experiment (Fig. 6);
* stochastic depth (Huang, Sun, Liu, Sedra, Weinberger 2016): the same CIFAR ResNet whose residual
  branches are dropped at random while training;
* the pre-activation bottleneck ResNet-164/1001 for CIFAR (He et al. 2016, "Identity Mappings in
  Deep Residual Networks"), where BN and ReLU move in front of each convolution.

The SE and CBAM blocks of ``attention.py`` reuse these blocks through their ``attention`` argument,
and ``resnext.py`` reuses :class:`Bottleneck` and :class:`ResNet` (a ResNeXt is a ResNet with
grouped 3x3 convolutions).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..registry import Category, Reported, register_model
from ._common import require, require_positive_int

# A module applied to the residual branch F(x) before the sum, built from its channel count:
# squeeze-and-excitation or CBAM (attention.py). None leaves the torchvision block unchanged.
Attention = Callable[[int], nn.Module]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1,
            dilation: int = 1) -> nn.Conv2d:
    """3x3 convolution padded to keep the size; no bias since a BN follows."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                     groups=groups, bias=False, dilation=dilation)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


def init_weights(model: nn.Module) -> None:
    """He initialisation of every convolution (the paper's Sec. 3.4, "as in [13]"), BN at 1 and 0.

    ``fan_out`` as in torchvision and the authors' Torch code (n = k*k*out_channels).
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


class ResidualBlock(nn.Module):
    """``y = relu(F(x) + shortcut(x))`` (Eqs. 1-2); subclasses define ``residual`` = F."""

    downsample: nn.Module | None
    relu: nn.Module

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.downsample is None else self.downsample(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.residual(x) + self.shortcut(x))


class BasicBlock(ResidualBlock):
    """Two 3x3 convolutions and a shortcut (Fig. 2; Fig. 5 left), used by ResNet-18/34 and CIFAR.

    Arguments and attribute names are torchvision's, the code note 001 prints: ``inplanes`` in,
    ``planes`` out, ``stride`` of the first convolution, ``downsample`` the shortcut used when the
    shape changes (a 1x1 projection, Eq. 2, on ImageNet; the parameter-free zero-padding identity,
    option A, on CIFAR). ``groups``, ``base_width`` and ``dilation`` exist for signature
    compatibility with :class:`Bottleneck` and must keep their defaults. ``attention`` (our
    addition) recalibrates F(x) before the sum: SE-ResNet and CBAM-ResNet.
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, groups: int = 1, base_width: int = 64,
                 dilation: int = 1, norm_layer: Callable[[int], nn.Module] | None = None, *,
                 attention: Attention | None = None):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        require(groups == 1 and base_width == 64,
                f"BasicBlock only supports groups=1 and base_width=64, got groups={groups}, "
                f"base_width={base_width}; grouped (ResNeXt) blocks are Bottlenecks")
        require(dilation == 1, f"BasicBlock only supports dilation=1, got {dilation}")
        # Both conv1 and downsample stride when stride != 1.
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.attention = attention(planes) if attention else None
        self.downsample = downsample
        self.stride = stride

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return out if self.attention is None else self.attention(out)


class Bottleneck(ResidualBlock):
    """1x1 reduce, 3x3, 1x1 restore to ``4 * planes`` (Fig. 5 right), from ResNet-50 up (Table 1).

    ``stride_in_1x1`` places a down-sampling block's stride. The paper's nets (its released Caffe
    models, and the FLOPs of Table 1) stride in the first 1x1 convolution ("v1"); torchvision,
    after fb.resnet.torch, strides in the 3x3 ("v1.5"), which then sees every input pixel and
    costs more: 4.09 instead of 3.86 GMACs for ResNet-50. The default (False) is torchvision's.

    ``groups`` and ``base_width`` make the 3x3 a grouped convolution of width
    ``int(planes * base_width / 64) * groups``: the ResNeXt block of Fig. 3(c) (resnext.py).
    ``width`` sets that width directly instead (the CIFAR ResNeXt and Fig. 3 in the paper's own
    numbers), and must be divisible by ``groups``.
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, groups: int = 1, base_width: int = 64,
                 dilation: int = 1, norm_layer: Callable[[int], nn.Module] | None = None, *,
                 width: int | None = None, stride_in_1x1: bool = False,
                 attention: Attention | None = None):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        if width is None:
            width = int(planes * (base_width / 64.0)) * groups
        require(width % groups == 0,
                f"the cardinality (groups={groups}) must divide the bottleneck width {width}; "
                f"valid values: {_divisors(width)}")
        stride_1x1, stride_3x3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = conv1x1(inplanes, width, stride_1x1)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride_3x3, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.attention = attention(planes * self.expansion) if attention else None
        self.downsample = downsample
        self.stride = stride

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return out if self.attention is None else self.attention(out)


# Table 1: block type and blocks per stage (conv2_x .. conv5_x) for each depth.
IMAGENET_CONFIGS: dict[int, tuple[type[BasicBlock] | type[Bottleneck], tuple[int, ...]]] = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}


class ResNet(nn.Module):
    """ImageNet ResNet of Table 1: 7x7 stem, max pool, four stages (64-128-256-512 planes), fc.

    Shortcuts are identities except where the shape changes, where a 1x1 projection with BN is
    used (option B of Sec. 3.3, as torchvision). ``groups`` and ``width_per_group`` give ResNeXt
    (resnext.py); ``attention`` gives SE-/CBAM-ResNet (attention.py).
    """

    def __init__(self, network_depth: int = 50, num_classes: int = 1000, in_channels: int = 3,
                 groups: int = 1, width_per_group: int = 64, stride_in_1x1: bool = False,
                 attention: Attention | None = None):
        super().__init__()
        require(network_depth in IMAGENET_CONFIGS,
                f"network_depth must be one of {sorted(IMAGENET_CONFIGS)} (Table 1), "
                f"got {network_depth!r}")
        for name, value in (("num_classes", num_classes), ("in_channels", in_channels),
                            ("groups", groups), ("width_per_group", width_per_group)):
            require_positive_int(name, value)
        block, layers = IMAGENET_CONFIGS[network_depth]
        require(block is Bottleneck or not stride_in_1x1,
                f"stride_in_1x1 applies to bottleneck ResNets (depth >= 50), "
                f"not ResNet-{network_depth}")
        self.inplanes = 64
        self.groups = groups
        self.base_width = width_per_group
        extra: dict = {"attention": attention}
        if block is Bottleneck:
            extra["stride_in_1x1"] = stride_in_1x1
        self.conv1 = nn.Conv2d(in_channels, self.inplanes, kernel_size=7, stride=2, padding=3,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0], 1, extra)
        self.layer2 = self._make_layer(block, 128, layers[1], 2, extra)
        self.layer3 = self._make_layer(block, 256, layers[2], 2, extra)
        self.layer4 = self._make_layer(block, 512, layers[3], 2, extra)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        init_weights(self)

    def _make_layer(self, block, planes: int, blocks: int, stride: int,
                    extra: dict) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width,
                        **extra)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                         **extra) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# ---------------------------------------------------------------------------------------------
# CIFAR (Sec. 4.2)


def blocks_per_stage(depth: int, layers_per_block: int, paper_depths: tuple[int, ...]) -> int:
    """``n`` for a CIFAR net of ``depth = 3 * layers_per_block * n + 2`` weighted layers.

    Three stages of ``n`` blocks, plus the first convolution and the classifier.
    """
    step = 3 * layers_per_block
    valid = [step * n + 2 for n in range(1, 6)]
    require(isinstance(depth, int) and depth > 2 and (depth - 2) % step == 0,
            f"network_depth must be {step}n+2 for n >= 1 ({', '.join(map(str, valid))}, ...; "
            f"the paper uses {', '.join(map(str, paper_depths))}), got {depth!r}")
    return (depth - 2) // step


class ZeroPadShortcut(nn.Module):
    """Option A (Sec. 3.3): the identity, subsampled by ``stride``, with zero maps appended.

    It has no parameters, so a ResNet has exactly the parameters of its plain counterpart.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.extra_channels = out_channels - in_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::self.stride, ::self.stride]
        return nn.functional.pad(x, (0, 0, 0, 0, 0, self.extra_channels))

    def extra_repr(self) -> str:
        return f"extra_channels={self.extra_channels}, stride={self.stride}"


class PlainBlock(BasicBlock):
    """The block without its shortcut, ``y = relu(F(x))``: the plain nets of Fig. 6 (left)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.residual(x))


def survival_probabilities(num_blocks: int, last: float) -> list[float]:
    """Huang et al.'s linear decay rule ``p_l = 1 - l / L * (1 - p_L)`` for blocks l = 1..L."""
    return [1.0 - l / num_blocks * (1.0 - last) for l in range(1, num_blocks + 1)]


class StochasticDepthBlock(BasicBlock):
    """A residual block kept with probability ``survival_prob`` (p_l) while training.

    Training: ``H_l = relu(b_l F(H_{l-1}) + id(H_{l-1}))`` with ``b_l ~ Bernoulli(p_l)`` drawn once
    per mini-batch; test: ``H_l = relu(p_l F(H_{l-1}) + id(H_{l-1}))``, the expected branch.
    The paper skips computing a dropped branch (its speed-up); we multiply it by ``b_l = 0`` so
    that every parameter receives a (zero) gradient, at the cost of that speed-up and with BN
    statistics updated on every batch.
    """

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, *, survival_prob: float,
                 attention: Attention | None = None):
        super().__init__(inplanes, planes, stride, downsample, attention=attention)
        self.survival_prob = survival_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            gate = (torch.rand((), device=x.device) < self.survival_prob).to(x.dtype)  # b_l
        else:
            gate = self.survival_prob
        return self.relu(gate * self.residual(x) + self.shortcut(x))

    def extra_repr(self) -> str:
        return f"survival_prob={self.survival_prob:.4f}"


CIFAR_DEPTHS = (20, 32, 44, 56, 110, 1202)  # Table 6
CIFAR_WIDTHS = (16, 32, 64)


class ResNetCIFAR(nn.Module):
    """The CIFAR-10 ResNet of Sec. 4.2: 3x3 conv (16), three stages of ``n`` basic blocks on
    32/16/8 maps with 16/32/64 filters, global average pooling, fc; ``depth = 6n + 2``.

    Shortcuts are identities with option A (zero-padding, strided) where the shape changes, so
    ``shortcuts=False`` (the plain net of Fig. 6) has exactly the same parameters.
    ``last_survival_prob`` < 1 turns on stochastic depth with ``p_L`` = this value (Huang et al.
    2016 use 0.5). ``attention`` recalibrates every residual branch (attention.py).
    """

    def __init__(self, network_depth: int = 20, num_classes: int = 10, in_channels: int = 3,
                 shortcuts: bool = True, last_survival_prob: float = 1.0,
                 attention: Attention | None = None):
        super().__init__()
        n = blocks_per_stage(network_depth, 2, CIFAR_DEPTHS)
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        require(0.0 < last_survival_prob <= 1.0,
                f"last_survival_prob (p_L) must be in (0, 1], got {last_survival_prob!r}")
        require(shortcuts or last_survival_prob == 1.0,
                "stochastic depth drops residual branches; a plain net (shortcuts=False) has none")
        survival = iter(survival_probabilities(3 * n, last_survival_prob))
        self.conv1 = conv3x3(in_channels, CIFAR_WIDTHS[0])
        self.bn1 = nn.BatchNorm2d(CIFAR_WIDTHS[0])
        self.relu = nn.ReLU(inplace=True)
        inplanes = CIFAR_WIDTHS[0]
        stages = []
        for index, planes in enumerate(CIFAR_WIDTHS):
            blocks = []
            for i in range(n):
                stride = 2 if index > 0 and i == 0 else 1
                p = next(survival)
                if not shortcuts:
                    block = PlainBlock(inplanes, planes, stride, attention=attention)
                else:
                    downsample = (ZeroPadShortcut(inplanes, planes, stride)
                                  if stride != 1 or inplanes != planes else None)
                    if last_survival_prob < 1.0:
                        block = StochasticDepthBlock(inplanes, planes, stride, downsample,
                                                     survival_prob=p, attention=attention)
                    else:
                        block = BasicBlock(inplanes, planes, stride, downsample,
                                           attention=attention)
                blocks.append(block)
                inplanes = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(CIFAR_WIDTHS[-1], num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class PreActBottleneck(nn.Module):
    """The full pre-activation unit (He et al. 2016b, Fig. 1(b) / Fig. 4(e)):
    ``x_{l+1} = x_l + F(x_l)`` with F = BN-ReLU-1x1, BN-ReLU-3x3, BN-ReLU-1x1 and nothing after
    the sum, so the identity path is clean from any unit to any other.

    Where the shape changes the shortcut is a 1x1 projection of the *pre-activated* input, and
    the stride sits in the first 1x1, both as in the authors' released code
    (KaimingHe/resnet-1k-layers).
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        outplanes = planes * self.expansion
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.conv1 = conv1x1(inplanes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn3 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, outplanes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = (conv1x1(inplanes, outplanes, stride)
                           if stride != 1 or inplanes != outplanes else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(x))
        identity = x if self.downsample is None else self.downsample(out)
        out = self.conv1(out)
        out = self.conv2(self.relu(self.bn2(out)))
        out = self.conv3(self.relu(self.bn3(out)))
        return out + identity


PREACT_DEPTHS = (164, 1001)


class PreActResNetCIFAR(nn.Module):
    """Pre-activation bottleneck ResNet for CIFAR (He et al. 2016b, Sec. 4, Table 4):
    3x3 conv (16), three stages of ``n`` units with 64/128/256 output maps, a final BN-ReLU
    (the last unit's output is never activated otherwise), global pooling, fc;
    ``depth = 9n + 2``.
    """

    def __init__(self, network_depth: int = 164, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        n = blocks_per_stage(network_depth, 3, PREACT_DEPTHS)
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        self.conv1 = conv3x3(in_channels, 16)
        inplanes = 16
        stages = []
        for index, planes in enumerate((16, 32, 64)):
            blocks = []
            for i in range(n):
                blocks.append(PreActBottleneck(inplanes, planes, 2 if index > 0 and i == 0 else 1))
                inplanes = planes * PreActBottleneck.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.bn = nn.BatchNorm2d(inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(inplanes, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer3(self.layer2(self.layer1(self.conv1(x))))
        x = self.relu(self.bn(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))



# ---------------------------------------------------------------------------------------------
# Registered variants. Every net ends in global average pooling, so any H = W >= 1 runs.


def _register(name: str, factory, depth: int, paper: str, imagenet: bool, **kwargs) -> None:
    """Register with the card's ``depth`` also passed to the net as ``network_depth``."""
    size, classes = ((3, 224, 224), 1000) if imagenet else ((3, 32, 32), 10)
    register_model(name, factory, paper=paper, category=Category.DEPTH, input_size=size,
                   num_classes=classes, min_input_size=1, depth=depth, network_depth=depth,
                   **kwargs)


_register(
    "resnet18", ResNet, 18, "he2016", True, torchvision="resnet18",
    reported=Reported(
        "He et al. 2016, Table 1 (FLOPs) and Table 2 (top-1 error, 10-crop testing)",
        gflops="1.8", errors={"ImageNet top-1 (10-crop)": 27.88},
        remark="Table 2's ResNet-18 has zero-padding shortcuts (option A) throughout. The paper "
               "prints no parameter counts for its ImageNet nets."),
    departure="Projection shortcuts (option B) where dimensions increase, as in torchvision; "
              "the paper's ResNet-18 pads with zeros (option A).",
)
_register(
    "resnet34", ResNet, 34, "he2016", True, torchvision="resnet34",
    reported=Reported(
        "He et al. 2016, Table 1 (FLOPs) and Table 3, row 'ResNet-34 B' (10-crop testing)",
        gflops="3.6",
        errors={"ImageNet top-1 (10-crop)": 24.52, "ImageNet top-5 (10-crop)": 7.46},
        remark="Table 1's FLOPs fit the net without projection shortcuts (option A); the three "
               "projections of option B make its multiply-adds round to 3.7 G."),
)
for _depth, (_gflops, _top1, _top5) in {50: ("3.8", 22.85, 6.71), 101: ("7.6", 21.75, 6.05),
                                        152: ("11.3", 21.43, 5.71)}.items():
    _name = f"resnet{_depth}"
    _source = (f"He et al. 2016, Table 1 (FLOPs) and Table 3, row 'ResNet-{_depth}' "
               "(10-crop testing)")
    _errors = {"ImageNet top-1 (10-crop)": _top1, "ImageNet top-5 (10-crop)": _top5}
    _register(
        _name, ResNet, _depth, "he2016", True, torchvision=_name,
        reported=Reported(_source, gflops=_gflops, errors=_errors,
                          remark=f"Table 1's FLOPs are for the paper's stride-in-1x1 form "
                                 f"({_name}_v1); striding in the 3x3 costs more."),
        departure="Strides in the 3x3 convolution of a down-sampling bottleneck (torchvision's "
                  "'v1.5', after fb.resnet.torch); the paper strides in the first 1x1, "
                  f"registered as {_name}_v1.",
    )
    _register(
        f"{_name}_v1", ResNet, _depth, "he2016", True, stride_in_1x1=True,
        reported=Reported(_source, gflops=_gflops, errors=_errors, remark=(
            "Its multiply-adds at 224x224 round to 3.9 G, not the printed 3.8; the SE and CBAM "
            "papers print 3.86 and 3.858 GFLOPs for this net." if _depth == 50 else "")),
        description=f"ResNet-{_depth} as in the paper: a down-sampling bottleneck strides in its "
                    "first 1x1 convolution.",
    )

_TABLE6 = {20: ("0.27", 8.75), 32: ("0.46", 7.51), 44: ("0.66", 7.17), 56: ("0.85", 6.97),
           110: ("1.7", 6.43), 1202: ("19.4", 7.93)}
_TABLE6_REMARKS = {
    110: "Table 6 prints '6.43 (6.61±0.16)': the best of 5 runs, then mean ± std; DenseNet's "
         "Table 2 (note 000) quotes the mean, 6.61.",
    1202: "Worse than ResNet-110 at a similar training error; the paper suspects overfitting.",
}
for _depth, (_params, _error) in _TABLE6.items():
    _register(
        f"resnet{_depth}_cifar", ResNetCIFAR, _depth, "he2016", False,
        reported=Reported("He et al. 2016, Table 6 (CIFAR-10 test error, standard augmentation)",
                          params=_params, errors={"C10+": _error},
                          remark=_TABLE6_REMARKS.get(_depth, "")),
        description=f"ResNet-{_depth} for CIFAR-10 (Sec. 4.2), option A shortcuts.",
    )
for _depth in (20, 32, 44, 56, 110):
    _register(
        f"plain{_depth}_cifar", ResNetCIFAR, _depth, "he2016", False, shortcuts=False,
        description=f"Plain-{_depth}: ResNet-{_depth} without its shortcuts, for the degradation "
                    "experiment of Fig. 6 (left), which plots but does not print its errors.",
    )

_SD_SOURCE = ("Huang et al. 2017 (DenseNet), Table 2, row 'ResNet with Stochastic Depth [13]' "
              "(note 000)")
_SD_DEPARTURE = ("The authors' code (yueatsprograms/Stochastic_Depth) sub-samples the shortcut "
                 "by 2x2 average pooling; we keep He et al.'s strided identity (option A). "
                 "Neither has parameters.")
_register(
    "resnet110_sd_cifar", ResNetCIFAR, 110, "huang2016stochastic", False,
    last_survival_prob=0.5, departure=_SD_DEPARTURE,
    reported=Reported(
        _SD_SOURCE + ", depth 110", params="1.7",
        errors={"C10": 11.66, "C10+": 5.23, "C100": 37.80, "C100+": 24.58, "SVHN": 1.75},
        remark="The same ResNet-110 at constant depth, trained by Huang et al. (DenseNet "
               "Table 2, 'ResNet (reported by [13])'): C10 13.63, C10+ 6.41, C100 44.74, "
               "C100+ 27.22, SVHN 2.01. The authors' README also gives 5.23 on C10+."),
    description="ResNet-110 with stochastic depth, survival decaying linearly to p_L = 0.5.",
)
_register(
    "resnet1202_sd_cifar", ResNetCIFAR, 1202, "huang2016stochastic", False,
    last_survival_prob=0.5, departure=_SD_DEPARTURE,
    reported=Reported(
        _SD_SOURCE + ", depth 1202", params="10.2", errors={"C10+": 4.91},
        remark="The printed 10.2M cannot be this network: a 1202-layer basic-block ResNet with "
               "16-32-64 filters has 19.4M parameters (He et al. Table 6 prints 19.4M for it). "
               "10.2M is the figure of the 1001-layer pre-activation ResNet further down the "
               "same table. We keep the printed number and test the disagreement."),
    description="ResNet-1202 with stochastic depth, survival decaying linearly to p_L = 0.5.",
)

_PREACT_SOURCE = ("Huang et al. 2017 (DenseNet), Table 2, row 'ResNet (pre-activation) [12]' "
                  "(note 000), depth {}; He et al. 2016b, Table 4")
_PREACT_STAR = ("C10 and C100 (no augmentation) were run by the DenseNet authors (marked * in "
                "their table); He et al. report the augmented columns only.")
_register(
    "preact_resnet164_cifar", PreActResNetCIFAR, 164, "he2016identity", False,
    reported=Reported(
        _PREACT_SOURCE.format(164), params="1.7",
        errors={"C10": 11.26, "C10+": 5.46, "C100": 35.58, "C100+": 24.33}, remark=_PREACT_STAR),
    description="Pre-activation bottleneck ResNet-164 for CIFAR (He et al. 2016b).",
)
_register(
    "preact_resnet1001_cifar", PreActResNetCIFAR, 1001, "he2016identity", False,
    reported=Reported(
        _PREACT_SOURCE.format(1001), params="10.2",
        errors={"C10": 10.56, "C10+": 4.62, "C100": 33.47, "C100+": 22.71},
        remark=_PREACT_STAR + " He et al. give 4.92 on C10+ with the paper's mini-batch of 128 "
               "and 4.62 with 64 (README of KaimingHe/resnet-1k-layers); DenseNet's table and "
               "the paper's abstract quote 4.62. The printed 10.2M matches the convolution and "
               "fc weights alone; with BN's scales and shifts, which every other card counts, "
               "the net rounds to 10.3M."),
    description="Pre-activation bottleneck ResNet-1001 for CIFAR (He et al. 2016b).",
)
