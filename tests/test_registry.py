"""Registry-wide checks: every variant has a complete card and trains at its smallest input."""

import inspect

import pytest
import torch

import cnnpapers
from cnnpapers.registry import Category, parse_hyper_parameters, suggest

ALL = cnnpapers.list_models()


def test_registry_is_populated():
    assert len(ALL) >= 2


@pytest.mark.parametrize("name", ALL)
def test_card_is_complete(name):
    card = cnnpapers.model_info(name)
    assert card.paper.title and card.paper.year
    assert isinstance(card.category, Category)
    assert card.input_size[1] >= card.min_input_size
    if card.reported is not None:
        assert card.reported.source, "a quoted number must say where it is printed"


@pytest.mark.parametrize("name", ALL)
def test_forward_backward_at_min_input(name):
    torch.manual_seed(0)
    card = cnnpapers.model_info(name)
    model = cnnpapers.create_model(name, num_classes=7, in_channels=1)
    x = torch.randn(2, 1, card.min_input_size, card.min_input_size)
    out = model(x)
    out = out[0] if isinstance(out, tuple) else out  # auxiliary heads return tuples in training
    assert out.shape == (2, 7)
    out.sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)


@pytest.mark.parametrize("name", ALL)
def test_rejects_input_below_min_size(name):
    card = cnnpapers.model_info(name)
    model = cnnpapers.create_model(name, num_classes=7, in_channels=1).eval()
    small = card.min_input_size - 1
    with pytest.raises(ValueError, match=f"H, W >= {card.min_input_size}"):
        model(torch.randn(1, 1, small, small))


def test_unknown_model_names_the_fix():
    with pytest.raises(ValueError, match="list_models"):
        cnnpapers.create_model("no_such_net")


def test_unknown_hyper_parameter_lists_valid_ones():
    with pytest.raises(ValueError, match="valid ones"):
        cnnpapers.create_model(ALL[0], not_a_parameter=3)


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_invalid_num_classes(bad):
    with pytest.raises(ValueError, match="num_classes"):
        cnnpapers.create_model(ALL[0], num_classes=bad)


def test_wrong_channel_count_is_a_clear_error():
    model = cnnpapers.create_model("lenet5")
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        model(torch.randn(1, 3, 32, 32))


def test_list_models_filters():
    assert cnnpapers.list_models("lenet*") == ["lenet5", "lenet5_relu"]
    assert set(cnnpapers.list_models(category="Spatial exploitation")) >= {"lenet5"}
    with pytest.raises(ValueError, match="choose one of"):
        cnnpapers.list_models(category="nonsense")


def test_duplicate_registration_is_refused():
    from cnnpapers.models.lenet import LeNet5
    from cnnpapers.registry import register_model

    with pytest.raises(ValueError, match="twice"):
        register_model("lenet5", LeNet5, paper="lecun1998", category=Category.SPATIAL,
                       input_size=(1, 32, 32), num_classes=10, min_input_size=32)


# --------------------------------------------------------------------------- names and text


@pytest.mark.parametrize("typo, meant", [
    ("densnet_bc_100_k12", "densenet_bc_100_k12"),  # a letter missing: edit distance
    ("LeNet5", "lenet5"),  # case
    ("resnet-50", "resnet50"),  # separators
    ("se-resnet-50", "se_resnet50"),
    ("RESNET20_CIFAR", "resnet20_cifar"),
])
def test_suggestions_find_the_model_meant(typo, meant):
    assert suggest(typo, ALL)[0] == meant
    with pytest.raises(ValueError, match=f"Did you mean '{meant}'"):
        cnnpapers.model_info(typo)


def test_suggestions_find_a_name_inside_another_and_nothing_for_nonsense():
    assert suggest("mnist", ["fashion-mnist", "cifar10", "cifar100", "svhn"]) == ["fashion-mnist"]
    assert suggest("qqqqqq", ALL) == []


@pytest.mark.parametrize("text, value", [("false", False), ("No", False), ("0", False),
                                         ("TRUE", True), ("yes", True), ("1", True)])
def test_boolean_hyper_parameters_from_text(text, value):
    assert parse_hyper_parameters("resnet20_cifar", {"shortcuts": text}) == {"shortcuts": value}


def test_shortcuts_false_from_text_builds_the_plain_net():
    from cnnpapers.models.resnet import BasicBlock, PlainBlock

    kwargs = parse_hyper_parameters("resnet20_cifar", {"shortcuts": "false"})
    blocks = [m for m in cnnpapers.create_model("resnet20_cifar", **kwargs).modules()
              if isinstance(m, BasicBlock)]
    assert blocks and all(isinstance(b, PlainBlock) for b in blocks)


def test_attention_by_name_builds_its_module_on_every_branch():
    from cnnpapers.models.attention import CBAM, SqueezeExcitation

    for name, module in (("se", SqueezeExcitation), ("CBAM", CBAM)):
        kwargs = parse_hyper_parameters("resnet20_cifar", {"attention": name})
        model = cnnpapers.create_model("resnet20_cifar", **kwargs)
        assert sum(isinstance(m, module) for m in model.modules()) == 9  # 3 stages x 3 blocks
    assert parse_hyper_parameters("resnet20_cifar", {"attention": "none"}) == {"attention": None}


def test_tuples_numbers_and_none_from_text():
    assert parse_hyper_parameters("densenet121", {
        "block_config": "(6, 12, 24, 16)", "drop_rate": "0.2", "growth_rate": "32",
    }) == {"block_config": (6, 12, 24, 16), "drop_rate": 0.2, "growth_rate": 32}
    assert parse_hyper_parameters("densenet_40_k12", {"num_init_features": "none"}) == {
        "num_init_features": None}
    assert parse_hyper_parameters("inception_resnet_v2", {"residual_scales": "0.1,0.1,0.2"}) == {
        "residual_scales": (0.1, 0.1, 0.2)}


@pytest.mark.parametrize("name, texts, message", [
    ("resnet20_cifar", {"shortcuts": "maybe"}, "shortcuts takes true or false"),
    ("resnet20_cifar", {"network_depth": "2.5"}, "network_depth takes an integer"),
    ("resnet20_cifar", {"attention": "softmax"},
     r"attention takes one of \['cbam', 'se'\] or none"),
    ("inception_resnet_v2", {"blocks": "5,10"}, "blocks takes 3 integers separated by commas"),
    ("densenet121", {"growth": "12"},
     r"no hyper-parameter \['growth'\].*Did you mean 'growth_rate'"),
])
def test_hyper_parameter_text_of_the_wrong_type_names_the_type(name, texts, message):
    with pytest.raises(ValueError, match=message):
        parse_hyper_parameters(name, texts)


def _as_text(value):
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return "none" if value is None else str(value)


@pytest.mark.parametrize("name", ALL)
def test_every_default_hyper_parameter_reads_back_from_its_text(name):
    """Every factory annotates what it takes, so each default spelled as text parses back to
    itself (modules, given by name, are tested above)."""
    from cnnpapers.registry import _variant

    variant = _variant(name)
    signature = inspect.signature(variant.factory).parameters
    defaults = {k: signature[k].default for k in variant.hyper_parameters()
                if signature[k].default is not inspect.Parameter.empty}
    defaults.update(variant.defaults)
    texts = {k: _as_text(v) for k, v in defaults.items() if not callable(v)}
    assert parse_hyper_parameters(name, texts) == {k: defaults[k] for k in texts}
