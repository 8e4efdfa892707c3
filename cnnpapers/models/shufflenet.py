"""ShuffleNets: v1 (Zhang, Zhou, Lin, Sun 2018, "ShuffleNet: An Extremely Efficient Convolutional
Neural Network for Mobile Devices") and v2 (Ma, Zhang, Zheng, Sun 2018, "ShuffleNet V2: Practical
Guidelines for Efficient CNN Architecture Design").

**v1** makes the 1x1 convolutions of a bottleneck unit *grouped* (g groups), which cuts their cost
by g, and restores the flow of information between groups with a **channel shuffle** (Section
3.1, Fig. 1): reshape the C channels to (g, C/g), transpose, flatten. The unit (Fig. 2b/c) is
1x1 group conv + BN + ReLU -> shuffle -> 3x3 depthwise conv + BN -> 1x1 group conv + BN, added to
the input; a stride-2 unit instead concatenates it with a 3x3 average pool of the input.

**v2** drops the group convolutions (its guideline G2: groups raise memory access cost) and the
element-wise add (G4). A **channel split** sends half the channels through unchanged and the other
half through 1x1 conv -> 3x3 depthwise conv -> 1x1 conv, all of equal width (G1); the halves are
concatenated and shuffled with g = 2 (Fig. 3c). A stride-2 unit feeds the whole input to both
branches, doubling the channels (Fig. 3d). The v2 variants keep torchvision's module and
parameter names, so its state_dicts load strictly.

The v2 paper's Fig. 2 profiles ShuffleNet v1 (1x, g = 3) beside MobileNet v2 (1x) to show that
FLOPs miss the cost of shuffles, concatenations and element-wise operations; both are registered
here and in ``mobilenet`` so the survey chapter can rebuild that decomposition.
"""

from __future__ import annotations

import torch
from torch import nn

from ..registry import Category, Reported, register_model
from ._common import require, require_choice, require_positive_int


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Channel shuffle (Zhang et al. 2018, Section 3.1, Fig. 1c).

    Reshape the C channels into (groups, C/groups), transpose and flatten, so that output channel
    ``j * groups + i`` is channel ``j`` of group ``i``: every group of the next group convolution
    reads from every group of this one.
    """
    batch, channels, height, width = x.shape
    require_positive_int("groups", groups)
    require(channels % groups == 0,
            f"channel shuffle needs groups to divide the channels; got {channels} channels, "
            f"{groups} groups")
    x = x.view(batch, groups, channels // groups, height, width)
    return x.transpose(1, 2).contiguous().view(batch, channels, height, width)


def channel_unshuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Inverse of ``channel_shuffle(x, groups)``: a shuffle with C/groups groups undoes it."""
    channels = x.shape[1]
    require_positive_int("groups", groups)
    require(channels % groups == 0,
            f"channel unshuffle needs groups to divide the channels; got {channels} channels, "
            f"{groups} groups")
    return channel_shuffle(x, channels // groups)


def _conv_bn(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
             groups: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, groups=groups,
                  bias=False),
        nn.BatchNorm2d(out_channels),
    ]


# -- ShuffleNet v1 --------------------------------------------------------------------------------

# Table 1 of Zhang et al.: output channels of Stages 2, 3, 4 for each number of groups g, chosen
# so that every column costs about 140 MFLOPs. Conv1 has 24 filters in every column.
V1_STAGE_CHANNELS = {
    1: (144, 288, 576),
    2: (200, 400, 800),
    3: (240, 480, 960),
    4: (272, 544, 1088),
    8: (384, 768, 1536),
}
V1_STAGE_REPEATS = (4, 8, 4)  # one stride-2 unit, then 3, 7 and 3 stride-1 units
STEM_CHANNELS = 24  # Conv1 of both ShuffleNets


class ShuffleUnit(nn.Module):
    """The ShuffleNet (v1) unit of Fig. 2(b) (stride 1) and Fig. 2(c) (stride 2).

    The bottleneck has a quarter of the unit's output channels (Section 3.3). At stride 2 the
    residual branch produces ``out_channels - in_channels`` maps, so that concatenating the
    average-pooled input yields ``out_channels``. There is no ReLU after the depthwise convolution
    (following Xception) and no shuffle after the second group convolution. Stage 2's first unit
    has an ungrouped first 1x1 convolution (``group_first_conv=False``) since its 24 input
    channels are too few to split (Table 1, caption).
    """

    def __init__(self, in_channels: int, out_channels: int, groups: int, stride: int,
                 group_first_conv: bool = True):
        super().__init__()
        require(stride in (1, 2), f"stride must be 1 or 2, got {stride!r}")
        require_positive_int("groups", groups)
        require(out_channels % 4 == 0,
                f"out_channels must be divisible by 4 (bottleneck = 1/4), got {out_channels}")
        bottleneck = out_channels // 4
        branch_out = out_channels - in_channels if stride == 2 else out_channels
        if stride == 1:
            require(in_channels == out_channels,
                    f"a stride-1 unit adds its input, so in_channels ({in_channels}) must equal "
                    f"out_channels ({out_channels})")
        else:
            require(branch_out > 0, f"a stride-2 unit concatenates its input, so out_channels "
                                    f"({out_channels}) must exceed in_channels ({in_channels})")
        first_groups = groups if group_first_conv else 1
        for name, channels, g in (("in_channels", in_channels, first_groups),
                                  ("bottleneck channels", bottleneck, groups),
                                  ("residual output channels", branch_out, groups)):
            require(channels % g == 0, f"groups={g} must divide the {name} ({channels})")
        self.groups, self.stride = groups, stride
        self.compress = nn.Sequential(*_conv_bn(in_channels, bottleneck, 1, groups=first_groups),
                                      nn.ReLU(inplace=True))
        self.depthwise = nn.Sequential(*_conv_bn(bottleneck, bottleneck, 3, stride, groups=bottleneck))
        self.expand = nn.Sequential(*_conv_bn(bottleneck, branch_out, 1, groups=groups))
        self.shortcut = nn.AvgPool2d(3, stride=2, padding=1) if stride == 2 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.compress(x)
        if self.groups > 1:  # with a single group there is nothing to shuffle
            y = channel_shuffle(y, self.groups)
        y = self.expand(self.depthwise(y))
        out = torch.cat((self.shortcut(x), y), 1) if self.stride == 2 else x + y
        return torch.relu(out)


class ShuffleNetV1(nn.Module):
    """ShuffleNet 1x (Table 1) with g groups in its pointwise convolutions.

    Conv1 (3x3, stride 2, 24 filters) -> 3x3 max pool, stride 2 -> Stages 2-4 of 4, 8, 4 units
    (the first of each with stride 2) -> global average pool -> FC.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, groups: int = 3):
        super().__init__()
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        require_choice("groups", groups, V1_STAGE_CHANNELS)
        self.conv1 = nn.Sequential(*_conv_bn(in_channels, STEM_CHANNELS, 3, stride=2),
                                   nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        channels = STEM_CHANNELS
        stages = []
        for index, (out_channels, repeats) in enumerate(zip(V1_STAGE_CHANNELS[groups], V1_STAGE_REPEATS)):
            units = [ShuffleUnit(channels, out_channels, groups, 2, group_first_conv=index > 0)]
            units += [ShuffleUnit(out_channels, out_channels, groups, 1) for _ in range(repeats - 1)]
            stages.append(nn.Sequential(*units))
            channels = out_channels
        self.stage2, self.stage3, self.stage4 = stages
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        return self.fc(x.mean((2, 3)))


# -- ShuffleNet v2 --------------------------------------------------------------------------------

# Table 5 of Ma et al.: output channels of Stages 2, 3, 4 and Conv5 for each width (Conv1 has 24).
# The widths are tuned per column to hit the FLOP targets, not a fixed multiple of 1x.
V2_STAGE_CHANNELS = {
    0.5: (48, 96, 192, 1024),
    1.0: (116, 232, 464, 1024),
    1.5: (176, 352, 704, 1024),
    2.0: (244, 488, 976, 2048),
}
V2_STAGE_REPEATS = (4, 8, 4)


class ShuffleV2Unit(nn.Module):
    """The ShuffleNet v2 unit of Fig. 3(c) (stride 1) and Fig. 3(d) (stride 2).

    Stride 1: split the channels in halves (c' = c/2); ``branch2`` (1x1 conv + BN + ReLU, 3x3
    depthwise conv + BN, 1x1 conv + BN + ReLU) transforms one half, the other passes untouched.
    Stride 2: no split; ``branch1`` (3x3 depthwise conv + BN, 1x1 conv + BN + ReLU) and
    ``branch2`` both read the whole input. Either way: concatenate, then
    ``channel_shuffle(·, 2)``. Names follow torchvision's ``InvertedResidual``.

    Fig. 3(d) leaves the widths of the two stride-2 branches open. Torchvision gives each half
    of the output; the authors' released code keeps ``branch1`` at the input width and lets
    ``branch2`` (bottleneck still half the output) produce the rest
    (``branch1_keeps_width=True``). The two agree whenever the unit exactly doubles its width,
    i.e. everywhere except the first unit of Stage 2 (24 channels in) at widths 1x, 1.5x, 2x.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 branch1_keeps_width: bool = False):
        super().__init__()
        require(stride in (1, 2), f"stride must be 1 or 2, got {stride!r}")
        require(out_channels % 2 == 0, f"out_channels must be even (two branches), got {out_channels}")
        mid = out_channels // 2
        if stride == 1:
            require(in_channels == out_channels,
                    f"a stride-1 unit keeps its width: in_channels ({in_channels}) must equal "
                    f"out_channels ({out_channels})")
            self.branch1 = nn.Sequential()
            branch2_in, branch2_out = mid, mid
        else:
            branch1_out = in_channels if branch1_keeps_width else mid
            branch2_in, branch2_out = in_channels, out_channels - branch1_out
            require(branch2_out > 0, f"out_channels ({out_channels}) must exceed the width kept "
                                     f"by branch1 ({branch1_out})")
            self.branch1 = nn.Sequential(
                *_conv_bn(in_channels, in_channels, 3, stride, groups=in_channels),
                *_conv_bn(in_channels, branch1_out, 1), nn.ReLU(inplace=True),
            )
        self.stride = stride
        self.branch2 = nn.Sequential(
            *_conv_bn(branch2_in, mid, 1), nn.ReLU(inplace=True),
            *_conv_bn(mid, mid, 3, stride, groups=mid),
            *_conv_bn(mid, branch2_out, 1), nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            kept, transformed = x.chunk(2, dim=1)  # channel split
            out = torch.cat((kept, self.branch2(transformed)), 1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), 1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """ShuffleNet v2 (Table 5) at width 0.5x, 1x, 1.5x or 2x.

    Conv1 -> max pool -> Stages 2-4 -> Conv5 (1x1, the one layer v1 lacks: it mixes features
    before pooling) -> global average pool -> FC. Names follow torchvision's ``ShuffleNetV2``;
    ``branch1_keeps_width`` switches the stride-2 units to the authors' widths (see
    ``ShuffleV2Unit``), which reproduce Table 5's FLOPs.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width_multiplier: float = 1.0,
                 branch1_keeps_width: bool = False):
        super().__init__()
        require_positive_int("num_classes", num_classes)
        require_positive_int("in_channels", in_channels)
        require_choice("width_multiplier", width_multiplier, V2_STAGE_CHANNELS)
        *stage_channels, last_channels = V2_STAGE_CHANNELS[width_multiplier]
        self.conv1 = nn.Sequential(*_conv_bn(in_channels, STEM_CHANNELS, 3, stride=2),
                                   nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        channels = STEM_CHANNELS
        stages = []
        for out_channels, repeats in zip(stage_channels, V2_STAGE_REPEATS):
            units = [ShuffleV2Unit(channels, out_channels, 2, branch1_keeps_width)]
            units += [ShuffleV2Unit(out_channels, out_channels, 1) for _ in range(repeats - 1)]
            stages.append(nn.Sequential(*units))
            channels = out_channels
        self.stage2, self.stage3, self.stage4 = stages
        self.conv5 = nn.Sequential(*_conv_bn(channels, last_channels, 1), nn.ReLU(inplace=True))
        self.fc = nn.Linear(last_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean((2, 3)))


# -- registry -------------------------------------------------------------------------------------

register_model(
    "shufflenet_v1_x1_0_g3", ShuffleNetV1, paper="zhang2018", category=Category.WIDTH,
    input_size=(3, 224, 224), num_classes=1000, min_input_size=1,
    reported=Reported(
        "Zhang et al. 2018, Table 2, row 'ShuffleNet 1x', column g = 3 (also Ma et al. 2018, "
        "Table 8, row 'ShuffleNet v1 1x (g=3)')",
        gflops="0.140", flops_unit="MACs", errors={"ImageNet top-1": 32.6},
        remark="The paper prints no parameter count. 140 MFLOPs (mult-adds) is the complexity "
               "level of Table 2's 1x row; Table 1 prints this very network (g = 3 column) at "
               "137M, which is what the architecture gives: 137,460,672 mult-adds of its "
               "convolutions and FC layer at 224x224."),
    description="ShuffleNet 1x with g = 3 groups (Table 1), the v1 model profiled in Fig. 2 of "
                "the ShuffleNet v2 paper.",
    groups=3,
)

# Ma et al. 2018: Table 5 (FLOPs, # of weights) and Table 8 (top-1 error), per width; then the
# mult-adds of the torchvision-shaped network where they differ from the printed FLOPs.
_TABLE_5 = (
    ("0_5", 0.5, "0.041", "1.4", 39.7, "40,476,448"),
    ("1_0", 1.0, "0.146", "2.3", 30.6, "144,907,992"),
    ("1_5", 1.5, "0.299", "3.5", 27.4, "295,759,392"),
    ("2_0", 2.0, "0.591", "7.4", 25.1, "583,253,464"),
)
_SOURCE = ("Ma et al. 2018, Table 5, column {w}x (FLOPs, # of weights) and Table 8, row "
           "'ShuffleNet v2 {w}x (ours)' (top-1 error)")
_WIDTHS_DEPARTURE = (
    "Stride-2 units give each branch half the output channels (torchvision's choice); the authors' "
    "released code keeps branch1 at the input width, which changes the first unit of Stage 2 "
    "only. Use the '_paper' variant for the authors' widths."
)
for _suffix, _width, _macs, _params, _error, _ours in _TABLE_5:
    _doubling = _width == 0.5  # 24 -> 48 channels: both stride-2 layouts coincide
    _remark = (
        f"This network has {_ours} mult-adds (convolutions and FC at 224x224), "
        + ("below the printed 41M at the precision Table 5 uses, in either stride-2 layout."
           if _doubling else
           "fewer than the printed FLOPs, which the authors' stride-2 widths reproduce "
           f"(variant shufflenet_v2_x{_suffix}_paper).")
    )
    register_model(
        f"shufflenet_v2_x{_suffix}", ShuffleNetV2, paper="ma2018", category=Category.WIDTH,
        input_size=(3, 224, 224), num_classes=1000, min_input_size=1,
        reported=Reported(_SOURCE.format(w=f"{_width:g}"), params=_params, gflops=_macs,
                          errors={"ImageNet top-1": _error}, remark=_remark),
        torchvision=f"shufflenet_v2_x{_suffix}",
        departure="" if _doubling else _WIDTHS_DEPARTURE,
        description=f"ShuffleNet v2 {_width:g}x (Table 5), torchvision's layout.",
        width_multiplier=_width, branch1_keeps_width=False,
    )
    if not _doubling:
        register_model(
            f"shufflenet_v2_x{_suffix}_paper", ShuffleNetV2, paper="ma2018",
            category=Category.WIDTH, input_size=(3, 224, 224), num_classes=1000, min_input_size=1,
            reported=Reported(_SOURCE.format(w=f"{_width:g}"), params=_params, gflops=_macs,
                              errors={"ImageNet top-1": _error}),
            departure="Unlike the authors' code, the FC layer has a bias (1,000 parameters)"
                      + (" and no dropout before it (theirs: 0.2 at 2x)." if _width == 2.0 else "."),
            description=f"ShuffleNet v2 {_width:g}x (Table 5) with the authors' stride-2 widths.",
            width_multiplier=_width, branch1_keeps_width=True,
        )
