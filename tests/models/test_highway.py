import pytest
import torch
from torch import nn

import cnnpapers
from cnnpapers.models.highway import HighwayNet, _HighwayConv, _PlainConv


def highway_parameters(widths, layers, highway=True, in_channels=3, head=100, num_classes=10):
    """Closed form: per stage a plain 3x3 conv, then layers with H (and T) 3x3 convs + biases."""
    total, cin = 0, in_channels
    for w, n in zip(widths, layers):
        total += 9 * cin * w + w + n * (2 if highway else 1) * (9 * w * w + w)
        cin = w
    return total + cin * head + head + head * num_classes + num_classes


def test_highway_19_count_is_pinned_and_rounds_to_the_papers():
    count = cnnpapers.count_parameters("highway_19")
    assert count == 2_256_838 == highway_parameters((32, 80, 128), (4, 5, 5))
    assert cnnpapers.model_info("highway_19").reported.params_match(count)  # "~2.3M"
    # the authors' file keeps a 100-way classifier on CIFAR-10 too: still ~2.3M
    assert cnnpapers.count_parameters("highway_19", num_classes=100) == 2_265_928


def test_plain_twin_has_the_same_layers_without_gates():
    count = cnnpapers.count_parameters("highway_19_plain")
    assert count == 1_193_526 == highway_parameters((32, 80, 128), (4, 5, 5), highway=False)
    model = cnnpapers.create_model("highway_19_plain")
    assert sum(isinstance(m, _PlainConv) for m in model.modules()) == 14
    assert not any(isinstance(m, _HighwayConv) for m in model.modules())


def test_depth_counts_19_layers_and_is_configurable():
    model = cnnpapers.create_model("highway_19")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m not in
             {h.gate for h in model.modules() if isinstance(h, _HighwayConv)}]
    assert model.depth == 19 == len(convs) + 1  # 18 weight layers on the main path + classifier
    deep = cnnpapers.create_model("highway_19", layers_per_stage=(16, 16, 16), in_channels=1)
    assert deep.depth == 53
    assert sum(isinstance(m, _HighwayConv) for m in deep.modules()) == 48


def test_layer_computes_eq_3():
    torch.manual_seed(0)
    layer = _HighwayConv(4)
    x = torch.randn(2, 4, 5, 5)
    h = torch.relu(layer.transform(x))
    t = torch.sigmoid(layer.gate(x))
    torch.testing.assert_close(layer(x), h * t + x * (1 - t))


def test_negative_gate_bias_makes_every_layer_start_by_carrying_its_input():
    model = cnnpapers.create_model("highway_19", transform_bias=-3.0)
    gates = [m.gate for m in model.modules() if isinstance(m, _HighwayConv)]
    assert len(gates) == 14
    assert all(torch.all(g.bias == -3.0) for g in gates)
    other_biases = [m.bias for m in model.modules()
                    if isinstance(m, (nn.Conv2d, nn.Linear)) and m not in gates]
    assert all(torch.all(b == 0) for b in other_biases)
    # with zero gate weights T = sigmoid(-3) everywhere: the layer is 95% carry
    layer = _HighwayConv(3)
    nn.init.zeros_(layer.gate.weight)
    nn.init.constant_(layer.gate.bias, -3.0)
    x = torch.randn(1, 3, 4, 4)
    t = torch.sigmoid(torch.tensor(-3.0))
    torch.testing.assert_close(layer(x), torch.relu(layer.transform(x)) * t + x * (1 - t))


def test_dropout_is_active_in_training_only():
    torch.manual_seed(0)
    model = cnnpapers.create_model("highway_19", in_channels=1)
    x = torch.randn(2, 1, 8, 8)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), model(x))


def test_reads_fashion_mnist_sized_input():
    model = cnnpapers.create_model("highway_19", in_channels=1).eval()
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize("kwargs,match", [
    (dict(layers_per_stage=(4, 5)), "layers_per_stage"),
    (dict(layers_per_stage=(4, -1, 5)), "layers_per_stage"),
    (dict(widths=()), "widths"),
    (dict(widths=(32, 0, 128)), "widths"),
    (dict(dropout=1.0), "dropout"),
    (dict(highway="yes"), "highway"),
    (dict(transform_bias="-2"), "transform_bias"),
    (dict(head_channels=0), "head_channels"),
])
def test_invalid_hyper_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HighwayNet(**kwargs)
