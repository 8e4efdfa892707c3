import pytest
import torch

import cnnpapers
from cnnpapers.models.zfnet import ZFNet


@torch.no_grad()
def test_fig_3_map_sizes_at_224():
    model = ZFNet().eval()
    x = torch.randn(1, 3, 224, 224)
    sizes = []
    for layer in model.features:
        x = layer(x)
        if isinstance(layer, (torch.nn.Conv2d, torch.nn.MaxPool2d)):
            sizes.append(tuple(x.shape[1:]))
    assert sizes == [
        (96, 110, 110), (96, 55, 55),     # layer 1: 7x7/2 conv, 3x3/2 pool
        (256, 26, 26), (256, 13, 13),     # layer 2: 5x5/2 conv, 3x3/2 pool
        (384, 13, 13), (384, 13, 13), (256, 13, 13), (256, 6, 6),  # layers 3-5 and pool
    ]


def test_parameter_count_layer_by_layer():
    with torch.device("meta"):
        model = ZFNet()
    layers = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    counts = [sum(p.numel() for p in m.parameters()) for m in layers]
    assert counts == [
        96 * 3 * 7 * 7 + 96, 256 * 96 * 5 * 5 + 256,
        384 * 256 * 9 + 384, 384 * 384 * 9 + 384, 256 * 384 * 9 + 256,  # dense, not grouped
        9216 * 4096 + 4096, 4096 * 4096 + 4096, 4096 * 1000 + 1000,
    ]
    assert cnnpapers.count_parameters("zfnet") == 62_357_608


def test_smaller_first_layer_than_alexnet():
    zf, alex = ZFNet().features[0], cnnpapers.create_model("alexnet_paper").features[0]
    assert (zf.kernel_size, zf.stride) == ((7, 7), (2, 2))
    assert (alex.kernel_size, alex.stride) == ((11, 11), (4, 4))


def test_card_quotes_table_2():
    reported = cnnpapers.model_info("zfnet").reported
    assert reported.params is None
    assert reported.errors == {"ILSVRC-2012 val top-1": 38.4, "ILSVRC-2012 val top-5": 16.5}
    with pytest.raises(ValueError, match="no reported parameter count"):
        reported.params_match(62_357_608)


def test_min_input_size_is_the_smallest():
    s = cnnpapers.model_info("zfnet").min_input_size
    model = ZFNet(num_classes=7, in_channels=1)
    assert model(torch.randn(1, 1, s, s)).shape == (1, 7)
    with pytest.raises(RuntimeError):
        model(torch.randn(1, 1, s - 1, s - 1))


@pytest.mark.parametrize("kwargs", [{"dropout": 1.0}, {"num_classes": 0}, {"in_channels": -3}])
def test_invalid_hyper_parameters(kwargs):
    with pytest.raises(ValueError):
        ZFNet(**kwargs)
