"""The width chapter: counted tables against closed forms; the timing plumbing (caching, verdict
rules, decomposition shares) on synthetic tables, so no assertion depends on a clock."""


import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from torch import nn  # noqa: E402

from cnnpapers import claims, results  # noqa: E402
from cnnpapers.analysis import runtime  # noqa: E402
from cnnpapers.analysis.plots import figure_texts  # noqa: E402
from cnnpapers.chapters import survey_width as sw  # noqa: E402
from cnnpapers.claims import Verdict  # noqa: E402
from cnnpapers.models.pyramidnet import additive_widths  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def results_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(results.RESULTS_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(results, "_MEMO", {})
    return tmp_path


# --------------------------------------------------------------------------- counted


def test_dense_connections_are_triangular_numbers():
    df = sw.dense_connections("densenet121")
    assert list(df["layers L"]) == [6, 12, 24, 16]
    assert list(df["connections (counted)"]) == [21, 78, 300, 136]
    assert (df["connections (counted)"] == df["L(L+1)/2"]).all()
    with pytest.raises(ValueError, match="not a DenseNet"):
        sw.dense_connections("resnet18")


def test_width_ramp_is_the_additive_rule_against_resnets_staircase():
    ramp = sw.width_ramp("pyramidnet110_a48", "resnet110_cifar")
    assert list(ramp["pyramidnet110_a48"]) == additive_widths(48, 54)
    assert list(ramp["resnet110_cifar"]) == [16] * 18 + [32] * 18 + [64] * 18
    s = sw.ramp_summary(ramp).set_index("model")
    assert s.loc["resnet110_cifar", "steps that widen"] == 2
    assert s.loc["pyramidnet110_a48", "last width"] == 64


def test_xception_separable_convolutions():
    row = sw.xception_separable().iloc[0]
    assert row["separable convolutions"] == 34 and row["depthwise groups = channels"]
    assert row["first step"] == "depthwise 3×3" and row["layers inside"] == "Conv2d → Conv2d"
    cmp = sw.separable_vs_standard(channels=8, side=5)
    assert list(cmp["MACs"]) == [25 * 9 * 8 * 8, 25 * (9 * 8 + 8 * 8)]


def test_mobilenet_formulas_match_the_counter_layer_by_layer():
    df = sw.separable_layers()
    assert len(df) == 13
    assert (df["separable (counted)"] == df["separable (formula)"]).all()
    assert (df["standard (counted)"] == df["standard (formula)"]).all()
    assert df["ratio"].tolist() == pytest.approx(df["1/N + 1/D_k²"].tolist())
    first = df.iloc[0]
    assert (first["M"], first["N"], first["D_F"]) == (32, 64, 112)


def test_multiplier_tables_against_the_cards():
    alpha = sw.width_multiplier_table()
    assert alpha["MACs agree"].all() and alpha["params agree"].all()
    assert alpha["MACs"].iloc[0] == 568_740_352
    rho = sw.resolution_multiplier_table().set_index("input")
    assert list(rho.index) == [224, 192, 160, 128]
    assert rho["params"].nunique() == 1
    assert not rho.loc[160, "MACs agree"] and rho.loc[160, "MACs"] == 290_675_200
    assert rho.drop(160)["MACs agree"].all()


def test_inverted_residual_parts_by_hand():
    df = sw.inverted_residual_cost(24, 56, 6).set_index("part")
    hw = 56 * 56
    assert df.iloc[0]["weights"] == 24 * 144 + 2 * 144 and df.iloc[0]["MACs"] == hw * 24 * 144
    assert df.iloc[1]["weights"] == 144 * 9 + 2 * 144 and df.iloc[1]["MACs"] == hw * 144 * 9
    assert df.iloc[2]["weights"] == 144 * 24 + 2 * 24
    assert df.loc["whole inverted residual", "MACs"] == df.iloc[:3]["MACs"].sum()
    assert df.loc["standard 3×3 convolution (same in/out)", "MACs"] == hw * 24 * 24 * 9


def test_inverted_residual_census():
    c = sw.inverted_residual_census()
    assert len(c) == 17 and c["shortcut"].sum() == 10 and (c["t"] == 6).sum() == 16
    assert c["linear end"].all()
    assert sw.relu6_matches()


def test_shuffle_permutation_of_twelve_channels_in_three_groups():
    df = sw.shuffle_permutation(12, 3)
    assert list(df["input channel"]) == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]
    assert list(df["from group"][:3]) == [0, 1, 2]


def test_shuffle_checks_pass_for_the_library_and_fail_for_a_wrong_shuffle(monkeypatch):
    cols = ["permutation", "unshuffle restores input", "equals nn.ChannelShuffle",
            "transpose of g × C/g"]
    assert sw.shuffle_checks()[cols].all().all()
    monkeypatch.setattr(sw, "channel_shuffle", lambda x, g: x.roll(1, dims=1))
    wrong = sw.shuffle_checks(groups=(3,))
    assert wrong["permutation"].all() and not wrong["equals nn.ChannelShuffle"].any()


def test_op_counter_sees_additions():
    class AddTwice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 1)

        def forward(self, x):
            return self.conv(x) + x + x

    counts = sw.aten_op_counts(AddTwice(), (2, 3, 3))
    assert counts["add"] == 2 and counts["convolution"] == 1


def test_unit_structure_counts():
    s = sw.unit_structure().set_index("model")
    assert s.loc["shufflenet_v2_x1_0", "element-wise adds"] == 0
    assert s.loc["shufflenet_v1_x1_0_g3", "element-wise adds"] == 3 + 7 + 3  # stride-1 units
    assert s.loc["mobilenet_v2", "element-wise adds"] == 10
    assert s.loc["shufflenet_v2_x1_0", "grouped 1×1 convs"] == 0
    assert s.loc["shufflenet_v2_x1_0", "shuffles (transposes)"] == 16  # one per unit


def test_shufflenet_v2_units():
    units = sw.shufflenet_v2_units()
    assert len(units) == 16
    one = units[units["stride"] == 1]
    assert (one["in"] == one["out"]).all() and (one["reads"] == "half (channel split)").all()
    assert list(units[units["stride"] == 2]["out"]) == [116, 232, 464]


def test_memory_access_by_hand():
    df = sw.memory_access_table().set_index("setting")
    hw = 56 * 56
    assert df.loc["1:1", "memory access"] == 10 * 2 * (hw * 256 + 128 * 128)
    assert df.loc["g=8", "memory access"] == 10 * (hw * 720 + 360 * 360 // 8)
    g1 = df[df["guideline"] == "G1"]["memory access"]
    assert g1.is_monotonic_increasing
    assert df[df["guideline"] == "G2"]["memory access"].is_monotonic_increasing


# --------------------------------------------------------------------------- measured (plumbing)


def _g1_table(speeds):
    return pd.DataFrame({"guideline": "G1", "setting": ["1:1", "1:2", "1:6", "1:12"], "width": 1,
                         "macs": [100, 99, 99, 95], "batches_per_s": speeds, "spatial": 8,
                         "batch_size": 1, "device": "cpu"})


@pytest.mark.parametrize("speeds, every, some", [
    ([10.0, 9.0, 8.0, 5.0], True, True),
    ([10.0, 11.0, 8.0, 9.0], True, True),   # faster than 1:12 by > 5 % although not fastest
    ([10.0, 9.0, 8.0, 9.8], False, False),  # within 5 %: no measured direction
    ([5.0, 9.0, 8.0, 10.0], False, False),
])
def test_guideline_verdict_rule(speeds, every, some):
    summary, all_hold, any_hold = sw.guideline_verdict(_g1_table(speeds))
    assert (all_hold, any_hold) == (every, some)
    assert "1:1" in summary and "1:12" in summary


def test_contrast_per_width_for_g4():
    rows = []
    for c in (32, 64):
        for setting, speed in (("ReLU yes, shortcut yes", 1.0), ("ReLU yes, shortcut no", 1.1),
                               ("ReLU no, shortcut yes", 1.2), ("ReLU no, shortcut no", 1.3 if c == 32 else 1.02)):
            rows.append({"guideline": "G4", "setting": setting, "width": 1, "c": c, "macs": 7,
                         "batches_per_s": speed})
    c = sw.contrast(pd.DataFrame(rows))
    assert list(c["c"]) == [32, 64]
    assert c["speed-up"].tolist() == pytest.approx([1.3, 1.02])
    _, every, some = sw.guideline_verdict(pd.DataFrame(rows))
    assert not every and some


def test_guideline_results_are_stored_and_looked_up(results_dir, monkeypatch):
    calls = []

    def fake(budget, device, *, size):
        calls.append(size)
        return _g1_table([10.0, 9.0, 8.0, 5.0])

    monkeypatch.setitem(runtime.GUIDELINES, "G1", fake)
    assert sw.guideline_result("G1", "cpu", "cpu", run=False) is None
    first = sw.guideline_result("G1", "cpu", "cpu")
    assert calls == [runtime.benchmark_size("cpu")]
    assert list(results_dir.glob("cpu/survey_width/g1/*.json"))
    monkeypatch.setattr(results, "_MEMO", {})
    again = sw.guideline_result("G1", "cpu", "cpu", run=False)
    assert again is not None and again.metrics == first.metrics and len(calls) == 1
    assert sw.guideline_table(again)["setting"].tolist() == ["1:1", "1:2", "1:6", "1:12"]
    with pytest.raises(ValueError, match="guideline must be one of"):
        sw.guideline_result("G5", "cpu")


def test_smoke_benchmarks_are_small_and_never_stored():
    assert sw.benchmark_size("smoke").spatial < runtime.benchmark_size("cpu").spatial
    assert sw.benchmark_size("gpu", "cpu") == runtime.benchmark_size("cpu")
    assert sw.benchmark_size("gpu", "cuda") == runtime.benchmark_size("gpu")
    assert "smoke" in results.UNCACHED_BUDGETS
    assert sw.decomposition_setup("cpu", "cuda")["batch"] == 8
    assert sw.decomposition_setup("cpu", "cpu") == {"side": 224, "batch": 1, "repeats": 10,
                                                    "warmup": 3}


def _breakdown(rows):
    return runtime.RuntimeBreakdown(pd.DataFrame(rows, columns=["op", "category", "calls", "time_ms"]),
                                    "cpu", 1)


def test_decomposition_shares_with_and_without_batch_norm():
    part = _breakdown([["aten::conv2d", "convolution", 1, 6.0],
                       ["aten::batch_norm", "elementwise", 1, 2.0],
                       ["aten::relu_", "elementwise", 1, 1.0],
                       ["aten::cat", "data movement", 1, 1.0]])
    row = sw.decomposition_table({"m": part}).iloc[0]
    assert row["convolution"] == pytest.approx(0.6)
    assert row["memory-bound"] == pytest.approx(0.4)
    assert row["memory-bound, BN folded"] == pytest.approx(2.0 / 8.0)
    top = sw.top_operators({"m": part}, n=2)
    assert top["operator"].tolist() == ["conv2d", "batch_norm"]


def test_decomposition_result_stores_per_operator_times(results_dir, monkeypatch):
    monkeypatch.setattr(sw, "DECOMPOSITION_MODELS", ("lenet5",))
    monkeypatch.setattr(sw, "decomposition_setup",
                        lambda budget, device="cpu": {"side": 32, "batch": 1, "repeats": 1, "warmup": 0})
    monkeypatch.setattr(sw, "create_model", lambda name: nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()))
    result = sw.decomposition_result("cpu", "cpu")
    parts = sw.breakdowns(result)
    assert set(parts) == {"lenet5"}
    assert "aten::conv2d" in set(parts["lenet5"].ops["op"])
    assert list(results_dir.glob("cpu/survey_width/runtime_decomposition/*.json"))


def test_guideline_figure():
    table = _g1_table([10.0, 9.0, 8.0, 5.0])
    fig = sw.plot_guidelines({"G1": table}, caption="budget smoke · test")
    texts = figure_texts(fig)
    assert "budget smoke · test" in texts and "G1 (1:1 = 1)" in texts


def test_width_ramp_figure():
    fig = sw.plot_width_ramp(sw.width_ramp(), caption="budget smoke · test")
    assert "pyramidnet110_a48" in figure_texts(fig)


COUNTED = {
    "survey_width.densenet_connections": Verdict.REPRODUCED,
    "survey_width.pyramidnet_gradual": Verdict.REPRODUCED,
    "survey_width.xception_channelwise": Verdict.REPRODUCED,
    "survey_width.mobilenet_cost_formulas": Verdict.REPRODUCED,
    "survey_width.mobilenet_width_multiplier": Verdict.REPRODUCED,
    "survey_width.mobilenet_resolution_multiplier": Verdict.PARTLY,
    "survey_width.mobilenet_v2_block": Verdict.REPRODUCED,
    "survey_width.channel_shuffle": Verdict.REPRODUCED,
    "survey_width.shufflenet_v2_unit": Verdict.REPRODUCED,
    "survey_width.g1_memory_access": Verdict.REPRODUCED,
    "survey_width.g2_memory_access": Verdict.REPRODUCED,
}
MEASURED = {"survey_width.g1_speed", "survey_width.g2_speed", "survey_width.g3_speed",
            "survey_width.g4_speed", "survey_width.speed_not_flops",
            "survey_width.fig2_conv_majority", "survey_width.fig2_memory_bound_share"}


def test_counted_claims_have_their_verdicts():
    assert {c.id for c in claims.list_claims("survey_width")} == set(COUNTED) | MEASURED
    for id, verdict in COUNTED.items():
        assert claims.evaluate(id, "smoke", run=False).verdict is verdict, id


def test_measured_claims_do_not_run_from_the_ledger(results_dir):
    for id in MEASURED:
        assert claims.evaluate(id, "cpu", run=False).verdict is Verdict.NOT_RUN, id


def test_measured_claim_reads_a_stored_result(results_dir, monkeypatch):
    monkeypatch.setitem(runtime.GUIDELINES, "G1",
                        lambda budget, device, *, size: _g1_table([10.0, 9.0, 8.0, 5.0]))
    sw.guideline_result("G1", "cpu", "cpu")
    monkeypatch.setattr(results, "_MEMO", {})
    ev = claims.evaluate("survey_width.g1_speed", "cpu", run=False)
    assert ev.verdict is Verdict.REPRODUCED and "2.00×" in ev.ours
