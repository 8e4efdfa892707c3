"""Structure and sanity of throughput measurements; no timed assertions (machines are noisy)."""

import pytest
import torch
from torch import nn

from cnnpapers.analysis import throughput
from cnnpapers.analysis.plots import figure_texts


def small_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))


def test_time_call_counts_warmup_repeats_and_iters():
    calls = []
    times = throughput.time_call(lambda: calls.append(1), warmup=2, repeats=3, iters=4)
    assert len(times) == 3 and len(calls) == 2 + 3 * 4 and all(t >= 0 for t in times)
    with pytest.raises(ValueError):
        throughput.time_call(lambda: None, repeats=0)


@pytest.mark.parametrize("mode", ["inference", "train"])
def test_measurement_leaves_the_model_as_it_was(mode):
    model = small_cnn().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = throughput.measure_throughput(model, (3, 8, 8), batch_size=2, mode=mode,
                                           channels_last=True, warmup=1, repeats=3)
    assert result.mode == mode and len(result.seconds_per_batch) == 3
    assert result.images_per_s > 0
    spread = result.spread()
    assert spread["images_per_s_min"] <= result.images_per_s <= spread["images_per_s_max"]
    assert model.training and all(p.grad is None for p in model.parameters())
    assert model[0].weight.is_contiguous()  # memory format restored
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k  # lr-0 step, BN statistics restored


def test_autocast_dtype_is_recorded():
    result = throughput.measure_throughput(small_cnn(), (3, 8, 8), batch_size=2, mode="train",
                                           dtype=torch.bfloat16, warmup=0, repeats=1)
    assert result.dtype == "bfloat16"


def test_unknown_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="mode"):
        throughput.measure_throughput(small_cnn(), (3, 8, 8), mode="serve")


def test_table_and_plot():
    models = {"a": small_cnn(), "b": nn.Sequential(small_cnn(), nn.Identity())}
    frame = throughput.throughput_table(models, (3, 8, 8), batch_size=2, warmup=1, repeats=2)
    assert list(frame["model"]) == ["a", "a", "b", "b"]
    assert list(frame["mode"]) == ["inference", "train"] * 2
    assert (frame["images_per_s"] > 0).all()
    fig = throughput.plot_throughput(frame, caption="budget smoke · cpu")
    texts = figure_texts(fig)
    assert "budget smoke · cpu" in texts and any("images per second" in t for t in texts)
