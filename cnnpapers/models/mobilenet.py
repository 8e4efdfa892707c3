"""MobileNets: v1 (Howard et al. 2017, "MobileNets: Efficient Convolutional Neural Networks for
Mobile Vision Applications") and v2 (Sandler et al. 2018, "MobileNetV2: Inverted Residuals and
Linear Bottlenecks").

**v1** stacks depthwise-separable convolutions (Section 3.1, Fig. 3): a 3x3 depthwise convolution
filters each of the M input channels on its own, then a 1x1 pointwise convolution mixes them into
N outputs, each followed by BN and ReLU. On a D_F x D_F map with a D_K x D_K kernel this costs

    D_K·D_K·M·D_F·D_F + M·N·D_F·D_F    (eq. 4)   instead of   D_K·D_K·M·N·D_F·D_F    (eq. 2),

a ratio of 1/N + 1/D_K² (eq. 5): 8 to 9 times fewer mult-adds for 3x3 kernels. Two global
hyper-parameters trade accuracy for cost: the width multiplier α thins every layer to αM
channels (Section 3.3, Table 6) and the resolution multiplier ρ shrinks the input, hence every
feature map (Section 3.4, Table 7). ρ changes no weight, so it is not a model argument: a
variant's native input size on its card is ``input_resolution(ρ)`` (224, 192, 160, 128).

**v2** replaces the block by an *inverted residual with a linear bottleneck* (Section 3.3,
Table 1): a 1x1 expansion by t (ReLU6), a 3x3 depthwise convolution (ReLU6) and a *linear* 1x1
projection back to a thin bottleneck, with a shortcut between bottlenecks when the stride is 1
and the widths agree. ``mobilenet_v2`` keeps torchvision's module and parameter names, so its
state_dict loads strictly.
"""

from __future__ import annotations

import torch
from torch import nn

from ..registry import Category, Reported, register_model
from ._common import require, require_positive_int, require_probability

# -- MobileNet v1 ---------------------------------------------------------------------------------

NATIVE_RESOLUTION = 224

# Table 1, after the first full convolution (3x3, 32 filters, stride 2): one row per
# depthwise-separable layer, (pointwise output channels, depthwise stride). Table 1 prints
# "Conv dw / s2" for the last depthwise layer although its input and output are both 7x7; that
# stride is 1, as in the authors' released code.
V1_LAYERS = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1),
    (1024, 2), (1024, 1),
)
V1_STEM_CHANNELS = 32


def input_resolution(rho: float, native: int = NATIVE_RESOLUTION) -> int:
    """Input side ρ·224 for the resolution multiplier ρ ∈ (0, 1] (Section 3.4).

    The paper's Table 7 uses ρ = 1, 6/7, 5/7, 4/7, i.e. inputs 224, 192, 160, 128.
    """
    require(isinstance(rho, (int, float)) and not isinstance(rho, bool) and 0 < rho <= 1,
            f"resolution multiplier rho must be in (0, 1], got {rho!r}")
    size = round(rho * native)
    require(size >= 1, f"rho={rho} shrinks a {native}-pixel input below one pixel")
    return size


def standard_conv_mult_adds(kernel_size: int, in_channels: int, out_channels: int,
                            feature_size: int) -> int:
    """Mult-adds of a standard convolution, D_K·D_K·M·N·D_F·D_F (eq. 2).

    ``feature_size`` D_F is the side of the *output* map (equal to the input's at stride 1).
    """
    return kernel_size ** 2 * in_channels * out_channels * feature_size ** 2


def depthwise_separable_mult_adds(kernel_size: int, in_channels: int, out_channels: int,
                                  feature_size: int) -> int:
    """Mult-adds of a depthwise-separable convolution, D_K·D_K·M·D_F·D_F + M·N·D_F·D_F (eq. 4)."""
    depthwise = kernel_size ** 2 * in_channels * feature_size ** 2
    pointwise = in_channels * out_channels * feature_size ** 2
    return depthwise + pointwise


def _conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                  groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2,
                  groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class DepthwiseSeparableConv(nn.Module):
    """Fig. 3 (right): 3x3 depthwise conv + BN + ReLU, then 1x1 pointwise conv + BN + ReLU.

    The depthwise convolution has ``groups = M``: one D_K x D_K filter per input channel and no
    mixing across channels; the pointwise convolution does all of the mixing.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, kernel_size: int = 3):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("kernel_size", kernel_size)):
            require_positive_int(name, value)
        require(stride in (1, 2), f"stride must be 1 or 2, got {stride!r}")
        require(kernel_size % 2 == 1, f"kernel_size must be odd to keep 'same' padding, got {kernel_size}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = kernel_size, stride
        self.depthwise = _conv_bn_relu(in_channels, in_channels, kernel_size, stride, groups=in_channels)
        self.pointwise = _conv_bn_relu(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))

    def mult_adds(self, feature_size: int) -> int:
        """Eq. (4) for this block, with D_F the side of its output map."""
        return depthwise_separable_mult_adds(self.kernel_size, self.in_channels,
                                             self.out_channels, feature_size)


def _thin(channels: int, alpha: float) -> int:
    """αM channels (Section 3.3), rounded to the nearest integer and at least one."""
    return max(1, round(channels * alpha))


def _require_width_multiplier(alpha: float) -> None:
    require(isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and alpha > 0,
            f"width_multiplier must be a number > 0, got {alpha!r}")


class MobileNetV1(nn.Module):
    """MobileNet v1 (Table 1), thinned by the width multiplier α (Section 3.3).

    A 3x3 stride-2 convolution, 13 depthwise-separable layers, global average pooling (the
    paper's 7x7 average pool at 224 pixels) and a fully connected classifier: 28 layers when
    depthwise and pointwise convolutions count separately.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width_multiplier: float = 1.0):
        super().__init__()
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        _require_width_multiplier(width_multiplier)
        channels = _thin(V1_STEM_CHANNELS, width_multiplier)
        layers: list[nn.Module] = [_conv_bn_relu(in_channels, channels, 3, stride=2)]
        for out_channels, stride in V1_LAYERS:
            out_channels = _thin(out_channels, width_multiplier)
            layers.append(DepthwiseSeparableConv(channels, out_channels, stride))
            channels = out_channels
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


# -- MobileNet v2 ---------------------------------------------------------------------------------

# Table 2 of Sandler et al.: each row is t (expansion), c (output channels), n (repeats), s (stride
# of the first repeat), after a 3x3 stride-2 convolution with 32 filters.
V2_SETTING = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
V2_STEM_CHANNELS = 32
V2_LAST_CHANNELS = 1280


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never losing more than 10 %.

    The reference TensorFlow implementation of MobileNet v2 (and torchvision) rounds every
    α-scaled width this way, so that α = 1.4 or 0.35 still yields hardware-friendly widths.
    """
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class ConvBNReLU(nn.Sequential):
    """Convolution + BN + ReLU6, with 'same' padding; children named 0, 1, 2 as in torchvision."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 groups: int = 1):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, (kernel_size - 1) // 2,
                      groups=groups, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    """Bottleneck residual block of Table 1 (Sandler et al.): expand, filter, project linearly.

    1x1 conv to t·k channels + ReLU6 (skipped when t = 1), 3x3 depthwise conv with stride s +
    ReLU6, then a 1x1 conv back to k' channels with BN and *no* ReLU: the linear bottleneck of
    Section 3.2, since a ReLU on a thin representation destroys information. The shortcut joins
    the bottlenecks when s = 1 and k = k'.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int):
        super().__init__()
        require(stride in (1, 2), f"stride must be 1 or 2, got {stride!r}")
        require_positive_int("expand_ratio", expand_ratio)
        hidden_channels = in_channels * expand_ratio
        self.use_shortcut = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU(in_channels, hidden_channels, kernel_size=1))  # expansion
        layers += [
            ConvBNReLU(hidden_channels, hidden_channels, stride=stride, groups=hidden_channels),
            nn.Conv2d(hidden_channels, out_channels, 1, bias=False),  # linear projection
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_shortcut else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNet v2 (Table 2), every width scaled by α and rounded to a multiple of 8.

    The last 1x1 convolution keeps its 1280 channels when α < 1, as the paper prescribes for its
    thinner models.
    Module and parameter names follow torchvision's ``mobilenet_v2``.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width_multiplier: float = 1.0,
                 dropout: float = 0.2):
        super().__init__()
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        _require_width_multiplier(width_multiplier)
        require_probability("dropout", dropout)
        channels = make_divisible(V2_STEM_CHANNELS * width_multiplier)
        self.last_channel = make_divisible(V2_LAST_CHANNELS * max(1.0, width_multiplier))
        features: list[nn.Module] = [ConvBNReLU(in_channels, channels, stride=2)]
        for t, c, n, s in V2_SETTING:
            out_channels = make_divisible(c * width_multiplier)
            for i in range(n):
                features.append(InvertedResidual(channels, out_channels, s if i == 0 else 1, t))
                channels = out_channels
        features.append(ConvBNReLU(channels, self.last_channel, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(self.last_channel, num_classes))
        self._init_weights()

    def _init_weights(self) -> None:
        """The reference initialisation (torchvision's): He fan-out convs, small-normal FC."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


# -- registry -------------------------------------------------------------------------------------

_ACCURACY_REMARK = "The paper prints ImageNet top-1 accuracy; stored as error = 100 - accuracy."

# Table 6 (width multiplier, all at 224x224): α, printed accuracy, million mult-adds, million params.
_TABLE_6 = (
    ("1.0", 1.0, 70.6, "0.569", "4.2"),
    ("0.75", 0.75, 68.4, "0.325", "2.6"),
    ("0.5", 0.5, 63.7, "0.149", "1.3"),
    ("0.25", 0.25, 50.6, "0.041", "0.5"),
)
for _label, _alpha, _accuracy, _macs, _params in _TABLE_6:
    register_model(
        f"mobilenet_v1_x{_label.replace('.', '_')}", MobileNetV1, paper="howard2017",
        category=Category.WIDTH, input_size=(3, 224, 224), num_classes=1000, min_input_size=1,
        depth=28,
        reported=Reported(f"Howard et al. 2017, Table 6, row '{_label} MobileNet-224'",
                          params=_params, gflops=_macs,
                          errors={"ImageNet top-1": round(100 - _accuracy, 1)},
                          remark=_ACCURACY_REMARK),
        description=f"MobileNet v1 with width multiplier α = {_alpha:g} (Table 6).",
        width_multiplier=_alpha,
    )

# Table 7 (resolution multiplier, α = 1): the same network on smaller inputs.
_MACS_160_REMARK = (
    " The printed 290M mult-adds disagree with the architecture: its convolutions and FC layer "
    "take 290,675,200 at 160x160, i.e. 291M at the precision every other row of Tables 6 and 7 "
    "matches (the same count gives 569, 418 and 186 at 224, 192 and 128)."
)
_TABLE_7 = (
    (6 / 7, 69.1, "0.418", ""),
    (5 / 7, 67.2, "0.290", _MACS_160_REMARK),
    (4 / 7, 64.4, "0.186", ""),
)
for _rho, _accuracy, _macs, _remark in _TABLE_7:
    _size = input_resolution(_rho)
    register_model(
        f"mobilenet_v1_x1_0_{_size}", MobileNetV1, paper="howard2017", category=Category.WIDTH,
        input_size=(3, _size, _size), num_classes=1000, min_input_size=1, depth=28,
        reported=Reported(f"Howard et al. 2017, Table 7, row '1.0 MobileNet-{_size}'",
                          params="4.2", gflops=_macs,
                          errors={"ImageNet top-1": round(100 - _accuracy, 1)},
                          remark=_ACCURACY_REMARK + _remark),
        description=f"MobileNet v1 (α = 1) at resolution multiplier ρ = {_size}/224 (Table 7).",
        width_multiplier=1.0,
    )

register_model(
    "mobilenet_v2", MobileNetV2, paper="sandler2018", category=Category.WIDTH,
    input_size=(3, 224, 224), num_classes=1000, min_input_size=1,
    reported=Reported(
        "Sandler et al. 2018, Table 4, row 'MobileNetV2'", params="3.4", gflops="0.300",
        errors={"ImageNet top-1": 28.0},
        remark=_ACCURACY_REMARK + " The printed 3.4M params disagree with the architecture: it "
               "has 3,504,872 parameters (3.5M, torchvision's count), or 3,470,760 without the "
               "34,112 BatchNorm scales and shifts, i.e. 3.47M, which the paper truncates to 3.4. "
               "Its mult-adds are 300,774,272 (301M, as Ma et al. 2018, Table 8, print for their "
               "re-implementation); the paper rounds to 300M."),
    torchvision="mobilenet_v2",
    departure="Dropout 0.2 before the classifier (the reference implementation's; the paper "
              "does not describe the classifier's regularisation).",
    width_multiplier=1.0, dropout=0.2,
)
