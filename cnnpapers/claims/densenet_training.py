"""Claims checked in the chapter ``densenet_training`` (notes 000, 002, 003: DenseNet training,
Table 2, Figs. 4 and 5, implicit deep supervision).

Checks of trained claims read this chapter's runs (:mod:`cnnpapers.experiments.densenet_training`)
on CIFAR-10 where the budget has them, else on Fashion-MNIST; with ``ctx.run`` False they only
look results up and answer "not run" when a run is missing. The paper's numbers are CIFAR/SVHN
numbers; ours say which data they come from.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from ..chapters import densenet_training as C
from ..experiments.densenet_training import (
    DENSENET_40,
    Arch,
    available_datasets,
    plan,
)
from . import Context, Evidence, Verdict, claim

CHAPTER = "densenet_training"
FIG5 = "note 000, 深层实验 (Fig. 5); note 003, 特征重用"
MOVED = 0.1  # mean change of the normalised Fig. 5 weights below which training left them as initialised


def _runs(ctx: Context, archs: Sequence[Arch]) -> tuple[str, C.Runs] | None:
    """Results of ``archs`` on CIFAR-10 if stored, else on Fashion-MNIST (trained if allowed)."""
    datasets = [d for d in ("cifar10", "fashion-mnist") if d in available_datasets(ctx.budget)]
    for dataset in datasets:
        runs = C.collect(ctx.budget, dataset, run=False, archs=archs)
        if all(a.key in runs for a in archs):
            return dataset, runs
    if ctx.run:
        return "fashion-mnist", C.collect(ctx.budget, "fashion-mnist", archs=archs,
                                          device=ctx.device)
    return None


def _not_run(what: str) -> Evidence:
    return Evidence("—", Verdict.NOT_RUN, f"{what} has not been trained at this budget")


def _pct(x: float, se: float | None = None) -> str:
    return f"{x:.2f}%" + (f" ± {se:.2f}" if se is not None else "")


# ------------------------------------------------------------------------------ training settings


def _settings(schedules: tuple[str, ...]) -> Evidence:
    rows = [q for q in C.NOTE003_SETTINGS if q.schedule in schedules]
    wrong = [q for q in C.settings_mismatches() if q.schedule in schedules]
    ours = "; ".join(f"{q.schedule} {q.setting}={C._show(C.engine_value(q.schedule, q.setting))}"
                     for q in wrong) or f"all {len(rows)} settings match"
    return Evidence(ours, Verdict.NOT_REPRODUCED if wrong else Verdict.REPRODUCED,
                    f"read from the engine's schedule objects {', '.join(schedules)}")


@claim("densenet_training.settings.cifar_svhn", chapter=CHAPTER,
       source="note 003, 实际效果 / 训练",
       statement="On CIFAR and SVHN DenseNets are trained with SGD, batch 64, for 300 and 40 "
                 "epochs, learning rate 0.1 divided by 10 at 50% and 75% of the epochs, weight "
                 "decay 1e-4, Nesterov momentum 0.9, and dropout 0.2 where there is no "
                 "augmentation", quoted="64; 300 / 40; 0.1; 50%, 75%; 1e-4; 0.9; 0.2", kind="other")
def _settings_cifar(ctx: Context) -> Evidence:
    return _settings(("densenet-cifar", "densenet-svhn"))


@claim("densenet_training.settings.imagenet", chapter=CHAPTER,
       source="note 003, 实际效果 / 训练",
       statement="On ImageNet: batch 256, 90 epochs, learning rate 0.1 divided by 10 at epochs "
                 "30 and 60, same weight decay and momentum", quoted="256; 90; 30, 60",
       kind="other")
def _settings_imagenet(ctx: Context) -> Evidence:
    return _settings(("densenet-imagenet",))


# ------------------------------------------------------------------------------ Table 2


@claim("densenet_training.table2.fewer_params_lower_error", trained=True, chapter=CHAPTER,
       source="note 000, 结果 (Table 2 caption); note 003, CIFAR和SVHN上的分类结果",
       statement="DenseNets achieve lower error rates while using fewer parameters than ResNet",
       quoted="C10+: DenseNet-BC-100 (0.8M) 4.51% vs ResNet-110 (1.7M) 6.41%", kind="ordering")
def _fewer_params_lower_error(ctx: Context) -> Evidence:
    p = plan(ctx.budget)
    found = _runs(ctx, p.table2)
    if found is None:
        return _not_run("Table 2's trio")
    dataset, runs = found
    comps = C.fewer_params_lower_error(p, runs)
    failed = [f"{c.resnet} did not train (final training error {c.resnet_train_error:.1f}%, "
              "chance level)" for c in comps if not c.resnet_trained]
    comps = [c for c in comps if c.resnet_trained]
    if not comps:
        return Evidence("; ".join(failed) + f" on {dataset}", Verdict.NOT_RUN,
                        f"no ResNet of Table 2 learnt anything at budget {ctx.budget} with the "
                        "DenseNet recipe, so there is nothing to compare the DenseNets with")
    parts, beaten, clear = [], 0, 0
    for c in comps:
        winners, sig = c.winners(), c.winners(significant_only=True)
        beaten += bool(winners)
        clear += bool(sig)
        best = min(c.smaller, key=lambda d: d[2]) if c.smaller else None
        parts.append(f"{c.resnet} ({c.resnet_params:,} params) {_pct(c.resnet_error, c.resnet_se)}"
                     + (f" vs {best[0]} ({best[1]:,}) {_pct(best[2], best[3])}" if best else
                        " vs no smaller DenseNet"))
    if clear == len(comps):
        verdict = Verdict.REPRODUCED
    elif beaten:
        verdict = Verdict.PARTLY
    else:
        verdict = Verdict.NOT_REPRODUCED
    return Evidence("; ".join(parts + failed) + f" on {dataset}", verdict,
                    f"test error at budget {ctx.budget}; for {beaten} of {len(comps)} trained "
                    f"ResNets a smaller DenseNet has a lower error, by more than 2 s.e. for "
                    f"{clear}" + ("; a ResNet that did not train is left out" if failed else ""))


@claim("densenet_training.capacity", trained=True, chapter=CHAPTER,
       source="note 003, 模型容量", statement="Without compression or bottleneck layers, "
       "DenseNets perform better as L and k increase", quoted="C10+: 5.24% (1.0M) → 4.10% (7.0M) "
       "→ 3.74% (27.2M)", kind="ordering")
def _capacity(ctx: Context) -> Evidence:
    plain = [a for a in plan(ctx.budget).fig4_variants if a.family == "DenseNet"]
    if len(plain) < 2:
        return Evidence("—", Verdict.NEEDS_GPU,
                        f"the {ctx.budget} budget trains a single plain DenseNet; the gpu budget "
                        "trains L = 40, 70 and 100")
    found = _runs(ctx, plain)
    if found is None:
        return _not_run("the plain DenseNets")
    dataset, runs = found
    frame = C.efficiency_frame(plain, runs).sort_values("params")
    errors = frame["error (%)"].tolist()
    falling = all(b < a for a, b in itertools.pairwise(errors))
    ours = ", ".join(f"{r['model']} {_pct(r['error (%)'])}" for _, r in frame.iterrows())
    verdict = (Verdict.REPRODUCED if falling else
               Verdict.PARTLY if errors[-1] < errors[0] else Verdict.NOT_REPRODUCED)
    return Evidence(f"{ours} on {dataset}", verdict, "plain DenseNets (k=12) by depth")


# ------------------------------------------------------------------------------ Fig. 4


@claim("densenet_training.fig4.bc_most_efficient", trained=True, chapter=CHAPTER,
       source="note 003, 参数效率 (Fig. 4 left)",
       statement="DenseNet-BC is consistently the most parameter-efficient variant of DenseNet",
       quoted="Fig. 4 (left), C10+", kind="ordering")
def _bc_most_efficient(ctx: Context) -> Evidence:
    archs = plan(ctx.budget).fig4_variants
    found = _runs(ctx, archs)
    if found is None:
        return _not_run("Fig. 4's DenseNet variants")
    dataset, runs = found
    table = C.dominance(C.efficiency_frame(archs, runs))
    column = table.columns[-1]
    beaten = int((table[column] != "none").sum())
    verdict = (Verdict.REPRODUCED if beaten == len(table) else
               Verdict.PARTLY if beaten else Verdict.NOT_REPRODUCED)
    return Evidence(f"{beaten} of {len(table)} other variants beaten on {dataset}", verdict,
                    "a variant counts as beaten when some DenseNet-BC has no more parameters and "
                    "no higher test error")


@claim("densenet_training.fig4.bc_third_of_resnet", trained=True, chapter=CHAPTER,
       source="note 000, Figure 4 caption; note 003, 参数效率",
       statement="DenseNet-BC requires about 1/3 of the parameters of a (pre-activation) ResNet "
                 "to achieve comparable accuracy", quoted="about 1/3", kind="other")
def _bc_third(ctx: Context) -> Evidence:
    p = plan(ctx.budget)
    bc = [a for a in p.fig4_variants if a.family == "DenseNet-BC"]
    found = _runs(ctx, [*bc, *p.fig4_resnets])
    if found is None:
        return _not_run("Fig. 4's DenseNet-BC and pre-act ResNet sweep")
    dataset, runs = found
    rows = C.equal_error_params(C.efficiency_frame([*bc, *p.fig4_resnets], runs))
    ours = ", ".join(f"{e.resnet}: {e.bound} {e.ratio:.2f}" for e in rows)
    # '<=' values are upper bounds (conservative here); '>' values lower bounds, which cap the
    # verdict at partly
    typical = math.exp(sum(math.log(e.ratio) for e in rows) / len(rows))
    open_ended = any(e.bound == ">" for e in rows)
    if typical <= 0.5 and not open_ended:
        verdict = Verdict.REPRODUCED
    elif typical < 1:
        verdict = Verdict.PARTLY
    else:
        verdict = Verdict.NOT_REPRODUCED
    return Evidence(f"share of the ResNet's parameters DenseNet-BC needs: {ours} on {dataset}",
                    verdict, "BC error interpolated linearly in log-parameters between our BC "
                    "points; '<=' means the smallest BC is already as good, '>' that none is. "
                    f"Geometric mean share {typical:.2f}: reproduced when at most 0.5 (and every "
                    "ResNet is matched), partly below 1")


@claim("densenet_training.fig4.curves", trained=True, chapter=CHAPTER,
       source="note 003, 参数效率 (Fig. 4 right)",
       statement="A very deep pre-activation ResNet converges to a lower training loss than "
                 "DenseNet-BC-100 but reaches a similar test error",
       quoted="1001 layers, 10.2M vs 100 layers, 0.8M", kind="error")
def _curves(ctx: Context) -> Evidence:
    deep, bc = plan(ctx.budget).fig4_curves
    found = _runs(ctx, [deep, bc])
    if found is None:
        return _not_run("Fig. 4's curves")
    dataset, runs = found
    r, d = C.final_curves(runs[deep.key][0]), C.final_curves(runs[bc.key][0])
    (_, se_r), (_, se_d) = C.final_error(runs[deep.key][:1]), C.final_error(runs[bc.key][:1])
    lower_loss = r["train_loss"] < d["train_loss"]
    similar = not C.significant(r["test_error"] - d["test_error"], se_r, se_d)
    verdict = (Verdict.REPRODUCED if lower_loss and similar else
               Verdict.PARTLY if lower_loss or similar else Verdict.NOT_REPRODUCED)
    return Evidence(
        f"{deep.label}: training loss {r['train_loss']:.3f}, test error {_pct(r['test_error'])}; "
        f"{bc.label}: {d['train_loss']:.3f}, {_pct(d['test_error'])} on {dataset}", verdict,
        f"our deep ResNet has {runs[deep.key][0].metrics['parameters']:,} parameters, not the "
        "paper's 10.2M; 'similar' = within 2 s.e.")


# ------------------------------------------------------------------------------ Fig. 5


def _reuse(ctx: Context):
    found = _runs(ctx, [DENSENET_40])
    if found is None:
        return None
    dataset, runs = found
    result = runs[DENSENET_40.key][0]
    trained, initial = C.trained_reuse(result), C.initial_reuse(result)
    return dataset, C.reuse_observations(trained, initial), C.reuse_change(trained, initial)


def _spread_claim(ctx: Context, key: str, what: str) -> Evidence:
    """(a) and (b): a share that must stay at least 0.5 (half an even spread) in every block."""
    found = _reuse(ctx)
    if found is None:
        return _not_run("DenseNet (L=40, k=12)")
    dataset, obs, moved = found
    mine = [o for o in obs if o.key == key]
    held = sum(o.trained >= 0.5 for o in mine)
    ours = ", ".join(f"block {o.block}: {o.trained:.2f} (initially {o.initial:.2f})" for o in mine)
    if held == len(mine):
        verdict = Verdict.REPRODUCED if moved >= MOVED else Verdict.PARTLY
    else:
        verdict = Verdict.PARTLY if held else Verdict.NOT_REPRODUCED
    return Evidence(f"{ours} on {dataset}", verdict,
                    f"{what}; 1 = an even spread, as at initialisation. Training moved the "
                    f"normalised weights by {moved:.3f} on average; below {MOVED} the pattern is "
                    "still the initial one and the check counts as partly reproduced")


@claim("densenet_training.fig5.a", trained=True, chapter=CHAPTER, source=FIG5,
       statement="Features extracted by early layers are directly used by deep layers of the "
                 "same dense block", quoted="observation (a)", kind="other")
def _fig5_a(ctx: Context) -> Evidence:
    return _spread_claim(ctx, "a", "mean normalised weight the last third of each block's layers "
                                   "give the first third's outputs (>= 0.5 required)")


@claim("densenet_training.fig5.b", trained=True, chapter=CHAPTER, source=FIG5,
       statement="Transition layers use the outputs of all layers of the preceding dense block",
       quoted="observation (b)", kind="other")
def _fig5_b(ctx: Context) -> Evidence:
    return _spread_claim(ctx, "b", "smallest normalised weight a transition gives any source of "
                                   "its block (>= 0.5 required)")


@claim("densenet_training.fig5.c", trained=True, chapter=CHAPTER, source=FIG5,
       statement="Layers in the second and third dense blocks assign the least weight to the "
                 "outputs of the transition layer (the first row), which are redundant",
       quoted="observation (c)", kind="other")
def _fig5_c(ctx: Context) -> Evidence:
    found = _reuse(ctx)
    if found is None:
        return _not_run("DenseNet (L=40, k=12)")
    dataset, obs, _ = found
    ratio = {o.block: o for o in obs if o.key == "c"}
    rank = {o.block: o for o in obs if o.key == "c rank"}
    least = sum(rank[b].trained == 1 for b in rank)
    below = sum(ratio[b].trained < 1 for b in ratio)
    verdict = (Verdict.REPRODUCED if least == len(rank) else
               Verdict.PARTLY if least or below == len(ratio) else Verdict.NOT_REPRODUCED)
    ours = ", ".join(f"block {b}: first row {ratio[b].trained:.2f}x the other rows' mean, rank "
                     f"{rank[b].trained:.0f} (initially {ratio[b].initial:.2f}x)" for b in ratio)
    return Evidence(f"{ours} on {dataset}", verdict,
                    "reproduced when the first row gets the least weight of all rows in both "
                    "blocks; partly when it is least in one, or below average in both")


@claim("densenet_training.fig5.d", trained=True, chapter=CHAPTER, source=FIG5,
       statement="The classification layer concentrates its weight on the final feature maps",
       quoted="observation (d)", kind="other")
def _fig5_d(ctx: Context) -> Evidence:
    found = _reuse(ctx)
    if found is None:
        return _not_run("DenseNet (L=40, k=12)")
    dataset, obs, _ = found
    d = next(o for o in obs if o.key == "d")
    verdict = (Verdict.REPRODUCED if d.trained >= 1.2 else
               Verdict.PARTLY if d.trained >= 1.05 else Verdict.NOT_REPRODUCED)
    return Evidence(f"{d.trained:.2f}x (initially {d.initial:.2f}x) on {dataset}", verdict,
                    f"{d.statistic}, on normalised weights; reproduced from 1.2x, partly from "
                    "1.05x")


# ------------------------------------------------------------------------------ deep supervision


@claim("densenet_training.deep_supervision", trained=True, chapter=CHAPTER,
       source="note 000, 隐含深度监督 and DenseNet的优点 (4); note 003, 隐性深度监督",
       statement="Through the short connections every layer receives supervision directly from "
                 "the loss, which alleviates the vanishing-gradient problem of deep plain nets",
       quoted="implicit deep supervision", kind="other")
def _deep_supervision(ctx: Context) -> Evidence:
    ratios = C.early_late_ratio(C.gradient_flow_at_init("fashion-mnist"))
    dense, res, plain = (ratios[C.GRADIENT_LABELS[m]] for m in C.GRADIENT_MODELS)
    spread = {name: abs(math.log10(r)) for name, r in
              (("dense", dense), ("res", res), ("plain", plain))}
    better = spread["dense"] + 1 <= spread["plain"]  # at least 10x closer to an even profile
    if not better:
        verdict = Verdict.NOT_REPRODUCED
    else:
        verdict = Verdict.REPRODUCED if plain < 1 else Verdict.PARTLY
    kind = "vanishes" if plain < 1 else "grows"
    return Evidence(
        f"early/late gradient per weight at initialisation: DenseNet-40 {dense:.3g}, "
        f"ResNet-56 {res:.3g}, plain-56 {plain:.3g}", verdict,
        f"one Fashion-MNIST batch of 16 in training mode; in the plain net the gradient per "
        f"weight {kind} towards the input by {max(plain, 1 / plain):.3g}x, in DenseNet it stays "
        f"within {max(dense, 1 / dense):.3g}x" + (
            "; the short paths keep the gradient even, but the plain net's failure here is an "
            "explosion towards the input, not the vanishing the note names" if plain >= 1 else ""))
