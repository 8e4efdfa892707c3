from decimal import ROUND_DOWN, Decimal

import pytest
import torch
import torchvision

import cnnpapers
from cnnpapers.analysis.cost import model_cost
from cnnpapers.models.resnet import Bottleneck, conv1x1
from cnnpapers.models.resnext import (AggregatedTransformations, EarlyConcatenation, ResNeXt,
                                      ResNeXtCIFAR, complexity_preserving_width, grouped_block,
                                      to_aggregated, to_early_concatenation)
from cnnpapers.registry import Category

PARAMS = {
    "resnext50_1x64d": 25_557_032, "resnext50_2x40d": 25_425_000,
    "resnext50_4x24d": 25_292_968, "resnext50_8x14d": 25_603_016,
    "resnext50_32x4d": 25_028_904,
    "resnext101_1x64d": 44_549_160, "resnext101_2x40d": 44_456_296,
    "resnext101_4x24d": 44_363_432, "resnext101_8x14d": 45_104_328,
    "resnext101_32x4d": 44_177_704,
    "resnext101_64x4d": 83_455_272, "resnext101_32x8d": 88_791_336,
    "resnext29_8x64d_cifar": 34_426_698, "resnext29_16x64d_cifar": 68_155_210,
}
# Xie et al. truncate parameter counts: 25.557M prints as 25.5M, 68.155M as 68.1M.
TRUNCATED = {"resnext50_1x64d", "resnext29_16x64d_cifar"}


def test_every_variant_is_pinned():
    family = {n for n in cnnpapers.list_models() if cnnpapers.model_info(n).family == "resnext"}
    assert family == set(PARAMS)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_parameter_count(name):
    assert cnnpapers.count_parameters(name) == PARAMS[name]
    card = cnnpapers.model_info(name)
    assert card.category is Category.WIDTH
    if card.reported is not None and card.reported.params is not None:
        assert card.reported.params_match(PARAMS[name]) == (name not in TRUNCATED)
        truncated = (Decimal(PARAMS[name]) / 10**6).quantize(Decimal(card.reported.params),
                                                               ROUND_DOWN)
        assert truncated == Decimal(card.reported.params)  # the rule that fits all four


def test_resnet_is_cardinality_one():
    assert PARAMS["resnext50_1x64d"] == cnnpapers.count_parameters("resnet50")
    assert PARAMS["resnext101_1x64d"] == cnnpapers.count_parameters("resnet101")


def test_table2_widths_preserve_complexity():
    widths = [complexity_preserving_width(c) for c in (1, 2, 4, 8, 32)]
    assert widths == [64, 40, 24, 14, 4]
    assert [c * d for c, d in zip((1, 2, 4, 8, 32), widths)] == [64, 80, 96, 112, 128]
    for depth in (50, 101):  # every ablation net within 3% of its ResNet's parameters
        base = PARAMS[f"resnext{depth}_1x64d"]
        for c, d in zip((2, 4, 8, 32), widths[1:]):
            assert abs(PARAMS[f"resnext{depth}_{c}x{d}d"] / base - 1) < 0.03


@pytest.mark.parametrize("name, reference", [
    ("resnext50_32x4d", "resnext50_32x4d"), ("resnext101_32x8d", "resnext101_32x8d"),
    ("resnext101_64x4d", "resnext101_64x4d"), ("resnext50_1x64d", "resnet50"),
])
def test_loads_torchvision_state_dict_and_matches_outputs(name, reference):
    torch.manual_seed(0)
    theirs = getattr(torchvision.models, reference)().eval()
    with torch.device("meta"):
        ours = cnnpapers.create_model(name)
    ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    ours.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))


@pytest.mark.parametrize("name", ["resnext50_32x4d", "resnext50_1x64d"])
def test_table1_flops(name):
    with torch.device("meta"):
        model = cnnpapers.create_model(name)
    gmacs = Decimal(model_cost(model, (3, 224, 224)).gmacs)
    printed = Decimal(cnnpapers.model_info(name).reported.gflops)
    assert gmacs.quantize(printed) == printed  # 4.23 -> 4.2 and 4.09 -> 4.1


def _randomised(block):
    torch.manual_seed(1)
    with torch.no_grad():
        for m in block.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_()
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2.0)
    return block


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("training", [False, True])
def test_three_forms_of_fig3_compute_the_same(stride, training):
    downsample = torch.nn.Sequential(conv1x1(64, 128, stride), torch.nn.BatchNorm2d(128))
    block = _randomised(grouped_block(64, 64, 128, cardinality=8, stride=stride,
                                      downsample=downsample)).train(training)
    assert block.conv2.groups == 8 and block.conv2.weight.shape == (64, 8, 3, 3)
    x = torch.randn(2, 64, 7, 7)
    expected = block(x)
    for form in (to_aggregated(block), to_early_concatenation(block)):
        assert form.training == training
        torch.testing.assert_close(form(x), expected, atol=1e-5, rtol=1e-5)
    assert len(to_aggregated(block).paths) == 8


def test_torchvision_resnext_block_is_form_c():
    torch.manual_seed(0)
    theirs = torchvision.models.resnet.Bottleneck(256, 64, groups=32, base_width=4).eval()
    ours = grouped_block(256, 128, 256, cardinality=32).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 256, 5, 5)
    with torch.no_grad():
        torch.testing.assert_close(to_aggregated(ours)(x), theirs(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("build", [
    lambda: AggregatedTransformations(256, 128, 256, cardinality=3),
    lambda: EarlyConcatenation(256, 128, 256, cardinality=3),
    lambda: grouped_block(256, 128, 256, cardinality=3),
    lambda: Bottleneck(256, 64, groups=3, width=128),
])
def test_cardinality_must_divide_the_width(build):
    with pytest.raises(ValueError, match=r"valid values: \[1, 2, 4, 8, 16, 32, 64, 128\]"):
        build()


@pytest.mark.parametrize("kwargs, match", [
    (dict(network_depth=34), r"\[50, 101, 152\]"),
    (dict(cardinality=0), "cardinality"),
    (dict(bottleneck_width=2.5), "bottleneck_width"),
])
def test_invalid_imagenet_hyper_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ResNeXt(**kwargs)


def test_form_conversion_refuses_a_stride_in_the_1x1():
    block = Bottleneck(64, 16, stride=2, stride_in_1x1=True,
                       downsample=torch.nn.Sequential(conv1x1(64, 64, 2), torch.nn.BatchNorm2d(64)))
    with pytest.raises(ValueError, match="3x3"):
        to_aggregated(block)


def test_cifar_template_widths():
    model = ResNeXtCIFAR(network_depth=29, cardinality=8, bottleneck_width=64)
    stages = (model.layer1, model.layer2, model.layer3)
    assert [len(s) for s in stages] == [3, 3, 3]
    assert [s[0].conv2.in_channels for s in stages] == [512, 1024, 2048]  # C * d, doubling
    assert all(s[0].conv2.groups == 8 for s in stages)
    assert [s[-1].conv3.out_channels for s in stages] == [256, 512, 1024]


def test_budget_sized_cifar_resnext():
    torch.manual_seed(0)
    model = cnnpapers.create_model("resnext29_8x64d_cifar", num_classes=10, in_channels=1,
                                   base_channels=16, cardinality=4, bottleneck_width=4).eval()
    assert model.layer1[0].conv2.in_channels == 16 and model.layer3[0].conv2.groups == 4
    assert model.fc.in_features == 256
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_cifar_depth_must_be_9n_plus_2():
    with pytest.raises(ValueError, match=r"9n\+2 .*11, 20, 29"):
        ResNeXtCIFAR(network_depth=30)
