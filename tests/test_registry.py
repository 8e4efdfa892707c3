"""Registry-wide checks: every variant has a complete card and trains at its smallest input."""

import pytest
import torch

import cnnpapers
from cnnpapers.registry import Category

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
