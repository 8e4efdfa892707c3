from decimal import Decimal

import pytest
import torch

import cnnpapers
from cnnpapers.analysis.cost import model_cost
from cnnpapers.models.attention import (CBAM, ChannelAttention, SEResNetCIFAR, SpatialAttention,
                                        SqueezeExcitation)
from cnnpapers.models.resnet import BasicBlock
from cnnpapers.registry import Category

PARAMS = {
    "se_resnet50": 28_088_024, "cbam_resnet50": 28_089_592,
    "se_resnet20_cifar": 272_095, "cbam_resnet20_cifar": 272_977,
}
CATEGORY = {"se_resnet50": Category.FEATURE_MAP, "se_resnet20_cifar": Category.FEATURE_MAP,
            "cbam_resnet50": Category.ATTENTION, "cbam_resnet20_cifar": Category.ATTENTION}


def test_every_variant_is_pinned():
    family = {n for n in cnnpapers.list_models() if cnnpapers.model_info(n).family == "attention"}
    assert family == set(PARAMS)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_parameter_count(name):
    assert cnnpapers.count_parameters(name) == PARAMS[name]
    card = cnnpapers.model_info(name)
    assert card.category is CATEGORY[name]
    if name.endswith("_cifar"):  # our own variants: no paper number, and the card says so
        assert card.reported is None and "not in the paper" in card.departure
    else:
        assert card.reported.params_match(PARAMS[name])


def _se_params(channels, r=16):
    return 2 * channels * (channels // r) + channels // r + channels  # W1, W2 and their biases


def test_se_adds_two_and_a_half_million_parameters_to_resnet50():
    # Table 1: bottleneck outputs 256, 512, 1024, 2048 in 3, 4, 6, 3 blocks
    added = sum(n * _se_params(c) for c, n in ((256, 3), (512, 4), (1024, 6), (2048, 3)))
    assert added == PARAMS["se_resnet50"] - cnnpapers.count_parameters("resnet50")
    assert round(added / 1e6, 1) == 2.5  # Hu et al. Sec. 4: "~2.5 million additional"
    cbam_extra = 16 * 2 * 7 * 7  # one bias-free 7x7 conv from 2 maps per block
    assert PARAMS["cbam_resnet50"] - PARAMS["se_resnet50"] == cbam_extra


def _cost(name, **overrides):
    with torch.device("meta"):
        model = cnnpapers.create_model(name, **overrides)
    return model, model_cost(model, (3, 224, 224))


def _matches(value, printed):
    return Decimal(value).quantize(Decimal(printed)) == Decimal(printed)


def test_se_resnet50_flops_count_the_squeeze_and_the_scaling():
    model, cost = _cost("se_resnet50")
    # one add per input element to squeeze (Eq. 2), one multiply to scale (Eq. 4)
    elementwise = []
    hooks = [m.register_forward_hook(lambda m, args, out: elementwise.append(2 * args[0].numel()))
             for m in model.modules() if isinstance(m, SqueezeExcitation)]
    model.eval()(torch.zeros(1, 3, 224, 224, device="meta"))
    for hook in hooks:
        hook.remove()
    printed = cnnpapers.model_info("se_resnet50").reported.gflops
    assert _matches(cost.gmacs, "3.86")  # convolutions and fc layers: the ResNet-50 baseline's
    assert _matches((cost.macs + sum(elementwise)) / 1e9, printed)  # 3.87
    _, v15 = _cost("se_resnet50", stride_in_1x1=False)
    assert not _matches(v15.gmacs, printed)


def test_cbam_resnet50_flops_are_the_stride_in_1x1_net():
    _, cost = _cost("cbam_resnet50")
    assert _matches(cost.gmacs, cnnpapers.model_info("cbam_resnet50").reported.gflops)  # 3.864
    _, code = _cost("cbam_resnet50", stride_in_1x1=False)  # the authors' released code
    assert _matches(code.gmacs, "4.096")


def test_down_sampling_strides():
    with torch.device("meta"):
        se = cnnpapers.create_model("se_resnet50").layer2[0]
    assert (se.conv1.stride, se.conv2.stride) == ((2, 2), (1, 1))


def test_se_scales_whole_channels():
    torch.manual_seed(0)
    se = SqueezeExcitation(32, reduction=16)
    u = torch.rand(2, 32, 5, 5) + 0.1
    ratio = se(u) / u
    assert torch.allclose(ratio, ratio[:, :, :1, :1].expand_as(ratio))  # one s_c per channel
    assert ((ratio > 0) & (ratio < 1)).all()
    with torch.no_grad():
        se.fc2.weight.zero_()
        se.fc2.bias.copy_(torch.linspace(-2, 2, 32))
    expected = u * torch.sigmoid(torch.linspace(-2, 2, 32))[None, :, None, None]
    torch.testing.assert_close(se(u), expected)


def test_cbam_channel_map_reads_max_as_well_as_mean():
    torch.manual_seed(0)
    gate = ChannelAttention(16, reduction=4)
    flat = torch.ones(1, 16, 4, 4)
    peaked = torch.zeros(1, 16, 4, 4)
    peaked[:, :, 0, 0] = 16.0  # same mean per channel, larger max
    assert torch.allclose(flat.mean((2, 3)), peaked.mean((2, 3)))
    assert not torch.allclose(gate(flat) / flat, gate(peaked)[:, :, :1, :1] / 16.0)


def test_cbam_spatial_map_is_shared_by_all_channels():
    torch.manual_seed(0)
    gate = SpatialAttention(7)
    f = torch.rand(2, 8, 6, 6) + 0.1
    ratio = gate(f) / f
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio))  # one weight per location
    assert ratio[0, 0].std() > 0  # that varies over space


def test_cbam_applies_channel_then_spatial():
    torch.manual_seed(0)
    cbam = CBAM(16, reduction=4)
    f = torch.randn(2, 16, 5, 5)
    torch.testing.assert_close(cbam(f), cbam.spatial(cbam.channel(f)))


def test_attention_acts_on_the_branch_before_the_sum():
    torch.manual_seed(0)
    block = BasicBlock(16, 16, attention=lambda c: SqueezeExcitation(c, 16)).eval()
    with torch.no_grad():
        block.attention.fc2.weight.zero_()
        block.attention.fc2.bias.fill_(-40.0)  # s = sigmoid(-40) ~ 0 closes the branch
    x = torch.rand(2, 16, 5, 5)
    torch.testing.assert_close(block(x), x)  # only the shortcut is left: relu(0 + x) = x


@pytest.mark.parametrize("build, match", [
    (lambda: SEResNetCIFAR(reduction=32), r"reduction <= 16"),
    (lambda: SqueezeExcitation(64, reduction=0), "reduction"),
    (lambda: SpatialAttention(6), "odd"),
    (lambda: cnnpapers.create_model("cbam_resnet20_cifar", kernel_size=4), "odd"),
    (lambda: cnnpapers.create_model("se_resnet50", network_depth=42), r"\[18, 34, 50, 101, 152\]"),
])
def test_invalid_hyper_parameters(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_cifar_variants_match_resnet20_apart_from_attention():
    torch.manual_seed(0)
    base = cnnpapers.count_parameters("resnet20_cifar")
    # SE on 16/32/64-channel branches, three blocks each (r = 16: 1, 2, 4 hidden units)
    assert PARAMS["se_resnet20_cifar"] - base == 3 * sum(_se_params(c) for c in (16, 32, 64))
    assert PARAMS["cbam_resnet20_cifar"] - PARAMS["se_resnet20_cifar"] == 9 * 2 * 7 * 7
    for name in ("se_resnet20_cifar", "cbam_resnet20_cifar"):
        model = cnnpapers.create_model(name).eval()
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
