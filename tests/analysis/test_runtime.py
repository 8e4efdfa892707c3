"""Structure and sanity of the runtime instruments; no timed assertions (machines are noisy)."""

import math
import os

import pytest
import torch
from torch import nn

from cnnpapers.analysis import runtime
from cnnpapers.analysis.plots import figure_texts

TINY = runtime.BenchmarkSize(spatial=7, batch_size=1, widths=(1,), repeats=1, iters=1, warmup=0)


def test_categories_of_operators():
    assert runtime.categorize("aten::conv2d") == "convolution"
    assert runtime.categorize("aten::linear") == "convolution"
    assert runtime.categorize("aten::batch_norm") == "elementwise"
    assert runtime.categorize("aten::relu_") == "elementwise"
    assert runtime.categorize("aten::add") == "elementwise"
    for op in ("cat", "transpose", "contiguous", "chunk", "split", "view"):
        assert runtime.categorize(f"aten::{op}") == "data movement"
    assert runtime.categorize("aten::max_pool2d") == "other"


class ShuffleUnit(nn.Module):
    """Split, conv branch, concat, channel shuffle: each category appears."""

    def __init__(self, c: int = 8):
        super().__init__()
        self.branch = nn.Sequential(nn.Conv2d(c // 2, c // 2, 1), nn.BatchNorm2d(c // 2), nn.ReLU())

    def forward(self, x):
        a, b = x.chunk(2, dim=1)
        out = torch.cat([a, self.branch(b)], 1)
        n, c, h, w = out.shape
        return out.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


def test_runtime_breakdown_counts_top_level_operators_per_pass():
    model = nn.Sequential(ShuffleUnit(), ShuffleUnit(), nn.AdaptiveAvgPool2d(1))
    result = runtime.runtime_breakdown(model, torch.randn(1, 8, 8, 8), repeats=2, warmup=1)
    ops = result.ops.set_index("op")
    assert ops.loc["aten::conv2d", "calls"] == 2
    assert ops.loc["aten::cat", "calls"] == 2
    assert ops.loc["aten::cat", "category"] == "data movement"
    assert ops.loc["aten::batch_norm", "category"] == "elementwise"
    assert "aten::mkldnn_convolution" not in ops.index  # children are inside conv2d's time
    cats = result.categories()
    assert list(cats["category"]) == list(runtime.CATEGORIES)
    assert cats["share"].sum() == pytest.approx(1.0)
    assert (cats["time_ms"] > 0).all()
    assert model.training  # mode restored
    fig = runtime.plot_runtime_breakdown({"shuffle units": result}, caption="budget smoke · cpu")
    assert "budget smoke · cpu" in figure_texts(fig)


def test_g1_channels_reproduce_table_1():
    pairs = [runtime.g1_channels(r) for r in (1, 2, 6, 12)]
    assert pairs == [(128, 128), (90, 180), (52, 312), (36, 432)]


def test_g2_channels_reproduce_table_2():
    assert [runtime.g2_channels(g) for g in (1, 2, 4, 8)] == [128, 180, 256, 360]


def test_conv1x1_memory_access_is_shufflenet_v2_eq_1():
    # MAC = hw(c1 + c2) + c1·c2: 4·4·(2 + 3) + 6
    assert runtime.conv1x1_memory_access(4, 4, 2, 3) == 86
    assert runtime.conv1x1_memory_access(4, 4, 4, 8, groups=4) == 16 * 12 + 8


def check_speed_columns(table):
    assert (table["batches_per_s"] > 0).all() and table["batches_per_s"].map(math.isfinite).all()
    assert (table["ms_min"] <= table["ms_per_batch"]).all()
    assert (table["ms_per_batch"] <= table["ms_max"]).all()
    assert (table["spatial"] == TINY.spatial).all()


def test_g1_table():
    table = runtime.guideline_g1(size=TINY)
    assert list(table["setting"]) == ["1:1", "1:2", "1:6", "1:12"]
    assert (table["macs"] / table["macs"].iloc[0]).between(0.94, 1.0).all()  # ~constant FLOPs
    assert table["mem_access"].idxmin() == 0  # equal widths minimise memory access (G1)
    check_speed_columns(table)


def test_g2_table():
    table = runtime.guideline_g2(size=TINY)
    assert list(table["groups"]) == [1, 2, 4, 8]
    assert (table["macs"] / table["macs"].iloc[0]).between(0.98, 1.0).all()
    assert table["mem_access"].is_monotonic_increasing  # more groups, more memory access (G2)
    check_speed_columns(table)


def test_g3_table():
    table = runtime.guideline_g3(size=TINY)
    assert list(table["setting"]) == ["1-fragment", "2-fragment-series", "4-fragment-series",
                                      "2-fragment-parallel", "4-fragment-parallel"]
    assert (table["macs"] / table["macs"].iloc[0]).between(0.98, 1.02).all()
    check_speed_columns(table)


def test_g4_table_and_plot():
    table = runtime.guideline_g4(size=TINY)
    assert len(table) == 3 * 4
    assert (table.groupby("c")["macs"].nunique() == 1).all()  # ReLU/shortcut add no MACs
    check_speed_columns(table)
    fig = runtime.plot_guideline(table, caption="budget smoke · cpu")
    texts = figure_texts(fig)
    assert "budget smoke · cpu" in texts and any("batches per second" in t for t in texts)


def test_benchmark_sizes_follow_the_budget():
    assert runtime.benchmark_size("cpu").spatial == 56  # the paper's 56x56 input
    assert runtime.benchmark_size("gpu").widths == (1, 2, 4)
    assert runtime.benchmark_size("smoke").spatial < 56


def test_profiler_native_logging_is_silenced_and_stderr_restored(capfd):
    with runtime._native_stderr_silenced():
        os.write(2, b"hidden\n")
    os.write(2, b"shown\n")
    err = capfd.readouterr().err
    assert "hidden" not in err and "shown" in err
