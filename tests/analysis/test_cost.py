import pytest
import torch
import torchvision
from torch import nn

import cnnpapers
from cnnpapers.analysis import cost
from cnnpapers.analysis.plots import figure_texts


def macs_of(module: nn.Module, input_size) -> int:
    return cost.model_cost(module, input_size).macs


PUBLISHED = ["resnet50", "resnext50_32x4d", "densenet121"]


def published(name):
    meta = torchvision.models.get_model_weights(name).DEFAULT.meta
    return meta["_ops"], meta["num_params"]  # "_ops" are GMACs, although torchvision says GFLOPS


@pytest.mark.parametrize("name", PUBLISHED)
def test_matches_torchvision_published_gflops_within_one_percent(name):
    gmacs, params = published(name)
    with torch.device("meta"):
        model = torchvision.models.get_model(name)
    result = cost.model_cost(model, (3, 224, 224))
    assert abs(result.gmacs - gmacs) / gmacs < 0.01
    assert result.flops == 2 * result.macs
    assert result.params == params


def test_cost_table_of_our_twins_matches_published_figures():
    ours = [name for name in PUBLISHED if name in cnnpapers.list_models()]
    if not ours:
        pytest.skip("no torchvision twin registered in cnnpapers yet")
    table = cost.model_cost_table(ours).set_index("name")
    for name in ours:
        gmacs, params = published(name)
        assert table.loc[name, "source"] == "cnnpapers"
        assert abs(table.loc[name, "gmacs"] - gmacs) / gmacs < 0.01
        assert table.loc[name, "params"] == params


def test_single_convolution_equals_note_000_formula():
    H, W, h, w, c1, c2 = 13, 11, 3, 5, 4, 6
    conv = nn.Conv2d(c1, c2, (h, w), bias=False)
    expected = (H - h + 1) * (W - w + 1) * h * w * c1 * c2  # note 000, "传统的卷积运算"
    assert cost.conv2d_macs((H, W), (h, w), c1, c2) == expected
    assert macs_of(conv, (c1, H, W)) == expected


def test_grouped_convolution_divides_by_groups():
    conv = nn.Conv2d(8, 12, 3, groups=4, bias=False)
    dense = (10 - 3 + 1) ** 2 * 3 * 3 * 8 * 12
    assert cost.conv2d_macs((10, 10), (3, 3), 8, 12, groups=4) == dense // 4
    assert macs_of(conv, (8, 10, 10)) == dense // 4


def test_strided_padded_convolution_uses_its_output_size():
    conv = nn.Conv2d(3, 5, 3, stride=2, padding=1, bias=False)
    assert macs_of(conv, (3, 9, 9)) == cost.conv2d_macs((9, 9), (3, 3), 3, 5, stride=2, padding=1)
    assert cost.conv2d_macs((9, 9), (3, 3), 3, 5, stride=2, padding=1) == 5 * 5 * 9 * 3 * 5


def test_depthwise_separable_against_standard_convolution():
    d_k, m, n, d_f = 3, 8, 16, 7
    depthwise = nn.Conv2d(m, m, d_k, padding=1, groups=m, bias=False)
    pointwise = nn.Conv2d(m, n, 1, bias=False)
    standard = nn.Conv2d(m, n, d_k, padding=1, bias=False)
    separable = macs_of(nn.Sequential(depthwise, pointwise), (m, d_f, d_f))
    assert separable == cost.depthwise_separable_macs(d_k, m, n, d_f) == 9 * 8 * 49 + 8 * 16 * 49
    assert macs_of(standard, (m, d_f, d_f)) == cost.standard_conv_macs(d_k, m, n, d_f)
    ratio = separable / cost.standard_conv_macs(d_k, m, n, d_f)
    assert ratio == pytest.approx(1 / n + 1 / d_k**2)  # MobileNet Eq. (6)


def test_layer_table_sums_and_stages():
    model = nn.Sequential()
    model.add_module("stem", nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()))
    model.add_module("head", nn.Sequential(nn.Flatten(), nn.Linear(4 * 6 * 6, 5)))
    model.head[1].weight.requires_grad_(False)
    result = cost.model_cost(model, (3, 8, 8))
    layers = result.layers.set_index("layer")
    assert layers.loc["stem.0", "macs"] == 6 * 6 * 3 * 3 * 3 * 4
    assert layers.loc["head.1", "macs"] == 4 * 6 * 6 * 5
    assert layers.loc["stem.0", "output_shape"] == (4, 6, 6)
    assert result.params == 3 * 3 * 3 * 4 + 4 + 8 + 144 * 5 + 5
    assert result.trainable_params == result.params - 144 * 5
    assert result.macs == layers["macs"].sum()
    stages = result.stages().set_index("stage")
    assert list(stages.index) == ["stem", "head"]
    assert stages.loc["head", "params"] == 144 * 5 + 5
    assert stages["macs_share"].sum() == pytest.approx(1.0)


def test_functional_work_in_a_parent_is_not_lost():
    class Parent(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 1, bias=False)
            self.weight = nn.Parameter(torch.ones(3, 2))

        def forward(self, x):
            return nn.functional.linear(self.conv(x).mean((2, 3)), self.weight)

    layers = cost.model_cost(Parent(), (2, 4, 4)).layers.set_index("layer")
    assert layers.loc[cost.ROOT, "macs"] == 2 * 3 and layers.loc[cost.ROOT, "params"] == 6
    assert layers.loc["conv", "macs"] == 16 * 2 * 2


def test_cost_table_of_registered_models_on_meta():
    name = "lenet5"
    table = cost.model_cost_table([name])
    assert table.loc[0, "source"] == "cnnpapers"
    assert table.loc[0, "params"] == cnnpapers.count_parameters(name)
    assert table.loc[0, "reported_params_m"] == float(cnnpapers.model_info(name).reported.params)


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown model"):
        cost.model_cost_table(["no_such_net"])


def test_plots_carry_caption_and_units():
    with torch.device("meta"):
        model = torchvision.models.resnet18()
    result = cost.model_cost(model, (3, 64, 64), name="resnet18")
    fig = cost.plot_stage_costs(result, caption="budget smoke · test device")
    texts = figure_texts(fig)
    assert "budget smoke · test device" in texts
    assert any("1 MAC = 2 FLOPs" in t for t in texts)
    with pytest.raises(ValueError, match="caption"):
        cost.plot_stage_costs(result, caption="")


def test_model_that_cannot_be_built_on_meta_falls_back_to_cpu():
    # RegNet's initialiser reads numbers out of its tensors, which meta tensors do not have
    with pytest.raises(NotImplementedError), torch.device("meta"):
        torchvision.models.regnet_x_400mf()
    table = cost.model_cost_table(["regnet_x_400mf"])
    gmacs, params = published("regnet_x_400mf")
    assert table.loc[0, "params"] == params
    assert abs(table.loc[0, "gmacs"] - gmacs) / gmacs < 0.01


def test_native_input_size_of_torchvision_models_is_their_crop_size():
    table = cost.model_cost_table(["squeezenet1_1", "efficientnet_b1"]).set_index("name")
    assert (table["source"] == "torchvision").all()
    assert table.loc["squeezenet1_1", "input_size"] == (3, 224, 224)
    assert table.loc["efficientnet_b1", "input_size"] == (3, 240, 240)
