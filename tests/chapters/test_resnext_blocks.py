"""The chapter helpers of ``resnext_blocks``: group convolution, Figs. 1 and 3, Table 1."""

import math

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch
from torch import nn

import cnnpapers
from cnnpapers.analysis.cost import conv2d_macs
from cnnpapers.analysis.plots import figure_texts
from cnnpapers.chapters import resnext_blocks as rb

matplotlib.use("Agg")


# --------------------------------------------------------------------------- group convolution


def test_group_conv_cost_matches_the_note_formula_and_the_counter():
    t = rb.group_conv_cost_table(in_size=(10, 12), kernel=(3, 5), c1=12, c2=24,
                                 groups=(1, 2, 3, 12))
    dense = (10 - 3 + 1) * (12 - 5 + 1) * 3 * 5 * 12 * 24  # (H-h1+1)(W-w1+1)·h1·w1·c1·c2
    assert t["MACs: note formula ÷ M"].tolist() == [dense, dense // 2, dense // 3, dense // 12]
    assert (t["MACs: FLOP counter"] == t["MACs: note formula ÷ M"]).all()
    assert (t["weights: counted"] == t["weights: h1·w1·c1·c2 ÷ M"]).all()
    assert t["inputs per output map (N/M)"].tolist() == [12, 6, 4, 1]
    assert t["counted share of the dense cost"].tolist() == ["1", "1/2", "1/3", "1/12"]
    for m in (1, 2, 3, 12):  # the library's closed form says the same
        assert conv2d_macs((10, 12), (3, 5), 12, 24, groups=m) == dense // m


@pytest.mark.parametrize("groups, stride, padding", [(1, 1, 0), (4, 2, 1), (8, 1, 1)])
def test_dense_equivalent_computes_the_grouped_convolution(groups, stride, padding):
    torch.manual_seed(0)
    conv = nn.Conv2d(16, 8, 3, stride, padding, groups=groups, bias=True)
    x = torch.randn(2, 16, 9, 9)
    dense = rb.dense_equivalent(conv)
    assert dense.groups == 1
    torch.testing.assert_close(dense(x), conv(x), atol=1e-5, rtol=1e-5)
    connected = rb.dense_weight(conv).abs().sum(dim=(2, 3)) != 0
    for o in range(8):  # output o of group o // (8/M) sees exactly that group's 16/M inputs
        g = o // (8 // groups)
        expected = torch.zeros(16, dtype=torch.bool)
        expected[g * 16 // groups:(g + 1) * 16 // groups] = True
        assert torch.equal(connected[o], expected)


def test_connectivity_of_a_resnext_layer_is_block_diagonal():
    conv = nn.Conv2d(128, 128, 3, groups=32, bias=False)
    matrix = rb.connectivity(conv)
    assert matrix.shape == (128, 128)
    assert rb.inputs_per_output(conv).unique().tolist() == [4]
    blocks = torch.block_diag(*[torch.ones(4, 4)] * 32).bool()
    assert (matrix[blocks] > 0).all() and (matrix[~blocks] == 0).all()
    assert rb.inputs_per_output(nn.Conv2d(64, 64, 3)).unique().tolist() == [64]


def test_dense_fits_grouped_exactly_but_not_the_converse():
    t = rb.function_space_table(channels=8, groups=4, size=6, images=12).set_index("family fitted")
    dense, grouped = t.iloc[0], t.iloc[1]
    assert dense["relative residual ‖y−ŷ‖/‖y‖"] < 1e-9
    assert dense["largest fitted weight off the diagonal blocks"] < 1e-9
    assert dense["weight mapping: ‖Δ output‖∞"] < 1e-12
    assert dense["weights of the family"] == 4 * grouped["weights of the family"] == 9 * 64
    # nothing crossing groups can be fitted: about sqrt(1 - 1/M) of the output is left
    assert grouped["relative residual ‖y−ŷ‖/‖y‖"] == pytest.approx(math.sqrt(3 / 4), abs=0.12)


def test_a_grouped_family_fits_a_grouped_target_of_its_own_layout():
    torch.manual_seed(1)
    x = torch.randn(8, 8, 6, 6, dtype=torch.float64)
    target = nn.Conv2d(8, 8, 3, groups=2, bias=False).double()
    with torch.no_grad():
        residual, off = rb._least_squares_fit(x, target(x), 3, groups=2, blocks=2)
    assert residual < 1e-9 and off == 0.0


# --------------------------------------------------------------------------- Fig. 1, Fig. 3


def test_fig1_blocks_have_the_papers_weight_counts():
    t = rb.fig1_blocks()
    resnet = 256 * 64 + 3 * 3 * 64 * 64 + 64 * 256  # Xie et al., Sec. 3.3
    resnext = 32 * (256 * 4 + 3 * 3 * 4 * 4 + 4 * 256)  # Eq. (4), C = 32, d = 4
    assert t["conv weights"].tolist() == [resnet, resnext]
    assert t["MACs on 56×56"].tolist() == [56 * 56 * resnet, 56 * 56 * resnext]  # 1×1 and padded 3×3
    assert t["weights vs ResNet"].iloc[1] == pytest.approx(resnext / resnet - 1)
    assert "(256, 1×1, 4) → (4, 3×3, 4) → (4, 1×1, 256)" in t["layers"].iloc[1]


def test_fig3_forms_are_equivalent_and_differ_in_layer_count():
    forms = rb.fig3_forms(in_channels=16, width=8, out_channels=16, cardinality=4)
    t = rb.fig3_equivalence(forms, batch=3, size=5)
    assert t["form"].tolist() == list(rb.FORMS)
    assert t["conv layers"].tolist() == [3 * 4, 2 * 4 + 1, 3]
    assert t["parameters"].nunique() == 1
    diffs = t[["eval: ‖Δ output‖∞", "train: ‖Δ output‖∞", "train: ‖Δ input gradient‖∞"]]
    assert (diffs.to_numpy() < 1e-5).all()


def test_fig3_equivalence_would_see_a_broken_mapping():
    forms = rb.fig3_forms(in_channels=16, width=8, out_channels=16, cardinality=4)
    with torch.no_grad():
        forms[rb.FORMS[0]].paths[0][0].weight.mul_(2)
    t = rb.fig3_equivalence(forms, batch=2, size=5)
    assert t["eval: ‖Δ output‖∞"].iloc[0] > 1e-3 and t["eval: ‖Δ output‖∞"].iloc[1] < 1e-5


def test_fig3_speed_table_and_fastest_form():
    forms = rb.fig3_forms(in_channels=16, width=8, out_channels=16, cardinality=4)
    t = rb.fig3_speed(forms, rb.SpeedSetting(batch=2, size=4, warmup=0, repeats=1))
    assert len(t) == 6 and set(t["mode"]) == {"inference", "train"}
    assert (t.groupby("mode")["× time of the fastest"].min() == 1).all()
    assert (t["× time of the fastest"] >= 1).all()
    frame = pd.DataFrame({"form": ["a", "c", "a", "c"], "mode": ["inference"] * 2 + ["train"] * 2,
                          "ms_per_batch": [5.0, 1.0, 2.0, 3.0]})
    assert rb.fastest_form(frame) == {"inference": "c", "train": "a"}


def test_fig3_speed_result_is_looked_up_without_running(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNPAPERS_RESULTS", str(tmp_path))
    assert rb.fig3_speed_result("cpu", "cpu", run=False) is None  # nothing stored: no timing
    assert rb.fig3_speed_config("paper", "cuda")["batch"] == rb.FIG3_SPEED["gpu"].batch


# --------------------------------------------------------------------------- Table 1


def test_table1_generated_from_the_models_is_the_printed_table():
    for name in rb.TABLE1_NETS:
        assert rb.table1_mismatches(name) == []
    sizes = rb.stage_output_sizes(rb.meta_model("resnext50_1x64d"))
    assert list(sizes.values()) == [112, 56, 28, 14, 7]


def test_table1_check_sees_a_different_net():
    rb.TABLE1_PRINTED["resnext50_8x14d"] = rb.TABLE1_PRINTED["resnext50_32x4d"]
    try:
        wrong = rb.table1_mismatches("resnext50_8x14d")
    finally:
        del rb.TABLE1_PRINTED["resnext50_8x14d"]
    assert len(wrong) == 4 and "C=8" in wrong[0] and "C=32" in wrong[0]


def test_table1_stages_add_up_to_the_whole_net():
    t = rb.table1()
    assert t["stage"].tolist() == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc"]
    assert t["ResNeXt-50 (32×4d)"][1].endswith("[1×1, 128 · 3×3, 128, C=32 · 1×1, 256] × 3")
    for name, net in rb.TABLE1_NETS.items():
        total = cnnpapers.count_parameters(name)
        assert round(t[f"{net}: params (M)"].sum() * 1e6) == total


def test_table1_totals_show_that_the_paper_truncates():
    t = rb.table1_totals().set_index("net")
    assert t.loc["ResNet-50", "parameters"] == 25_557_032
    assert t.loc["ResNet-50", "ours rounded"] == "25.6"
    assert t.loc["ResNet-50", "ours truncated"] == t.loc["ResNet-50", "params (M), paper"] == "25.5"
    assert (t["GMACs ours rounded"] == t["GFLOPs (= GMACs), paper"]).all()


# --------------------------------------------------------------------------- display, figure


def test_markdown_table_formats():
    frame = pd.DataFrame({"n": [1234567, 2], "share": [0.0071, -0.02], "diff": [3e-7, 0.5],
                          "x": [1.23456, float("nan")], "text": ["a|b", "c"]})
    text = rb.markdown_table(frame, percent=["share"], bounds={"diff": 1e-4},
                             decimals={"x": 2}).data
    assert "1,234,567" in text and "+0.7%" in text and "-2.0%" in text
    assert "< 0.0001" in text and "0.5" in text and "1.23" in text and "—" in text
    assert "a\\|b" in text


def test_connectivity_figure_has_a_caption():
    fig = rb.plot_connectivity({"grouped": rb.connectivity(nn.Conv2d(8, 8, 3, groups=4))},
                               caption="budget smoke · cpu")
    assert "budget smoke · cpu" in figure_texts(fig)
    with pytest.raises(ValueError, match="caption"):
        rb.plot_connectivity({"x": torch.ones(2, 2)}, caption="")
    plt.close("all")
