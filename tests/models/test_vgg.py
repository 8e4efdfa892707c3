import pytest
import torch
import torchvision

import cnnpapers
from cnnpapers.models.vgg import CONFIGS, VGG

NAMES = ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]
COUNTS = {
    "vgg11": 132_863_336, "vgg11_bn": 132_868_840, "vgg13": 133_047_848,
    "vgg13_bn": 133_053_736, "vgg16": 138_357_544, "vgg16_bn": 138_365_992,
    "vgg19": 143_667_240, "vgg19_bn": 143_678_248,
}


def _torchvision_weights(name):
    return getattr(torchvision.models, f"{name.upper()}_Weights").IMAGENET1K_V1


def test_registered_variants():
    assert cnnpapers.list_models("vgg*") == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_counts_match_torchvision_and_table_2(name):
    count = cnnpapers.count_parameters(name)
    assert count == COUNTS[name] == _torchvision_weights(name).meta["num_params"]
    assert cnnpapers.model_info(name).reported.params_match(count)  # 133 / 133 / 138 / 144 M


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_names_and_shapes_match_torchvision(name):
    with torch.device("meta"):
        ours = cnnpapers.create_model(name)
        theirs = getattr(torchvision.models, name)(init_weights=False)
    ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
           {k: v.shape for k, v in theirs.state_dict().items()}


@pytest.mark.parametrize("name", ["vgg11", "vgg11_bn"])
def test_outputs_equal_torchvision(name):
    torch.manual_seed(0)
    ours = cnnpapers.create_model(name, num_classes=10)
    theirs = getattr(torchvision.models, name)(num_classes=10, init_weights=False)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(ours.eval()(x), theirs.eval()(x))


def test_table_1_weight_layers():
    for config, depth in {"A": 11, "B": 13, "D": 16, "E": 19}.items():
        convs = sum(1 for w in CONFIGS[config] if w != "M")
        assert convs + 3 == depth == cnnpapers.model_info(f"vgg{depth}").depth


def test_table_3_quotes():
    quoted = []
    for name in ("vgg11", "vgg13", "vgg16", "vgg19"):
        errors = cnnpapers.model_info(name).reported.errors
        quoted.append((errors["ILSVRC-2012 val top-1"], errors["ILSVRC-2012 val top-5"]))
    assert quoted == [(29.6, 10.4), (28.7, 9.9), (27.0, 8.8), (27.3, 9.0)]
    assert cnnpapers.model_info("vgg16_bn").reported.errors == {}  # the paper trained no BN net


def test_min_input_size_is_the_smallest():
    model = VGG(num_classes=7, in_channels=1, config="A").eval()
    assert model(torch.randn(1, 1, 32, 32)).shape == (1, 7)
    with pytest.raises(RuntimeError):
        model(torch.randn(1, 1, 31, 31))


@pytest.mark.parametrize("kwargs", [{"config": "C"}, {"config": 16}, {"dropout": 1.5},
                                    {"num_classes": 0}])
def test_invalid_hyper_parameters(kwargs):
    with pytest.raises(ValueError):
        with torch.device("meta"):
            VGG(**kwargs)
