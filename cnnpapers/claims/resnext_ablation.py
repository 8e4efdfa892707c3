"""Claims checked in the chapter ``resnext_ablation``: cardinality against width at preserved
complexity (note 000, 基数 and 实验; Xie et al. 2017, Table 3 and Fig. 5).

The complexity claims are counted on the ImageNet nets; the accuracy claims need ImageNet, so
they are answered on the chapter's scaled-down ablation (:mod:`cnnpapers.experiments.
resnext_ablation`), read from stored results when the context may not train.
"""

from __future__ import annotations

import math

from .. import experiments
from ..chapters import resnext_ablation as ra
from . import Context, Evidence, Verdict, claim

CHAPTER = "resnext_ablation"
APPROXIMATE = 0.05  # "~25 million": within 5 % of the quoted round number


def _complexity(depth: int, params_m: float, gflops: float) -> Evidence:
    t = ra.table3_complexity((depth,))
    ok = ((t["params (M)"] / params_m - 1).abs().max() <= APPROXIMATE
          and (t["GMACs"] / gflops - 1).abs().max() <= APPROXIMATE)
    return Evidence(f"{t['params (M)'].min():.2f}–{t['params (M)'].max():.2f} M parameters, "
                    f"{t['GMACs'].min():.2f}–{t['GMACs'].max():.2f} GMACs over the five settings",
                    Verdict.REPRODUCED if ok else Verdict.NOT_REPRODUCED,
                    f"counted at 224×224; within {APPROXIMATE:.0%} of the quoted figure counts as "
                    "'~'; the paper's FLOPs are multiply-accumulates")


@claim("resnext.table3.complexity50", chapter=CHAPTER,
       source="note 000, Figure 5 caption and Table 3",
       statement="ResNet-50 (1×64d) and the ResNeXt-50s of Table 3 (2×40d … 32×4d) have preserved "
                 "complexity: about 25 million parameters and 4.1 billion FLOPs",
       quoted="∼25 million parameters, ∼4.1 billion FLOPs", kind="params")
def _complexity50(ctx: Context) -> Evidence:
    return _complexity(50, 25, 4.1)


@claim("resnext.table3.complexity101", chapter=CHAPTER,
       source="note 000, Figure 5 caption and Table 3",
       statement="ResNet-101 (1×64d) and the ResNeXt-101s of Table 3 have preserved complexity: "
                 "about 44 million parameters and 7.8 billion FLOPs",
       quoted="∼44 million parameters, ∼7.8 billion FLOPs", kind="params")
def _complexity101(ctx: Context) -> Evidence:
    return _complexity(101, 44, 7.8)


@claim("resnext.table3.top1", chapter=CHAPTER, source="note 000, Table 3",
       statement="At preserved complexity, ImageNet top-1 error falls as cardinality grows: "
                 "ResNeXt-50 from 23.9 % (1×64d) to 22.2 % (32×4d), ResNeXt-101 from 22.0 % to 21.2 %",
       quoted="23.9 → 23.0 → 22.6 → 22.3 → 22.2; 22.0 → 21.7 → 21.4 → 21.3 → 21.2", kind="error")
def _top1(ctx: Context) -> Evidence:
    return Evidence("ImageNet is not available; see the Fashion-MNIST ablation "
                    "(resnext.ablation.cardinality)", Verdict.NEEDS_DATA)


def _frame(ctx: Context):
    """The chapter's runs as an :func:`~cnnpapers.chapters.resnext_ablation.ablation_frame`;
    ``None`` when the context may not train and some result is not stored."""
    todo = experiments.experiments(ctx.budget, CHAPTER)
    if ctx.run:
        runs = [(e, experiments.run(e, device=ctx.device)) for e in todo]
    else:
        runs = [(e, experiments.lookup(e)) for e in todo]
        if any(r is None for _, r in runs):
            return None
    return ra.ablation_frame(runs)


def _setup(ctx: Context) -> str:
    plan = ra.ablation_plan(ctx.budget)
    return (f"Fashion-MNIST, ResNeXt-29 with base width {plan.template.base_channels}, "
            f"equal parameters, budget {ctx.budget}")


@claim("resnext.ablation.cardinality", trained=True, chapter=CHAPTER, source="note 000, 基数 (cardinality); Table 3",
       statement="At equal complexity, increasing cardinality is a more effective way of gaining "
                 "accuracy than increasing width",
       quoted="Table 3: 1×64d 23.9 % vs 32×4d 22.2 % top-1", kind="ordering")
def _cardinality(ctx: Context) -> Evidence:
    frame = _frame(ctx)
    if frame is None:
        return Evidence("no stored runs", Verdict.NOT_RUN)
    cmp = ra.compare_endpoints(frame, "test_error")
    if cmp.outcome == "cardinality better":
        monotone = math.isnan(cmp.trend) or cmp.trend < 0  # two settings: no trend to check
        verdict = Verdict.REPRODUCED if monotone else Verdict.PARTLY
    elif cmp.outcome == "noise not measured" and cmp.difference > 0:
        verdict = Verdict.PARTLY
    else:
        verdict = Verdict.NOT_REPRODUCED
    trend = "" if math.isnan(cmp.trend) else \
        f"; rank correlation of error with cardinality {cmp.trend:+.2f}"
    return Evidence(cmp.describe(), verdict, f"{cmp.outcome}{trend} ({_setup(ctx)})")


@claim("resnext.fig5.curves", trained=True, chapter=CHAPTER, source="note 000, Figure 5",
       statement="At preserved complexity ResNeXt trains to lower training and validation error "
                 "than ResNet",
       quoted="Fig. 5 curves (ResNet-50 vs ResNeXt-50, ∼25M parameters)", kind="error")
def _curves(ctx: Context) -> Evidence:
    frame = _frame(ctx)
    if frame is None:
        return Evidence("no stored runs", Verdict.NOT_RUN)
    train, test = (ra.compare_endpoints(frame, c) for c in ("train_error", "test_error"))
    wins = [c.outcome == "cardinality better" for c in (train, test)]
    unmeasured = math.isnan(test.noise) and train.difference > 0 and test.difference > 0
    verdict = (Verdict.REPRODUCED if all(wins) else
               Verdict.PARTLY if any(wins) or unmeasured else Verdict.NOT_REPRODUCED)
    return Evidence(f"final training error {train.resnet_error:.2%} vs {train.resnext_error:.2%}, "
                    f"test error {test.resnet_error:.2%} vs {test.resnext_error:.2%} "
                    f"({test.resnet} vs {test.resnext})", verdict,
                    f"training: {train.outcome}; test: {test.outcome} ({_setup(ctx)})")
