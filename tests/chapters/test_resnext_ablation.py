"""The chapter helpers, experiments and claim rules of ``resnext_ablation`` (Table 3, Fig. 5)."""

import math
from types import SimpleNamespace

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import pytest

import cnnpapers
from cnnpapers import experiments
from cnnpapers.analysis.plots import figure_texts
from cnnpapers.chapters import resnext_ablation as ra
from cnnpapers.claims import Context, Verdict
from cnnpapers.claims import resnext_ablation as ablation_claims

matplotlib.use("Agg")


def test_table3_complexity_is_preserved_within_the_tolerances():
    t = ra.table3_complexity()
    assert t["setting"].tolist() == ["1×64d", "2×40d", "4×24d", "8×14d", "32×4d"] * 2
    assert (t["d from the block formula"] == [d for _, d in ra.TABLE3_SETTINGS] * 2).all()
    assert t["top-1 error % (paper, quoted)"].tolist()[:5] == [23.9, 23.0, 22.6, 22.3, 22.2]
    # the tolerances of the scaled ablation are Table 3's own spread, rounded up
    assert t["params vs ResNet"].abs().max() <= ra.PARAMS_TOLERANCE
    assert t["MACs vs ResNet"].abs().max() <= ra.MACS_TOLERANCE
    assert t["MACs vs ResNet"].abs().max() > ra.PARAMS_TOLERANCE  # MACs do need the looser one
    assert t.loc[0, "params (M)"] == pytest.approx(cnnpapers.count_parameters("resnet50") / 1e6)


def test_equal_cost_widths_at_base_32_are_table2_at_half_width():
    template = ra.CifarTemplate(base_channels=32)
    widths = [ra.equal_cost_width(template, c) for c in (1, 2, 4, 8, 32)]
    assert widths == [32, 20, 12, 7, 2]  # Table 2: 64, 40, 24, 14, 4
    target = template.params(1, 32)
    for c, d in zip((2, 4, 8, 32), widths[1:]):
        best = abs(template.params(c, d) - target)
        assert all(best <= abs(template.params(c, w) - target) for w in (d - 1, d + 1) if w > 0)


def test_template_counts_what_the_registered_model_builds():
    template = ra.CifarTemplate(base_channels=16)
    kwargs = template.model_kwargs(4, 6)
    assert cnnpapers.count_parameters("resnext29_8x64d_cifar", num_classes=10, in_channels=1,
                                      **kwargs) == template.params(4, 6)


def test_settings_that_cannot_match_are_not_trained():
    t = ra.ablation_settings(ra.CifarTemplate(base_channels=16), (1, 2, 4, 8, 16, 32))
    assert t["setting"].tolist() == ["1×16d", "2×10d", "4×6d", "8×3d", "16×2d", "32×1d"]
    assert t["trained"].tolist() == [True, True, True, False, False, True]
    assert t["params vs C = 1"][3] < -ra.PARAMS_TOLERANCE  # 8×3d: 14 % too small, 8×4d too big


def test_budget_plans_and_their_experiments():
    assert ra.ablation_plan("paper") is ra.PLANS["gpu"]
    for budget in ("smoke", "cpu"):
        plan = ra.ablation_plan(budget)
        trained = plan.trained()
        assert trained[0] == plan.template.reference and len(trained) >= 2
        runs = experiments.experiments(budget, "resnext_ablation")
        assert len(runs) == len(trained) * len(plan.seeds)
        assert len({e.name for e in runs}) == len(runs)
        for e in runs:
            kw = e.config.model_kwargs
            assert e.name == f"resnext_ablation/{kw['cardinality']}x{kw['bottleneck_width']}d/seed{e.config.seed}"
            assert (e.config.dataset, e.config.train_images) == ("fashion-mnist", plan.train_images)
    cpu = ra.ablation_plan("cpu")
    assert cpu.trained() == [(1, 16), (2, 10), (4, 6), (32, 1)] and len(cpu.seeds) >= 2
    assert len(ra.ablation_plan("gpu").seeds) >= 3


# --------------------------------------------------------------------------- statistics


def _frame(errors: dict[int, list[float]], train: dict[int, list[float]] | None = None):
    rows = []
    for c, values in errors.items():
        for seed, v in enumerate(values):
            rows.append({"cardinality": c, "bottleneck_width": 64 // c, "setting": f"{c}×{64 // c}d",
                         "seed": seed, "params": 1000, "test_error": v,
                         "train_error": (train or errors)[c][seed], "images_per_s": 1.0,
                         "wall_time_s": 1.0})
    return pd.DataFrame(rows)


def test_pooled_sd_and_noise_of_the_difference():
    frame = _frame({1: [0.10, 0.12], 4: [0.08, 0.08], 32: [0.05, 0.07]})
    # deviations: ±0.01, 0, ±0.01 -> sum of squares 4e-4 over 3 degrees of freedom
    assert ra.pooled_sd(frame, "test_error") == pytest.approx(math.sqrt(4e-4 / 3))
    cmp = ra.compare_endpoints(frame)
    assert (cmp.resnet, cmp.resnext) == ("1×64d", "32×2d")
    assert cmp.difference == pytest.approx(0.05)
    assert cmp.noise == pytest.approx(math.sqrt(4e-4 / 3) * math.sqrt(1 / 2 + 1 / 2))
    assert cmp.trend == pytest.approx(-1.0)
    assert cmp.outcome == "cardinality better"


@pytest.mark.parametrize("errors, outcome", [
    ({1: [0.10, 0.11], 32: [0.10, 0.105]}, "within noise"),
    ({1: [0.05, 0.051], 32: [0.10, 0.101]}, "width better"),
    ({1: [0.10], 32: [0.05]}, "noise not measured"),
])
def test_outcomes(errors, outcome):
    assert ra.compare_endpoints(_frame(errors)).outcome == outcome


def test_spearman():
    assert ra.spearman([1, 2, 4], [3.0, 2.0, 1.0]) == pytest.approx(-1)
    assert ra.spearman([1, 2, 4, 8], [1.0, 3.0, 2.0, 4.0]) == pytest.approx(0.8)
    assert math.isnan(ra.spearman([1, 2], [1.0, 2.0]))


def test_ablation_frame_and_summary_from_runs():
    def run(c, d, seed, err):
        e = SimpleNamespace(config=SimpleNamespace(model_kwargs={"cardinality": c,
                                                                 "bottleneck_width": d},
                                                   seed=seed))
        r = SimpleNamespace(metrics={"parameters": 99, "test_error": err, "train_error": err / 2,
                                     "images_per_s": 10.0, "wall_time_s": 5.0})
        return e, r

    frame = ra.ablation_frame([run(4, 6, 1, 0.2), run(1, 16, 0, 0.3), run(4, 6, 0, 0.1)])
    assert frame["setting"].tolist() == ["1×16d", "4×6d", "4×6d"]
    s = ra.summarise(frame).set_index("setting")
    assert s.loc["4×6d", "seeds"] == 2 and s.loc["4×6d", "test_error"] == pytest.approx(0.15)
    assert math.isnan(s.loc["1×16d", "test_error_sd"])


# --------------------------------------------------------------------------- claim rules


@pytest.mark.parametrize("errors, train, verdict", [
    ({1: [0.10, 0.11], 2: [0.09, 0.09], 32: [0.05, 0.06]}, None, Verdict.REPRODUCED),
    ({1: [0.10, 0.11], 2: [0.01, 0.01], 4: [0.02, 0.02], 8: [0.03, 0.03], 16: [0.04, 0.04],
      32: [0.05, 0.06]}, None, Verdict.PARTLY),  # endpoints agree, the trend does not
    ({1: [0.10, 0.11], 32: [0.10, 0.105]}, None, Verdict.NOT_REPRODUCED),
    ({1: [0.10], 32: [0.08]}, None, Verdict.PARTLY),  # one seed: sign only
])
def test_cardinality_claim_rule(monkeypatch, errors, train, verdict):
    monkeypatch.setattr(ablation_claims, "_frame", lambda ctx: _frame(errors, train))
    assert ablation_claims._cardinality(Context("cpu", run=False)).verdict is verdict


def test_fig5_claim_rule(monkeypatch):
    test = {1: [0.10, 0.11], 32: [0.05, 0.06]}
    for train, verdict in (({1: [0.2, 0.21], 32: [0.1, 0.11]}, Verdict.REPRODUCED),
                           ({1: [0.2, 0.21], 32: [0.3, 0.31]}, Verdict.PARTLY)):
        monkeypatch.setattr(ablation_claims, "_frame", lambda ctx, t=train: _frame(test, t))
        assert ablation_claims._curves(Context("cpu", run=False)).verdict is verdict


def test_trained_claims_do_not_train_when_told_not_to(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNPAPERS_RESULTS", str(tmp_path))
    for check in (ablation_claims._cardinality, ablation_claims._curves):
        assert check(Context("cpu", run=False)).verdict is Verdict.NOT_RUN


# --------------------------------------------------------------------------- figures


def test_figures_carry_their_caption():
    frame = _frame({1: [0.10, 0.12], 32: [0.05, 0.07]})
    fig = ra.plot_ablation(frame, ra.quoted_table3(), caption="budget cpu · test")
    assert "budget cpu · test" in figure_texts(fig)
    curves = {"ResNet": [{"epoch": [1, 2], "train_error": [0.3, 0.2], "test_error": [0.2, 0.1]}] * 2}
    fig = ra.plot_training_curves(curves, caption="budget cpu · test")
    assert "ResNet: test" in figure_texts(fig) and "budget cpu · test" in figure_texts(fig)
    plt.close("all")
