from decimal import Decimal

import pytest
import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode

import cnnpapers
from cnnpapers.models.shufflenet import (
    ShuffleNetV2, ShuffleUnit, ShuffleV2Unit, channel_shuffle, channel_unshuffle,
)

V2_PARAMS = {  # Table 5 prints 1.4, 2.3, 3.5 and 7.4 million weights
    "shufflenet_v2_x0_5": 1_366_792,  # these four are torchvision's documented counts
    "shufflenet_v2_x1_0": 2_278_604,
    "shufflenet_v2_x1_5": 3_503_624,
    "shufflenet_v2_x2_0": 7_393_996,
    "shufflenet_v2_x1_0_paper": 2_279_760,
    "shufflenet_v2_x1_5_paper": 3_507_720,
    "shufflenet_v2_x2_0_paper": 7_403_600,
}
V2_MULT_ADDS = {
    "shufflenet_v2_x0_5": 40_476_448,
    "shufflenet_v2_x1_0": 144_907_992,
    "shufflenet_v2_x1_5": 295_759_392,
    "shufflenet_v2_x2_0": 583_253_464,
    "shufflenet_v2_x1_0_paper": 145_814_296,
    "shufflenet_v2_x1_5_paper": 298_970_656,
    "shufflenet_v2_x2_0_paper": 590_783_000,
}
TORCHVISION = ["shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"]


def mult_adds(name: str) -> int:
    """Mult-adds of one 224x224 image, counted on the meta device."""
    with torch.device("meta"):
        model = cnnpapers.create_model(name).eval()
        with FlopCounterMode(display=False) as counter:
            model(torch.empty(1, 3, 224, 224))
    return counter.get_total_flops() // 2


def rounds_to(count: int, printed_giga: str) -> bool:
    printed = Decimal(printed_giga)
    return (Decimal(count) / Decimal(10**9)).quantize(printed) == printed


# -- channel shuffle (Zhang et al. Section 3.1) ---------------------------------------------------

def test_channel_shuffle_interleaves_the_groups():
    x = torch.arange(9.0).view(1, 9, 1, 1)
    order = channel_shuffle(x, 3).flatten().tolist()
    assert order == [0, 3, 6, 1, 4, 7, 2, 5, 8]
    # each group of 3 after the shuffle holds one channel of every group before it
    for start in range(0, 9, 3):
        assert {int(c) // 3 for c in order[start:start + 3]} == {0, 1, 2}


@pytest.mark.parametrize("channels, groups", [(6, 2), (12, 3), (24, 4), (7, 1), (8, 8)])
def test_channel_shuffle_is_an_invertible_permutation(channels, groups):
    x = torch.randn(2, channels, 3, 3)
    shuffled = channel_shuffle(x, groups)
    assert sorted(shuffled[0, :, 0, 0].tolist()) == sorted(x[0, :, 0, 0].tolist())
    torch.testing.assert_close(channel_unshuffle(shuffled, groups), x, rtol=0, atol=0)
    torch.testing.assert_close(channel_shuffle(channel_unshuffle(x, groups), groups), x, rtol=0, atol=0)
    index = channel_shuffle(torch.arange(channels).view(1, -1, 1, 1), groups).flatten()
    torch.testing.assert_close(shuffled, x[:, index])  # the same permutation at every pixel
    if 1 < groups < channels:
        assert not torch.equal(shuffled, x)


def test_channel_shuffle_matches_torchvision():
    from torchvision.models.shufflenetv2 import channel_shuffle as theirs

    x = torch.randn(2, 12, 2, 2)
    torch.testing.assert_close(channel_shuffle(x, 3), theirs(x, 3), rtol=0, atol=0)


@pytest.mark.parametrize("fn", [channel_shuffle, channel_unshuffle])
def test_channel_shuffle_rejects_groups_not_dividing_channels(fn):
    with pytest.raises(ValueError, match="divide"):
        fn(torch.randn(1, 10, 2, 2), 3)
    with pytest.raises(ValueError, match="groups"):
        fn(torch.randn(1, 10, 2, 2), 0)


# -- ShuffleNet v1, 1x, g = 3 ---------------------------------------------------------------------

def test_v1_parameters_and_complexity():
    assert cnnpapers.count_parameters("shufflenet_v1_x1_0_g3") == 1_865_728
    count = mult_adds("shufflenet_v1_x1_0_g3")
    assert count == 137_460_672
    reported = cnnpapers.model_info("shufflenet_v1_x1_0_g3").reported
    assert reported.gflops == "0.140" and not rounds_to(count, reported.gflops)  # Table 2's level
    assert rounds_to(count, "0.137")  # Table 1, g = 3 column
    assert reported.params is None and reported.errors == {"ImageNet top-1": 32.6}


def test_v1_follows_table_1():
    model = cnnpapers.create_model("shufflenet_v1_x1_0_g3")
    stages = [model.stage2, model.stage3, model.stage4]
    assert [len(s) for s in stages] == [4, 8, 4]
    assert [s[-1].expand[0].out_channels for s in stages] == [240, 480, 960]
    # only the first pointwise layer of Stage 2 is ungrouped (Table 1, caption)
    first_convs = [unit.compress[0].groups for s in stages for unit in s]
    assert first_convs == [1] + [3] * 15
    assert all(unit.expand[0].groups == 3 for s in stages for unit in s)
    assert all(unit.depthwise[0].groups == unit.depthwise[0].in_channels for s in stages for unit in s)


def test_v1_stride_2_unit_concatenates_the_pooled_input():
    unit = ShuffleUnit(24, 240, groups=3, stride=2, group_first_conv=False).eval()
    x = torch.rand(2, 24, 8, 8)  # non-negative, as after a ReLU
    out = unit(x)
    assert out.shape == (2, 240, 4, 4)
    torch.testing.assert_close(out[:, :24], torch.nn.functional.avg_pool2d(x, 3, 2, 1))


def test_v1_stride_1_unit_adds_its_input():
    unit = ShuffleUnit(240, 240, groups=3, stride=1).eval()
    for module in (unit.compress, unit.depthwise, unit.expand):
        module[1].weight.data.zero_()  # zero every BN scale: the residual branch outputs 0
    x = torch.rand(2, 240, 4, 4)
    torch.testing.assert_close(unit(x), x)


@pytest.mark.parametrize("kwargs, match", [
    (dict(in_channels=240, out_channels=240, groups=7, stride=1), "groups=7 must divide"),
    (dict(in_channels=26, out_channels=240, groups=3, stride=2), "groups=3 must divide the in_channels"),
    (dict(in_channels=240, out_channels=480, groups=3, stride=1), "must equal"),
    (dict(in_channels=480, out_channels=240, groups=3, stride=2), "must exceed"),
    (dict(in_channels=240, out_channels=240, groups=3, stride=3), "stride"),
    (dict(in_channels=6, out_channels=6, groups=1, stride=1), "divisible by 4"),
])
def test_v1_unit_rejects_invalid_hyper_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ShuffleUnit(**kwargs)


@pytest.mark.parametrize("groups", [0, 5, 16])
def test_v1_groups_must_be_a_column_of_table_1(groups):
    with pytest.raises(ValueError, match="groups must be one of"):
        cnnpapers.create_model("shufflenet_v1_x1_0_g3", groups=groups)


# -- ShuffleNet v2 --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(V2_PARAMS))
def test_v2_parameters_are_pinned_and_match_table_5(name):
    count = cnnpapers.count_parameters(name)
    assert count == V2_PARAMS[name]
    assert cnnpapers.model_info(name).reported.params_match(count)


@pytest.mark.parametrize("name", sorted(V2_MULT_ADDS))
def test_v2_mult_adds_against_table_5(name):
    count = mult_adds(name)
    assert count == V2_MULT_ADDS[name]
    reported = cnnpapers.model_info(name).reported
    # the authors' stride-2 widths reproduce the printed FLOPs; torchvision's fall short, and
    # at 0.5x (where both layouts coincide) nothing reaches the printed 41M
    assert rounds_to(count, reported.gflops) == name.endswith("_paper")
    if not name.endswith("_paper"):
        assert f"{count:,}" in reported.remark


@pytest.mark.parametrize("name", TORCHVISION)
def test_v2_loads_torchvision_weights_and_agrees(name):
    torch.manual_seed(0)
    theirs = getattr(torchvision.models, name)(num_classes=10).eval()
    ours = cnnpapers.create_model(name, num_classes=10).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    assert cnnpapers.model_info(name).torchvision == name
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))


@pytest.mark.parametrize("width", [0.5, 1.0, 1.5, 2.0])
def test_paper_widths_differ_from_torchvision_only_in_the_first_unit_of_stage_2(width):
    with torch.device("meta"):
        theirs = ShuffleNetV2(width_multiplier=width).state_dict()
        paper = ShuffleNetV2(width_multiplier=width, branch1_keeps_width=True).state_dict()
    assert theirs.keys() == paper.keys()
    changed = {k.rsplit(".", 2)[0] for k in theirs if theirs[k].shape != paper[k].shape}
    if width == 0.5:  # 24 -> 48 channels: the unit exactly doubles, both layouts coincide
        assert changed == set()
    else:
        assert changed == {"stage2.0.branch1", "stage2.0.branch2"}


def test_v2_stride_1_unit_passes_half_the_channels_untouched():
    unit = ShuffleV2Unit(116, 116, 1).eval()
    x = torch.randn(2, 116, 4, 4)
    torch.testing.assert_close(channel_unshuffle(unit(x), 2)[:, :58], x[:, :58], rtol=0, atol=0)


def test_v2_stride_2_unit_doubles_the_width():
    unit = ShuffleV2Unit(116, 232, 2)
    assert unit(torch.randn(2, 116, 8, 8)).shape == (2, 232, 4, 4)


@pytest.mark.parametrize("width", [0, 0.75, 3.0])
def test_v2_width_must_be_a_column_of_table_5(width):
    with pytest.raises(ValueError, match="width_multiplier must be one of"):
        cnnpapers.create_model("shufflenet_v2_x1_0", width_multiplier=width)


@pytest.mark.parametrize("args, match", [
    ((116, 232, 1), "must equal"), ((116, 117, 2), "even"), ((116, 116, 2, True), "must exceed"),
])
def test_v2_unit_rejects_invalid_hyper_parameters(args, match):
    with pytest.raises(ValueError, match=match):
        ShuffleV2Unit(*args)
