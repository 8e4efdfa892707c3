from decimal import ROUND_DOWN, Decimal
from fractions import Fraction

import pytest
import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode

import cnnpapers
from cnnpapers.models.mobilenet import (
    DepthwiseSeparableConv, InvertedResidual, MobileNetV1, depthwise_separable_mult_adds,
    input_resolution, standard_conv_mult_adds,
)

V1_PARAMS = {  # Table 6 prints 4.2, 2.6, 1.3 and 0.5 million
    "mobilenet_v1_x1_0": 4_231_976,
    "mobilenet_v1_x0_75": 2_585_560,
    "mobilenet_v1_x0_5": 1_331_592,
    "mobilenet_v1_x0_25": 470_072,
    "mobilenet_v1_x1_0_192": 4_231_976,
    "mobilenet_v1_x1_0_160": 4_231_976,
    "mobilenet_v1_x1_0_128": 4_231_976,
}
V1_MULT_ADDS = {  # convolutions + FC at the card's input size
    "mobilenet_v1_x1_0": 568_740_352,
    "mobilenet_v1_x0_75": 325_400_448,
    "mobilenet_v1_x0_5": 149_497_088,
    "mobilenet_v1_x0_25": 41_030_272,
    "mobilenet_v1_x1_0_192": 418_121_728,
    "mobilenet_v1_x1_0_160": 290_675_200,
    "mobilenet_v1_x1_0_128": 186_400_768,
}


def mult_adds(name: str, **overrides) -> int:
    """Mult-adds of one image at the card's native size, counted on the meta device."""
    size = cnnpapers.model_info(name).input_size[1]
    with torch.device("meta"):
        model = cnnpapers.create_model(name, **overrides).eval()
        with FlopCounterMode(display=False) as counter:
            model(torch.empty(1, 3, size, size))
    return counter.get_total_flops() // 2  # the counter reports 2 FLOPs per multiply-add


def printed_millions(count: int, printed_giga: str) -> bool:
    """True when ``count`` rounds to the printed mult-adds (given in G, to the printed digit)."""
    printed = Decimal(printed_giga)
    return (Decimal(count) / Decimal(10**9)).quantize(printed) == printed


@pytest.mark.parametrize("name", sorted(V1_PARAMS))
def test_v1_parameters_are_pinned_and_match_tables_6_and_7(name):
    count = cnnpapers.count_parameters(name)
    assert count == V1_PARAMS[name]
    assert cnnpapers.model_info(name).reported.params_match(count)


@pytest.mark.parametrize("name", sorted(V1_MULT_ADDS))
def test_v1_mult_adds_against_tables_6_and_7(name):
    count = mult_adds(name)
    assert count == V1_MULT_ADDS[name]
    reported = cnnpapers.model_info(name).reported
    if name == "mobilenet_v1_x1_0_160":  # printed 290, the architecture gives 290.7 -> 291
        assert not printed_millions(count, reported.gflops)
        assert printed_millions(count, "0.291")
        assert "290,675,200" in reported.remark
    else:
        assert printed_millions(count, reported.gflops)


@pytest.mark.parametrize("name, accuracy", [
    ("mobilenet_v1_x1_0", 70.6), ("mobilenet_v1_x0_75", 68.4), ("mobilenet_v1_x0_5", 63.7),
    ("mobilenet_v1_x0_25", 50.6), ("mobilenet_v1_x1_0_192", 69.1), ("mobilenet_v1_x1_0_160", 67.2),
    ("mobilenet_v1_x1_0_128", 64.4), ("mobilenet_v2", 72.0),
])
def test_printed_accuracies_are_stored_as_errors(name, accuracy):
    reported = cnnpapers.model_info(name).reported
    assert reported.errors == {"ImageNet top-1": pytest.approx(100 - accuracy)}
    assert "100 - accuracy" in reported.remark


def test_resolution_multiplier_gives_table_7_inputs():
    assert [input_resolution(rho) for rho in (1, 6 / 7, 5 / 7, 4 / 7)] == [224, 192, 160, 128]
    for size in (224, 192, 160, 128):
        name = "mobilenet_v1_x1_0" if size == 224 else f"mobilenet_v1_x1_0_{size}"
        assert cnnpapers.model_info(name).input_size == (3, size, size)


@pytest.mark.parametrize("rho", [0, -0.5, 1.5, True, "1"])
def test_invalid_resolution_multiplier(rho):
    with pytest.raises(ValueError, match="rho"):
        input_resolution(rho)


def test_v1_follows_table_1_to_a_7x7_map():
    """Table 1 prints the last depthwise layer with stride 2, yet its output is still 7x7."""
    with torch.device("meta"):
        features = MobileNetV1().features
        out = features(torch.empty(1, 3, 224, 224))
    assert out.shape == (1, 1024, 7, 7)
    strides = [block.stride for block in features[1:]]
    assert strides.count(2) == 4 and strides[-1] == 1
    depth = 1 + 2 * len(features[1:]) + 1  # first conv, depthwise + pointwise pairs, FC
    assert depth == cnnpapers.model_info("mobilenet_v1_x1_0").depth == 28


@pytest.mark.parametrize("alpha, width", [(1.0, 1024), (0.75, 768), (0.5, 512), (0.25, 256)])
def test_width_multiplier_thins_every_layer(alpha, width):
    model = MobileNetV1(width_multiplier=alpha)
    assert model.features[0][0].out_channels == int(32 * alpha)
    assert model.classifier.in_features == width


@pytest.mark.parametrize("name", ["mobilenet_v1_x1_0", "mobilenet_v2"])
@pytest.mark.parametrize("alpha", [0, -0.5, True, "1"])
def test_invalid_width_multiplier(name, alpha):
    with pytest.raises(ValueError, match="width_multiplier"):
        cnnpapers.create_model(name, width_multiplier=alpha)


# -- the depthwise-separable block and its cost formula (Section 3.1) -----------------------------

@pytest.mark.parametrize("m, n, d_f, stride", [(32, 64, 8, 1), (64, 128, 4, 2), (512, 512, 2, 1)])
def test_block_cost_is_equation_4_and_saves_equation_5(m, n, d_f, stride):
    block = DepthwiseSeparableConv(m, n, stride)
    with torch.device("meta"), FlopCounterMode(display=False) as counter:
        block.to("meta")(torch.empty(1, m, d_f * stride, d_f * stride))
    assert counter.get_total_flops() // 2 == block.mult_adds(d_f) == 9 * m * d_f**2 + m * n * d_f**2
    ratio = Fraction(depthwise_separable_mult_adds(3, m, n, d_f), standard_conv_mult_adds(3, m, n, d_f))
    assert ratio == Fraction(1, n) + Fraction(1, 9)
    # weights: D_K·D_K·M + M·N, plus a BN scale and shift per channel of both stages
    assert sum(p.numel() for p in block.parameters()) == 9 * m + m * n + 2 * m + 2 * n


def test_depthwise_stage_filters_each_channel_alone():
    block = DepthwiseSeparableConv(4, 6).eval()
    x = torch.randn(1, 4, 5, 5, requires_grad=True)
    out = block.depthwise(x)
    for channel in range(4):
        (grad,) = torch.autograd.grad(out[0, channel].sum(), x, retain_graph=True)
        touched = [c for c in range(4) if grad[0, c].abs().sum() > 0]
        assert touched == [channel]


def test_invalid_block_arguments():
    with pytest.raises(ValueError, match="stride"):
        DepthwiseSeparableConv(8, 8, stride=3)
    with pytest.raises(ValueError, match="out_channels"):
        DepthwiseSeparableConv(8, 0)


# -- MobileNet v2 -------------------------------------------------------------------------------

def test_v2_parameters_and_the_papers_rounding():
    count = cnnpapers.count_parameters("mobilenet_v2")
    assert count == 3_504_872  # torchvision's documented count
    reported = cnnpapers.model_info("mobilenet_v2").reported
    assert reported.params == "3.4" and not reported.params_match(count)  # it is 3.5M
    model = cnnpapers.create_model("mobilenet_v2")
    bn = sum(p.numel() for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)
             for p in m.parameters())
    assert bn == 34_112
    without_bn = (Decimal(count - bn) / 10**6).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    assert count - bn == 3_470_760 and without_bn == Decimal(reported.params)


def test_v2_mult_adds_are_301m_against_the_printed_300m():
    count = mult_adds("mobilenet_v2")
    assert count == 300_774_272
    assert not printed_millions(count, cnnpapers.model_info("mobilenet_v2").reported.gflops)
    assert printed_millions(count, "0.301")


@pytest.mark.parametrize("alpha", [0.35, 0.5, 0.75, 1.0, 1.4])
def test_v2_width_multiplier_counts_equal_torchvision(alpha):
    with torch.device("meta"):
        theirs = torchvision.models.mobilenet_v2(width_mult=alpha)
    assert cnnpapers.count_parameters("mobilenet_v2", width_multiplier=alpha) == sum(
        p.numel() for p in theirs.parameters())


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_v2_loads_torchvision_weights_and_agrees(alpha):
    torch.manual_seed(0)
    theirs = torchvision.models.mobilenet_v2(width_mult=alpha, num_classes=10).eval()
    ours = cnnpapers.create_model("mobilenet_v2", num_classes=10, width_multiplier=alpha).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))


def test_inverted_residual_shortcut_and_linear_bottleneck():
    assert InvertedResidual(24, 24, 1, 6).use_shortcut
    assert not InvertedResidual(24, 24, 2, 6).use_shortcut
    assert not InvertedResidual(16, 24, 1, 6).use_shortcut
    assert len(InvertedResidual(32, 16, 1, 1).conv) == 3  # t = 1: no expansion layer
    block = InvertedResidual(16, 24, 1, 6)
    assert isinstance(block.conv[-1], torch.nn.BatchNorm2d)  # the projection ends without ReLU
    assert (block(torch.randn(2, 16, 4, 4)) < 0).any()
    with pytest.raises(ValueError, match="stride"):
        InvertedResidual(16, 16, 3, 6)
