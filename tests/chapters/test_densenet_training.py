"""The DenseNet training chapter: its run plan, the statistics behind its claims, its figures."""

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from cnnpapers import count_parameters, create_model, experiments  # noqa: E402
from cnnpapers.analysis.plots import figure_texts  # noqa: E402
from cnnpapers.analysis.reuse import set_reuse_weights, weight_reuse  # noqa: E402
from cnnpapers.chapters import densenet_training as dt  # noqa: E402
from cnnpapers.claims import Context, Verdict  # noqa: E402
from cnnpapers.claims import densenet_training as dtc  # noqa: E402
from cnnpapers.experiments import densenet_training as plan_mod  # noqa: E402
from cnnpapers.experiments.densenet_training import Arch  # noqa: E402
from cnnpapers.results import Result  # noqa: E402
from cnnpapers.train import Callback, TrainConfig, run_experiment  # noqa: E402

CAPTION = "budget smoke · test machine"
TINY = {"network_depth": 10, "growth_rate": 4}  # 3 blocks of 2 layers


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _result(model="m", error=0.2, params=1000, test_images=400, seed=0, curves=None,
            train_error=None):
    metrics = {"test_error": error, "parameters": params, "test_images": test_images,
               "train_error": error if train_error is None else train_error}
    return Result(f"densenet_training/x/{model}/seed{seed}",
                  {"seed": seed, "model": model, "dataset": "fashion-mnist"},
                  metrics, curves or {}, {})


# ------------------------------------------------------------------------------ settings


def test_every_quoted_setting_matches_the_engine():
    table = dt.settings_table()
    assert set(table["match"]) == {"yes"} and dt.settings_mismatches() == []
    assert set(table["schedule"]) == {"densenet-cifar", "densenet-svhn", "densenet-imagenet"}
    row = table[(table["schedule"] == "densenet-imagenet") & (table["setting"] == "milestone_epochs")]
    assert row["engine"].item() == "30, 60"  # 1/3 and 2/3 of 90 epochs, computed


def test_a_wrong_quote_is_flagged(monkeypatch):
    wrong = dt.QuotedSetting("densenet-cifar", "batch_size", "batch 128", 128)
    monkeypatch.setattr(dt, "NOTE003_SETTINGS", (*dt.NOTE003_SETTINGS, wrong))
    assert dt.settings_mismatches() == [wrong]
    assert dt.settings_table()["match"].iloc[-1] == "NO"
    ev = dtc._settings_cifar(Context("smoke"))
    assert ev.verdict is Verdict.NOT_REPRODUCED and "batch_size=64" in ev.ours


# ------------------------------------------------------------------------------ the plan


@pytest.mark.parametrize("budget", ["smoke", "cpu", "gpu", "paper"])
def test_plan_declares_every_run_once_with_valid_configs(budget):
    todo = experiments.experiments(budget, "densenet_training")
    names = [e.name for e in todo]
    assert len(names) == len(set(names))
    p = plan_mod.plan(budget)
    keys = {a.key for a in p.architectures()}
    assert {"densenet_40_k12", "densenet_bc_100_k12", "resnet56_cifar"} <= keys
    assert p.fig4_curves[1] == plan_mod.DENSENET_BC_100
    for e in todo:
        assert e.config.schedule == plan_mod.SCHEDULE_FOR[e.config.dataset]
    reuse = [e for e in todo if "weight_reuse" in e.probes]
    assert [e.config.model for e in reuse] == ["densenet_40_k12"] * len(plan_mod.available_datasets(budget))


def test_budget_sizes_and_seeds():
    cpu, gpu = plan_mod.plan("cpu"), plan_mod.plan("gpu")
    assert cpu.sizes == plan_mod.CPU_SIZES and cpu.seeds == (0,)
    assert gpu.sizes["train_images"] is None and gpu.seeds == (0, 1, 2)
    assert gpu.seeds_for(plan_mod.DENSENET_40) == (0, 1, 2)  # Table 2 row
    assert gpu.seeds_for(plan_mod._densenet("c_", 70)) == (0,)  # Fig. 4 sweep
    assert {a.family for a in gpu.fig4_variants} == {"DenseNet", "DenseNet-B", "DenseNet-C",
                                                     "DenseNet-BC"}
    assert len(gpu.fig4_variants) == 12


def test_shallow_preact_resnets_are_the_registered_net_at_another_depth():
    arch = plan_mod._preact(47)
    assert arch.model == "preact_resnet164_cifar" and arch.model_kwargs == {"network_depth": 47}
    assert count_parameters(arch.model, **arch.model_kwargs) < count_parameters(arch.model)
    assert plan_mod._preact(164).model_kwargs == {}
    assert plan_mod._preact(1001).model == "preact_resnet1001_cifar"


def test_cifar_runs_appear_only_where_the_files_are(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNPAPERS_DATA", str(tmp_path))
    assert plan_mod.available_datasets("gpu") == ("fashion-mnist",)
    for f in plan_mod._TORCHVISION_FILES["cifar10"]:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).touch()
    assert plan_mod.available_datasets("gpu") == ("fashion-mnist", "cifar10")
    assert plan_mod.available_datasets("cpu") == ("fashion-mnist",)
    with pytest.raises(ValueError, match="CIFAR and SVHN only at the gpu"):
        dt.collect("cpu", "cifar10", run=False)


# ------------------------------------------------------------------------------ errors, Table 2


def test_standard_error_is_binomial_for_one_run_and_over_seeds_for_several():
    mean, se = dt.final_error([_result(error=0.2, test_images=400)])
    assert mean == pytest.approx(20.0) and se == pytest.approx(100 * math.sqrt(0.2 * 0.8 / 400))
    mean, se = dt.final_error([_result(error=e) for e in (0.1, 0.2, 0.3)])
    assert mean == pytest.approx(20.0) and se == pytest.approx(10 / math.sqrt(3))
    assert dt.significant(3.0, 1.0, 1.0) and not dt.significant(2.0, 1.0, 1.0)


D40 = Arch("d", "densenet_40_k12", "DenseNet", "D")
BC = Arch("bc", "densenet_bc_100_k12", "DenseNet-BC", "BC")
RES = Arch("r", "resnet56_cifar", "ResNet", "R")


def _plan(table2=(D40, BC, RES), variants=(), resnets=(), curves=(RES, BC)):
    return plan_mod.Plan(table2, variants, resnets, curves, (0,), {})


def test_fewer_params_lower_error_counts_only_smaller_densenets():
    runs = {"d": [_result("d", 0.05, 2000, 10_000)], "bc": [_result("bc", 0.08, 500, 10_000)],
            "r": [_result("r", 0.10, 1000, 10_000)]}
    (comp,) = dt.fewer_params_lower_error(_plan(), runs)
    assert [name for name, *_ in comp.smaller] == ["BC"]  # D has more parameters than R
    assert comp.winners() == ["BC"] and comp.winners(significant_only=True) == ["BC"]
    runs["bc"] = [_result("bc", 0.099, 500, 10_000)]
    (comp,) = dt.fewer_params_lower_error(_plan(), runs)
    assert comp.winners() == ["BC"] and comp.winners(significant_only=True) == []


def test_table2_claim_verdicts(monkeypatch):
    runs = {"d": [_result("d", 0.05, 2000, 10_000)], "bc": [_result("bc", 0.08, 500, 10_000)],
            "r": [_result("r", 0.10, 1000, 10_000)]}
    monkeypatch.setattr(dtc, "plan", lambda budget: _plan())
    monkeypatch.setattr(dtc, "_runs", lambda ctx, archs: ("fashion-mnist", runs))
    assert dtc._fewer_params_lower_error(Context("cpu")).verdict is Verdict.REPRODUCED
    runs["bc"] = [_result("bc", 0.099, 500, 10_000)]
    assert dtc._fewer_params_lower_error(Context("cpu")).verdict is Verdict.PARTLY
    runs["bc"] = [_result("bc", 0.12, 500, 10_000)]
    assert dtc._fewer_params_lower_error(Context("cpu")).verdict is Verdict.NOT_REPRODUCED


def test_a_resnet_that_learnt_nothing_is_flagged_not_compared(monkeypatch):
    runs = {"d": [_result("d", 0.05, 2000, 10_000)], "bc": [_result("bc", 0.08, 500, 10_000)],
            "r": [_result("r", 0.87, 1000, 10_000, train_error=0.878)]}
    (comp,) = dt.fewer_params_lower_error(_plan(), runs)
    assert not comp.resnet_trained and comp.resnet_train_error == pytest.approx(87.8)
    assert dt.did_not_train(runs["r"]) and not dt.did_not_train(runs["bc"])
    rows = dt.table2(_plan(table2=(RES,)), runs, "fashion-mnist")
    assert rows["trained?"].item().startswith("no: final training error 87.8%")
    monkeypatch.setattr(dtc, "plan", lambda budget: _plan())
    monkeypatch.setattr(dtc, "_runs", lambda ctx, archs: ("fashion-mnist", runs))
    evidence = dtc._fewer_params_lower_error(Context("cpu"))
    assert evidence.verdict is Verdict.NOT_RUN and "R did not train" in evidence.ours


def test_trained_claims_are_not_run_without_results(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNPAPERS_RESULTS", str(tmp_path))
    for check in (dtc._fewer_params_lower_error, dtc._bc_most_efficient, dtc._bc_third,
                  dtc._curves, dtc._fig5_a, dtc._fig5_c, dtc._fig5_d):
        assert check(Context("cpu", run=False)).verdict is Verdict.NOT_RUN
    assert dtc._capacity(Context("cpu", run=False)).verdict is Verdict.NEEDS_GPU


# ------------------------------------------------------------------------------ Fig. 4


def _frame(points):
    return pd.DataFrame([{"model": m, "family": f, "params": p, "error (%)": e, "± s.e.": 0.5}
                         for m, f, p, e in points])


def test_dominance_needs_a_bc_no_larger_and_no_worse():
    frame = _frame([("bc1", "DenseNet-BC", 100, 10.0), ("bc2", "DenseNet-BC", 400, 8.0),
                    ("b", "DenseNet-B", 150, 9.0), ("d", "DenseNet", 500, 8.5)])
    table = dt.dominance(frame).set_index("model")["beaten by a DenseNet-BC"]
    assert table["b"] == "none"  # bc1 is smaller but worse, bc2 better but larger
    assert table["d"] == "bc2"


def test_equal_error_parameters_interpolate_in_log_parameters():
    bc = _frame([("bc1", "DenseNet-BC", 1e5, 20.0), ("bc2", "DenseNet-BC", 1e6, 10.0)])
    assert dt.params_for_error(bc, 15.0) == (pytest.approx(math.sqrt(1e5 * 1e6)), "=")
    assert dt.params_for_error(bc, 25.0) == (1e5, "<=")
    assert dt.params_for_error(bc, 5.0) == (1e6, ">")
    frame = pd.concat([bc, _frame([("r", "pre-act ResNet", 9e5, 15.0)])])
    (row,) = dt.equal_error_params(frame)
    assert row.bound == "=" and row.ratio == pytest.approx(math.sqrt(1e11) / 9e5)


def test_one_third_claim_verdict(monkeypatch):
    frame = pd.concat([_frame([("bc1", "DenseNet-BC", 1e5, 20.0), ("bc2", "DenseNet-BC", 1e6, 10.0)]),
                       _frame([("r", "pre-act ResNet", 3e6, 15.0)])])
    monkeypatch.setattr(dtc, "_runs", lambda ctx, archs: ("fashion-mnist", {}))
    monkeypatch.setattr(dtc.C, "efficiency_frame", lambda archs, runs: frame)
    ev = dtc._bc_third(Context("cpu"))
    assert ev.verdict is Verdict.REPRODUCED and "= 0.11" in ev.ours  # 316,228 / 3M
    frame = pd.concat([frame, _frame([("r2", "pre-act ResNet", 3e6, 5.0)])])  # no BC that good
    ev = dtc._bc_third(Context("cpu"))
    assert ev.verdict is Verdict.PARTLY and "> 0.33" in ev.ours


def _obs(key, values, initial=1.0):
    return [dt.Observation(key, block, "s", v, initial) for block, v in enumerate(values, 1)]


@pytest.mark.parametrize("values, moved, verdict", [
    ((0.9, 0.8, 0.7), 0.2, Verdict.REPRODUCED),
    ((0.9, 0.8, 0.7), 0.01, Verdict.PARTLY),  # the untrained pattern, not learnt reuse
    ((0.9, 0.3, 0.7), 0.2, Verdict.PARTLY),
    ((0.1, 0.3, 0.2), 0.2, Verdict.NOT_REPRODUCED),
])
def test_fig5_spread_verdicts(monkeypatch, values, moved, verdict):
    monkeypatch.setattr(dtc, "_reuse", lambda ctx: ("fashion-mnist", _obs("a", values), moved))
    assert dtc._fig5_a(Context("cpu")).verdict is verdict


def test_fig5_transition_row_verdicts(monkeypatch):
    def verdict(rank3):
        obs = [dt.Observation(k, b, "s", v, 1.0) for k, b, v in
               (("c", 2, 0.5), ("c", 3, 0.6), ("c rank", 2, 1), ("c rank", 3, rank3))]
        monkeypatch.setattr(dtc, "_reuse", lambda ctx: ("fashion-mnist", obs, 0.3))
        return dtc._fig5_c(Context("cpu")).verdict

    assert verdict(1) is Verdict.REPRODUCED  # the least weight in both blocks
    assert verdict(4) is Verdict.PARTLY  # least in one, below average in both


def test_fig4_plot_has_three_panels_and_the_caption():
    curves = {"epoch": [1, 2], "train_loss": [1.0, 0.5], "test_error": [0.3, 0.2]}
    frame = _frame([("bc1", "DenseNet-BC", 1e5, 20.0), ("d", "DenseNet", 1e6, 10.0),
                    ("r", "pre-act ResNet", 3e5, 15.0)])
    fig = dt.plot_fig4(frame, frame, [("R", _result(curves=curves)), ("BC", _result(curves=curves))],
                       caption=CAPTION, dataset="fashion-mnist")
    texts = figure_texts(fig)
    assert CAPTION in texts and "test error: BC" in texts and "training loss: R" in texts
    assert len(fig.axes) == 4  # three panels and the loss axis


# ------------------------------------------------------------------------------ Fig. 5


def _tiny_densenet():
    return create_model("densenet_40_k12", num_classes=10, in_channels=1, **TINY)


def test_observations_of_a_known_heatmap():
    model = _tiny_densenet()

    def value(block, s, t):
        if t == 3:  # transition (blocks 1, 2) or classifier (block 3): sources 0..2
            return {0: 1.0, 1: 1.0, 2: 4.0}[s] if block == 3 else (0.25 if s == 1 else 1.0)
        return 0.5 if (s == 0 and block > 1) else 1.0

    set_reuse_weights(model, value)
    reuse = weight_reuse(model)
    obs = {(o.key, o.block): o.trained for o in dt.reuse_observations(reuse, reuse)}
    # (a) layer 2 reading x_1: block 1 even (1.0); blocks 2-3: 1 / mean(0.5, 1)
    assert obs[("a", 1)] == pytest.approx(1.0)
    assert obs[("a", 2)] == pytest.approx(1 / 0.75)
    # (b) transition of block 1: 0.25 / mean(1, 0.25, 1)
    assert obs[("b", 1)] == pytest.approx(0.25 / 0.75)
    # (c) row 0 over layers 1-2: shares 1 and 0.5/0.75; row 1: 1/0.75
    assert obs[("c", 2)] == pytest.approx(((1 + 0.5 / 0.75) / 2) / (1 / 0.75))
    assert obs[("c rank", 3)] == 1
    # (d) classifier: the last quarter of 3 sources is x_2 (share 4/2), the rest 1/2 each
    assert obs[("d", 3)] == pytest.approx(4.0)
    assert dt.reuse_change(reuse, reuse) == 0


class _InitialReuse(Callback):
    def on_train_begin(self, state):
        self.reuse = weight_reuse(state.model)


@pytest.fixture(scope="module")
def tiny_run():
    """A real engine run of a tiny DenseNet with both probes (one step of 64 images), and the
    Fig. 5 matrix of its network as the engine initialised it."""
    config = TrainConfig("densenet_40_k12", budget="smoke", seed=3, train_images=64,
                         test_images=32, epochs=1, model_kwargs=TINY, device="cpu")
    spy = _InitialReuse()
    probes = {name: experiments.PROBES[name]() for name in ("weight_reuse", "gradient_flow")}
    result = run_experiment("tests/densenet_training/tiny", config, callbacks=[spy],
                            progress=False, probes=probes)
    return result, spy.reuse


def test_initial_reuse_rebuilds_the_engines_initialisation(tiny_run):
    result, at_start = tiny_run
    pd.testing.assert_frame_equal(dt.initial_reuse(result).frame, at_start.frame)
    trained = dt.trained_reuse(result)
    assert trained.blocks == [1, 2, 3]
    assert dt.reuse_change(trained, at_start) > 0  # one SGD step at lr 0.1 moved the weights


def test_probe_gradients_know_every_layers_size(tiny_run):
    result, _ = tiny_run
    probe = dt.probe_gradients({"tiny": [result]}, ["tiny", "absent"])
    assert probe["params"].notna().all() and (probe["params"] > 0).all()
    assert np.allclose(probe["grad_rms"], probe["weight_grad_norm"] / np.sqrt(probe["params"]))
    during = dt.ratio_during_training(probe)
    assert list(during["step"]) == sorted(probe["step"].unique())
    assert (during["early / late"] > 0).all()


def test_early_late_ratio_compares_the_first_and_last_quarters():
    # 9 layers: the classifier (last) is left out, quarters of the other 8 are 2 layers each
    frame = pd.DataFrame({"model": "m", "depth": range(1, 10),
                          "grad_rms": [8, 4, 1, 1, 1, 1, 2, 2, 100]})
    assert dt.early_late_ratio(frame)["m"] == pytest.approx(6 / 2)


def test_gradient_flow_at_init_and_its_figure():
    at_init = dt.gradient_flow_at_init("fashion-mnist", ("resnet20_cifar", "plain20_cifar"),
                                       batch=4)
    assert set(at_init["model"]) == {"resnet20_cifar", "plain20_cifar"}
    assert np.allclose(at_init["grad_rms"], at_init["weight_grad_norm"] / np.sqrt(at_init["params"]))
    # the same initialisation for both: ResNet-20 and plain-20 have identical weights
    first = at_init[at_init["depth"] == 1].set_index("model")["weight_norm"]
    assert first["resnet20_cifar"] == first["plain20_cifar"]
    during = pd.DataFrame({"model": ["a", "a"], "step": [0, 5], "early / late": [2.0, 1.5]})
    fig = dt.plot_gradient_profiles(at_init, during, caption=CAPTION)
    assert CAPTION in figure_texts(fig)
