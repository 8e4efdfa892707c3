import inspect
import os
from pathlib import Path

import pytest
import torch
import torchvision

import cnnpapers
from cnnpapers.models.googlenet import (INCEPTION_TABLE, ConvReLU, GoogLeNet, GoogLeNetOutputs,
                                        Inception)
from cnnpapers.provenance import REPO_ROOT

NOTES = Path(os.environ.get("CNNPAPERS_NOTES", REPO_ROOT.parent / "shared" / "notes"))
NOTE_001_ARGS = ["in_channels", "ch1x1", "ch3x3red", "ch3x3", "ch5x5red", "ch5x5", "pool_proj"]


@pytest.mark.parametrize("aux_logits, transform_input", [(False, False), (True, True)])
def test_googlenet_is_torchvisions(aux_logits, transform_input):
    torch.manual_seed(0)
    ours = cnnpapers.create_model("googlenet", num_classes=10, aux_logits=aux_logits,
                                  transform_input=transform_input)
    theirs = torchvision.models.googlenet(num_classes=10, aux_logits=aux_logits,
                                          transform_input=transform_input, init_weights=False)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 3, 15, 15)
    assert torch.equal(ours.eval()(x), theirs.eval()(x))
    if aux_logits:  # training mode: (logits, aux2, aux1) with the same dropout masks
        ours.train(), theirs.train()
        x = torch.randn(2, 3, 64, 64)
        torch.manual_seed(1)
        a = ours(x)
        torch.manual_seed(1)
        b = theirs(x)
        assert isinstance(a, GoogLeNetOutputs)
        assert all(torch.equal(u, v) for u, v in zip(a, b))


def test_counts():
    count = cnnpapers.count_parameters
    meta = torchvision.models.GoogLeNet_Weights.IMAGENET1K_V1.meta
    assert count("googlenet") == meta["num_params"] == 6_624_904
    assert count("googlenet", aux_logits=True) == 13_004_888
    assert count("googlenet_paper") == 6_998_552
    assert count("googlenet_paper", aux_logits=True) == 13_378_280


def test_inception_block_is_the_notes_block():
    assert list(inspect.signature(Inception).parameters)[:7] == NOTE_001_ARGS
    block = Inception(192, 64, 96, 128, 16, 32, 32, conv_block=ConvReLU)  # 3a of Table 1
    assert block.out_channels == 256
    assert block.branch3[1].conv.kernel_size == (5, 5)
    # Table 1, 3a: 1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 | pool -> 1x1, weights + biases
    assert sum(p.numel() for p in block.parameters()) == (
        192 * 64 + 64 + 192 * 96 + 96 + 96 * 128 * 9 + 128
        + 192 * 16 + 16 + 16 * 32 * 25 + 32 + 192 * 32 + 32)
    assert block(torch.randn(1, 192, 7, 7)).shape == (1, 256, 7, 7)


def test_notes_show_the_same_signature():
    notes = sorted(NOTES.glob("001_*.txt"))
    if not notes:
        pytest.skip(f"notes not found under {NOTES} (set CNNPAPERS_NOTES)")
    text = notes[0].read_text()
    assert "class Inception(nn.Module)" in text
    assert "in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red," in text
    assert "kernel_size=5, padding=2" in text  # the notes' 5x5 branch, as in googlenet_paper


def test_torchvision_5x5_branch_is_a_3x3():
    with torch.device("meta"):
        tv, paper = (cnnpapers.create_model(n) for n in ("googlenet", "googlenet_paper"))
    for name in INCEPTION_TABLE:
        key = f"inception{name}"
        assert getattr(tv, key).branch3[1].conv.kernel_size == (3, 3)
        assert getattr(paper, key).branch3[1].conv.kernel_size == (5, 5)


@torch.no_grad()
def test_table_1_output_sizes_at_224():
    model = cnnpapers.create_model("googlenet_paper").eval()
    sizes = {}
    for name, module in model.named_children():
        if name.startswith(("maxpool", "inception")):
            module.register_forward_hook(
                lambda m, i, o, name=name: sizes.__setitem__(name, o.shape[1:]))
    model(torch.randn(1, 3, 224, 224))
    assert sizes["maxpool1"] == (64, 56, 56) and sizes["maxpool2"] == (192, 28, 28)
    assert sizes["maxpool3"] == (480, 14, 14) and sizes["maxpool4"] == (832, 7, 7)
    depths = {"3a": 256, "3b": 480, "4a": 512, "4b": 512, "4c": 512, "4d": 528, "4e": 832,
              "5a": 832, "5b": 1024}
    assert {k: sizes[f"inception{k}"][0] for k in depths} == depths


def test_twelve_times_fewer_than_alexnet_does_not_hold():
    count = cnnpapers.count_parameters
    ratio = count("alexnet_paper") / count("googlenet_paper")
    assert 8 < ratio < 9  # the paper says 12x (Section 1); recorded in the card's remark
    assert "ratio is below 9" in cnnpapers.model_info("googlenet_paper").reported.remark


def test_auxiliary_heads_train_and_vanish_in_eval():
    model = GoogLeNet(num_classes=5, in_channels=1, aux_logits=True)
    out = model(torch.randn(2, 1, 32, 32))
    assert isinstance(out, GoogLeNetOutputs) and all(o.shape == (2, 5) for o in out)
    sum(o.sum() for o in out).backward()
    assert all(p.grad is not None for p in model.parameters())
    assert isinstance(model.eval()(torch.randn(1, 1, 32, 32)), torch.Tensor)


def test_paper_auxiliary_heads_need_79_pixels():
    with torch.device("meta"):
        model = GoogLeNet(num_classes=5, aux_logits=True, paper_exact=True).train()
        assert [o.shape for o in model(torch.empty(2, 3, 79, 79))] == [(2, 5)] * 3
        with pytest.raises(RuntimeError):
            model(torch.empty(2, 3, 78, 78))


@pytest.mark.parametrize("name", ["googlenet", "googlenet_paper"])
def test_min_input_size_is_the_smallest(name):
    s = cnnpapers.model_info(name).min_input_size
    model = GoogLeNet(num_classes=7, in_channels=1, paper_exact=name == "googlenet_paper").eval()
    assert model(torch.randn(1, 1, s, s)).shape == (1, 7)
    with pytest.raises(RuntimeError):
        model(torch.randn(1, 1, s - 1, s - 1))


@pytest.mark.parametrize("kwargs", [{"transform_input": True, "in_channels": 1},
                                    {"dropout": 1.0}, {"dropout_aux": -0.5}, {"num_classes": 0}])
def test_invalid_hyper_parameters(kwargs):
    with pytest.raises(ValueError):
        GoogLeNet(**kwargs)


@pytest.mark.parametrize("args, kwargs", [
    ((192, 64, 96, 128, 16, 32, 0), {}),
    ((192, 64, 96, 128, 16, 32, 32), {"ch5x5_kernel_size": 7}),
])
def test_invalid_inception_arguments(args, kwargs):
    with pytest.raises(ValueError):
        Inception(*args, **kwargs)
