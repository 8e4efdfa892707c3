import os
from pathlib import Path

import pytest
import torch
import torchvision

import cnnpapers
from cnnpapers.models.alexnet import AlexNet, AlexNet2012, GroupedLocalResponseNorm
from cnnpapers.provenance import REPO_ROOT

NOTES = Path(os.environ.get("CNNPAPERS_NOTES", REPO_ROOT.parent / "shared" / "notes"))


def _weighted_layer_counts(model):
    layers = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    return [sum(p.numel() for p in m.parameters()) for m in layers]


def test_alexnet_is_torchvisions():
    torch.manual_seed(0)
    ours = cnnpapers.create_model("alexnet", num_classes=10)
    theirs = torchvision.models.alexnet(num_classes=10)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 3, 63, 63)
    assert torch.equal(ours.eval()(x), theirs.eval()(x))
    meta = torchvision.models.AlexNet_Weights.IMAGENET1K_V1.meta
    assert cnnpapers.count_parameters("alexnet") == meta["num_params"] == 61_100_840


def test_paper_alexnet_counts_layer_by_layer():
    with torch.device("meta"):
        model = AlexNet2012()
    # weights + biases of conv1..conv5 (conv2, 4, 5 see half the input maps) and fc6..fc8
    assert _weighted_layer_counts(model) == [
        96 * 3 * 11 * 11 + 96,
        256 * 48 * 5 * 5 + 256,
        384 * 256 * 3 * 3 + 384,
        384 * 192 * 3 * 3 + 384,
        256 * 192 * 3 * 3 + 256,
        9216 * 4096 + 4096,
        4096 * 4096 + 4096,
        4096 * 1000 + 1000,
    ]
    assert cnnpapers.count_parameters("alexnet_paper") == 60_965_224


def test_two_gpu_split_saves_half_of_conv2_conv4_conv5():
    dense = cnnpapers.count_parameters("alexnet_paper", groups=1)
    grouped = cnnpapers.count_parameters("alexnet_paper")
    assert dense - grouped == (256 * 96 * 25 + 384 * 384 * 9 + 256 * 384 * 9) // 2


def test_printed_60_million_is_a_round_figure():
    reported = cnnpapers.model_info("alexnet_paper").reported
    count = cnnpapers.count_parameters("alexnet_paper")
    assert reported.params == "60"
    assert not reported.params_match(count)  # 60.97 M rounds to 61, not 60 (see the remark)
    assert abs(count - reported.params_count) / reported.params_count < 0.02


def test_grouped_conv2_reads_only_its_own_gpu():
    conv2 = AlexNet2012().features[4]
    assert conv2.groups == 2 and conv2.kernel_size == (5, 5)
    x = torch.randn(1, 96, 9, 9, requires_grad=True)
    out = conv2(x)
    for j, own in ((0, range(0, 48)), (255, range(48, 96))):
        (grad,) = torch.autograd.grad(out[0, j].sum(), x, retain_graph=True)
        touched = {c for c in range(96) if grad[0, c].abs().sum() > 0}
        assert touched == set(own)


def test_lrn_is_section_3_3_formula():
    a = torch.randn(1, 8, 3, 3)
    k, n, alpha, beta = 2.0, 5, 1e-4, 0.75
    expected = torch.empty_like(a)
    for i in range(8):
        lo, hi = max(0, i - n // 2), min(7, i + n // 2)
        expected[:, i] = a[:, i] / (k + alpha * (a[:, lo:hi + 1] ** 2).sum(1)) ** beta
    torch.testing.assert_close(GroupedLocalResponseNorm()(a), expected)


def test_lrn_window_stops_at_the_gpu_split():
    a = torch.ones(1, 96, 2, 2)
    b = a.clone()
    b[:, 48:] = 100.0  # the second GPU's maps
    split, whole = GroupedLocalResponseNorm(groups=2), GroupedLocalResponseNorm()
    assert torch.equal(split(a)[:, :48], split(b)[:, :48])
    assert not torch.equal(whole(a)[:, :48], whole(b)[:, :48])


@torch.no_grad()
def test_fig_2_map_sizes_at_227():
    model = AlexNet2012().eval()
    x = torch.randn(1, 3, 227, 227)
    sizes = []
    for layer in model.features:
        x = layer(x)
        if isinstance(layer, torch.nn.Conv2d):
            sizes.append(tuple(x.shape[1:]))
    assert sizes == [(96, 55, 55), (256, 27, 27), (384, 13, 13), (384, 13, 13), (256, 13, 13)]
    assert x.shape[1:] == (256, 6, 6)


@pytest.mark.parametrize("name", ["alexnet", "alexnet_paper"])
def test_min_input_size_is_the_smallest(name):
    card = cnnpapers.model_info(name)
    model = {"alexnet": AlexNet, "alexnet_paper": AlexNet2012}[name](num_classes=7, in_channels=1)
    s = card.min_input_size
    assert model(torch.randn(1, 1, s, s)).shape == (1, 7)
    with pytest.raises(RuntimeError):
        model(torch.randn(1, 1, s - 1, s - 1))


def test_group_convolution_history_is_quoted_from_note_000():
    notes = sorted(NOTES.glob("000_*.txt"))
    if not notes:
        pytest.skip(f"notes not found under {NOTES} (set CNNPAPERS_NOTES)")
    quote = "最早出现于AlexNet中，无法在单块GPU上运行"
    assert quote in notes[0].read_text() and quote in AlexNet2012.__doc__


@pytest.mark.parametrize("kwargs", [{"groups": 3}, {"groups": 0}, {"dropout": 1.0},
                                    {"dropout": -0.1}, {"in_channels": 0}])
def test_invalid_hyper_parameters(kwargs):
    with pytest.raises(ValueError):
        AlexNet2012(**kwargs)


def test_invalid_torchvision_form_dropout():
    with pytest.raises(ValueError, match="dropout"):
        cnnpapers.create_model("alexnet", dropout=2)
