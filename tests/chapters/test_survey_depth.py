import math

import pandas as pd
import pytest
import torch

import cnnpapers
from cnnpapers import experiments
from cnnpapers.chapters import survey_attention as sa
from cnnpapers.chapters import survey_depth as sd
from cnnpapers.experiments.survey_depth import ARCHS, HIGHWAY_SHAPE, plan
from cnnpapers.results import Result

CPU_MINUTES_FOR_BOTH_CHAPTERS = 50  # the brief's budget for survey_depth + survey_attention


def fake(seed, train, test, params=100):
    return Result("t/x", {"seed": seed, "budget": "cpu"},
                  {"train_error": train, "test_error": test, "parameters": params,
                   "train_images": 5120, "test_images": 2000, "batch_size": 128, "epochs": 8},
                  {"epoch": [8]})


def test_the_note_block_is_torchvisions():
    p = sd.block_parity()
    assert p.same_state_dict_keys and p.arguments_in_order
    assert p.max_abs_difference <= 1e-6


def test_signature_table_lists_the_note_arguments_first():
    t = sd.block_signature_table()
    assert list(t["argument"][:8]) == ["inplanes", "planes", "stride", "downsample", "groups",
                                      "base_width", "dilation", "norm_layer"]
    assert t.set_index("argument").loc["attention", "note 001 / torchvision default"] == "(absent)"


def test_block_shapes_and_parameters():
    t = sd.block_shapes(channels=16, size=28).set_index("block")
    assert t.iloc[0]["output (N, C, H, W)"] == "(2, 16, 28, 28)"
    assert set(t.iloc[1:]["output (N, C, H, W)"]) == {"(2, 32, 14, 14)"}
    two_convs = 9 * 16 * 32 + 9 * 32 * 32 + 2 * 2 * 32  # conv1, conv2, two BNs (16 -> 32)
    assert list(t["parameters"][1:]) == [two_convs, two_convs + 16 * 32 + 2 * 32, two_convs]


def test_gap_and_final_table_read_the_last_epoch():
    runs = {"plain20": [fake(0, 0.10, 0.12)], "plain56": [fake(0, 0.14, 0.15)]}
    g = sd.gap(runs, "plain56", "plain20")
    assert g.diff == pytest.approx(0.04) and g.above
    assert g.margin == pytest.approx(2 * math.sqrt((0.14 * 0.86 + 0.10 * 0.90) / 5120))
    t = sd.final_table(runs, ["plain20", "plain56"]).set_index("net")
    assert t.loc["plain56", "final training error (%)"] == pytest.approx(14.0)
    assert t.loc["plain20", "depth"] == 20
    assert "+4.00 points" in sd.describe_gap("plain56", "plain20", g)


def test_gradient_spread_is_the_ratio_of_geometric_means_of_the_outer_thirds():
    norms = [8.0, 2.0, 4.0, 4.0, 1.0, 1.0, 123.0]  # the last row is the classifier: left out
    frame = pd.DataFrame({"model": "m", "depth": range(1, 8), "weight_grad_norm": norms})
    row = sd.gradient_spread(frame).iloc[0]
    assert row["layers"] == 6
    assert row["input-side third"] == pytest.approx(4.0)  # sqrt(8 * 2)
    assert row["ratio"] == pytest.approx(4.0) and row["orders"] == pytest.approx(math.log10(4))


def test_gradient_flow_at_init_covers_every_weighted_layer():
    frame = sd.gradient_flow_at_init(["resnet20"], n=16)
    assert len(frame) == 20 and frame["weight_grad_norm"].gt(0).all()


def small_highway(**overrides):
    torch.manual_seed(0)
    return cnnpapers.create_model("highway_19", num_classes=3, in_channels=1, widths=(4, 6),
                                  layers_per_stage=(2, 1), dropout=0.0, **overrides)


def test_gate_equation_check_can_fail():
    model, x = small_highway(), torch.randn(2, 1, 6, 6)
    assert sd.gate_equation_error(model, x) < 1e-6
    name, layer = sd.highway_layers(model)[0]
    layer.forward = lambda inp: torch.relu(layer.transform(inp))  # a plain layer in disguise
    assert sd.gate_equation_error(model, x) > 1e-3


def test_gate_statistics_at_a_known_gate():
    model = small_highway(transform_bias=-2.0)
    with torch.no_grad():
        for _, layer in sd.highway_layers(model):
            layer.gate.weight.zero_()  # T = sigmoid(b_T) everywhere
    stats = sd.gate_statistics(model, torch.randn(2, 1, 6, 6))
    t = 1 / (1 + math.exp(2.0))
    assert stats["mean T"].tolist() == pytest.approx([t, t, t], abs=1e-6)
    assert stats["carry product in stage"].tolist() == pytest.approx([1 - t, (1 - t) ** 2, 1 - t])
    assert stats["stage"].tolist() == [1, 1, 2] and (stats["saturated share"] == 0).all()
    summary = sd.gate_summary(stats)
    assert summary["highway layers"].tolist() == [2, 1]
    assert summary["carry product through the stage"].tolist() == pytest.approx([(1 - t) ** 2, 1 - t])


def test_gate_gradient_ratio_pairs_gate_and_transform():
    probe = pd.DataFrame({
        "model": "highway32", "seed": 0, "step": [0, 0, 0, 0],
        "layer": ["s.1.transform", "s.1.gate", "s.2.transform", "s.2.gate"],
        "weight_grad_norm": [2.0, 1.0, 4.0, 4.0]})
    ratio = sd.gate_gradient_ratio(probe)
    assert ratio["median gate/transform gradient ratio"].tolist() == [pytest.approx(0.75)]


def test_highway32_is_resnet56_sized():
    t = sd.cost_table(["resnet56", "highway32", "highway32_plain"]).set_index("net")
    stage = lambda c_in, w: 9 * c_in * w + w + 9 * 2 * (9 * w * w + w)  # plain conv + 9 layers
    head = 64 * 100 + 100 + 100 * 10 + 10
    assert t.loc["highway32", "parameters"] == stage(1, 16) + stage(16, 32) + stage(32, 64) + head
    assert t.loc["resnet56", "parameters"] == cnnpapers.count_parameters(
        "resnet56_cifar", num_classes=10, in_channels=1)
    assert abs(t.loc["highway32", "parameters"] / t.loc["resnet56", "parameters"] - 1) < 0.07
    assert abs(t.loc["highway32", "MMACs per image"] / t.loc["resnet56", "MMACs per image"] - 1) < 0.05
    assert t.loc["highway32", "depth (paper's count)"] == 32 == 3 + 27 + 2


def test_experiments_are_declared_for_every_budget():
    for budget in ("smoke", "cpu", "gpu"):
        todo = experiments.experiments(budget, "survey_depth")
        assert len(todo) == len(ARCHS) * len(plan(budget).seeds)
        assert len({e.name for e in todo}) == len(todo)
        assert all(e.config.resolved_schedule().name == "resnet-cifar" for e in todo)
        assert all(e.probes == ("gradient_flow",) for e in todo)
    hw = experiments.get("cpu", "survey_depth/highway32/seed0").config
    assert hw.model_kwargs == HIGHWAY_SHAPE and hw.train_images == 5120 and hw.epochs == 8
    assert experiments.get("gpu", "survey_depth/resnet56/seed2").config.train_images is None


def test_both_chapters_fit_the_cpu_budget():
    total = sd.cpu_minutes() + sa.cpu_minutes()
    assert total <= CPU_MINUTES_FOR_BOTH_CHAPTERS - 3  # a few minutes for the rest of the pages
