import functools
import inspect
from decimal import Decimal

import pytest
import torch
import torchvision

import cnnpapers
from cnnpapers.analysis.cost import model_cost
from cnnpapers.models.resnet import (BasicBlock, Bottleneck, PlainBlock, PreActBottleneck, ResNet,
                                     ResNetCIFAR, StochasticDepthBlock, ZeroPadShortcut,
                                     survival_probabilities)
from cnnpapers.registry import Category

PARAMS = {
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
    "resnet101": 44_549_160, "resnet152": 60_192_808,
    "resnet50_v1": 25_557_032, "resnet101_v1": 44_549_160, "resnet152_v1": 60_192_808,
    "resnet20_cifar": 269_722, "resnet32_cifar": 464_154, "resnet44_cifar": 658_586,
    "resnet56_cifar": 853_018, "resnet110_cifar": 1_727_962, "resnet1202_cifar": 19_421_274,
    "plain20_cifar": 269_722, "plain32_cifar": 464_154, "plain44_cifar": 658_586,
    "plain56_cifar": 853_018, "plain110_cifar": 1_727_962,
    "resnet110_sd_cifar": 1_727_962, "resnet1202_sd_cifar": 19_421_274,
    "preact_resnet164_cifar": 1_703_258, "preact_resnet1001_cifar": 10_327_706,
}
# Printed counts that the architecture does not give; each has a test below and a card remark.
PARAMS_MISMATCH = {"resnet1202_sd_cifar", "preact_resnet1001_cifar"}
TORCHVISION = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]


@functools.cache
def meta_model(name, **overrides):
    """The variant built on the meta device once per test session (no memory, no init cost)."""
    with torch.device("meta"):
        return cnnpapers.create_model(name, **overrides)


def count(name):
    return sum(p.numel() for p in meta_model(name).parameters())


def test_every_variant_is_pinned():
    families = {n for n in cnnpapers.list_models() if cnnpapers.model_info(n).family == "resnet"}
    assert families == set(PARAMS)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_parameter_count(name):
    assert count(name) == PARAMS[name]
    card = cnnpapers.model_info(name)
    assert card.category is Category.DEPTH
    if card.reported is not None and card.reported.params is not None:
        assert card.reported.params_match(PARAMS[name]) == (name not in PARAMS_MISMATCH)


def test_stochastic_depth_1202_printed_count_is_another_network():
    # DenseNet Table 2 prints 10.2M; the net is ResNet-1202, for which He et al. print 19.4M.
    card = cnnpapers.model_info("resnet1202_sd_cifar")
    assert card.reported.params == "10.2" and "19.4M" in card.reported.remark
    n = count("resnet1202_sd_cifar")
    assert cnnpapers.model_info("resnet1202_cifar").reported.params_match(n)
    assert not card.reported.params_match(n)
    assert cnnpapers.model_info("preact_resnet1001_cifar").reported.params == "10.2"


def test_preact_1001_printed_count_leaves_out_batch_norm():
    model = meta_model("preact_resnet1001_cifar")
    bn = sum(p.numel() for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)
             for p in m.parameters())
    reported = cnnpapers.model_info("preact_resnet1001_cifar").reported
    assert reported.params_match(PARAMS["preact_resnet1001_cifar"] - bn)  # 10.18M -> 10.2
    assert round(PARAMS["preact_resnet1001_cifar"] / 1e6, 1) == 10.3


@pytest.mark.parametrize("name", TORCHVISION)
def test_loads_torchvision_state_dict_and_matches_outputs(name):
    torch.manual_seed(0)
    reference = getattr(torchvision.models, name)().eval()
    with torch.device("meta"):
        ours = cnnpapers.create_model(name)
    ours.load_state_dict(reference.state_dict(), strict=True, assign=True)
    ours.eval()
    x = torch.randn(2, 3, 16, 16)  # every layer still runs; layer3 and layer4 see 1x1 maps
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x))
    assert cnnpapers.model_info(name).torchvision == name


def _gmacs(name, **overrides):
    return model_cost(meta_model(name, **overrides), (3, 224, 224))


@pytest.mark.parametrize("name", TORCHVISION)
def test_macs_equal_torchvision_published_ops(name):
    weights = torchvision.models.get_model_weights(name).IMAGENET1K_V1
    assert round(_gmacs(name).gmacs, 3) == weights.meta["_ops"]


def _rounded(value: float, printed: str) -> bool:
    return Decimal(value).quantize(Decimal(printed)) == Decimal(printed)


@pytest.mark.parametrize("depth", [50, 101, 152])
def test_table1_flops_are_for_the_stride_in_1x1_form(depth):
    printed = cnnpapers.model_info(f"resnet{depth}").reported.gflops
    v1, v15 = _gmacs(f"resnet{depth}_v1").gmacs, _gmacs(f"resnet{depth}").gmacs
    assert v15 - v1 > 0.2  # the 3x3 runs at the full resolution of a down-sampling block
    assert not _rounded(v15, printed)
    # 7.57 -> 7.6 and 11.28 -> 11.3, but ResNet-50's 3.858 is printed as 3.8 (the card's remark)
    assert _rounded(v1, {50: "3.9", 101: "7.6", 152: "11.3"}[depth])
    assert _rounded(v1, printed) == (depth != 50)


def test_resnet34_flops_are_for_option_a():
    cost = _gmacs("resnet34")
    projections = cost.layers[cost.layers["layer"].str.contains("downsample")]["macs"].sum()
    assert len(cost.layers[cost.layers["layer"].str.contains("downsample.0")]) == 3
    assert _rounded((cost.macs - projections) / 1e9, "3.6")
    assert _rounded(cost.gmacs, "3.7")


def test_resnet18_flops():
    assert _rounded(_gmacs("resnet18").gmacs, cnnpapers.model_info("resnet18").reported.gflops)


def test_v1_and_v15_place_the_stride_differently():
    v15, v1 = (meta_model(name).layer2[0] for name in ("resnet50", "resnet50_v1"))
    assert (v15.conv1.stride, v15.conv2.stride) == ((1, 1), (2, 2))
    assert (v1.conv1.stride, v1.conv2.stride) == ((2, 2), (1, 1))
    with pytest.raises(ValueError, match="bottleneck ResNets"):
        ResNet(network_depth=18, stride_in_1x1=True)


def test_basic_block_keeps_torchvision_argument_names():
    ours = list(inspect.signature(BasicBlock).parameters)
    theirs = list(inspect.signature(torchvision.models.resnet.BasicBlock).parameters)
    assert ours[:len(theirs)] == theirs == [
        "inplanes", "planes", "stride", "downsample", "groups", "base_width", "dilation",
        "norm_layer"]
    assert list(inspect.signature(Bottleneck).parameters)[:len(theirs)] == theirs


@pytest.mark.parametrize("kwargs, match", [
    (dict(network_depth=42), r"\[18, 34, 50, 101, 152\]"),
    (dict(network_depth=18, groups=2), "groups=1"),
    (dict(num_classes=0), "num_classes"),
])
def test_invalid_imagenet_hyper_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ResNet(**kwargs)


@pytest.mark.parametrize("depth", [21, 2, 0, 20.0])
def test_cifar_depth_must_be_6n_plus_2(depth):
    with pytest.raises(ValueError, match=r"6n\+2 .*8, 14, 20, 26, 32.*20, 32, 44, 56, 110, 1202"):
        cnnpapers.create_model("resnet20_cifar", network_depth=depth)


def test_preact_depth_must_be_9n_plus_2():
    with pytest.raises(ValueError, match=r"9n\+2 .*11, 20, 29.*164, 1001"):
        cnnpapers.create_model("preact_resnet164_cifar", network_depth=100)


@pytest.mark.parametrize("kwargs, match", [
    (dict(last_survival_prob=0.0), r"\(0, 1\]"),
    (dict(last_survival_prob=1.5), r"\(0, 1\]"),
    (dict(shortcuts=False, last_survival_prob=0.5), "plain net"),
])
def test_invalid_stochastic_depth(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ResNetCIFAR(**kwargs)


def test_cifar_stages_follow_section_4_2():
    model = ResNetCIFAR(network_depth=20)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) + 1 == 20  # 6n convs + first conv + fc, no projection shortcuts
    assert [len(s) for s in (model.layer1, model.layer2, model.layer3)] == [3, 3, 3]
    stages = (model.layer1, model.layer2, model.layer3)
    assert [s[0].conv1.out_channels for s in stages] == [16, 32, 64]
    x = torch.randn(2, 3, 32, 32)
    assert model.layer3(model.layer2(model.layer1(model.conv1(x)))).shape == (2, 64, 8, 8)


def test_option_a_shortcut_subsamples_and_pads_with_zeros():
    x = torch.arange(2 * 2 * 4 * 4, dtype=torch.float).view(2, 2, 4, 4)
    y = ZeroPadShortcut(2, 5, stride=2)(x)
    assert y.shape == (2, 5, 2, 2)
    assert torch.equal(y[:, :2], x[:, :, ::2, ::2])
    assert not y[:, 2:].any()


def _silenced(block):
    """Zero the last BN's scale so that the residual branch F(x) outputs exactly zero."""
    with torch.no_grad():
        for bn in (m for m in block.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            last = bn
        last.weight.zero_()
    return block.eval()


def test_shortcut_carries_the_input_when_the_branch_is_zero():
    x = torch.rand(2, 8, 5, 5)  # non-negative, so relu(x) = x
    residual = _silenced(BasicBlock(8, 8))
    plain = _silenced(PlainBlock(8, 8))
    torch.testing.assert_close(residual(x), x)   # Eq. 1 with F = 0: the identity
    assert not plain(x).any()                    # without a shortcut nothing gets through


def test_preact_unit_has_nothing_after_the_addition():
    x = torch.randn(2, 64, 5, 5)  # negative entries survive: no ReLU after the sum
    block = PreActBottleneck(64, 16).eval()
    with torch.no_grad():
        block.conv3.weight.zero_()
    torch.testing.assert_close(block(x), x)
    first = meta_model("preact_resnet164_cifar").layer1[0]
    assert isinstance(first.downsample, torch.nn.Conv2d)  # projection, fed the pre-activation


def test_linear_decay_rule():
    p = survival_probabilities(54, 0.5)
    assert p[0] == pytest.approx(1 - 0.5 / 54) and p[-1] == pytest.approx(0.5)
    assert p == pytest.approx([1 - l / 54 * 0.5 for l in range(1, 55)])
    blocks = [m for m in meta_model("resnet110_sd_cifar").modules()
              if isinstance(m, StochasticDepthBlock)]
    assert [b.survival_prob for b in blocks] == pytest.approx(p)


def test_stochastic_depth_scales_by_survival_at_test_time():
    torch.manual_seed(0)
    block = StochasticDepthBlock(4, 4, survival_prob=0.3).eval()
    x = torch.randn(2, 4, 5, 5)
    with torch.no_grad():
        torch.testing.assert_close(block(x), torch.relu(0.3 * block.residual(x) + x))


def test_stochastic_depth_drops_whole_branches_while_training():
    torch.manual_seed(0)
    block = _silenced(StochasticDepthBlock(4, 4, survival_prob=0.5))
    with torch.no_grad():
        block.bn2.bias.fill_(1.0)  # F(x) = 1 everywhere
    block.train()
    x = torch.zeros(1, 4, 2, 2)
    with torch.no_grad():
        outs = [block(x) for _ in range(200)]
    assert all(out.unique().numel() == 1 for out in outs)  # one draw per forward, whole branch
    gates = [out[0, 0, 0, 0].item() for out in outs]  # relu(b * 1 + 0) = b
    assert set(gates) == {0.0, 1.0}
    assert sum(gates) / len(gates) == pytest.approx(0.5, abs=0.1)


def test_registered_cifar_nets_run_at_cifar_size():
    torch.manual_seed(0)
    for name in ("resnet20_cifar", "plain20_cifar"):
        model = cnnpapers.create_model(name).eval()
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
