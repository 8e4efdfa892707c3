"""The chapter ``survey_attention``: squeeze-and-excitation (Hu et al. 2018) and CBAM (Woo et al.
2018), the blocks note 001's taxonomy files under feature-map exploitation and attention.

What they cost (parameters and multiply-adds added to the ResNet they sit in, at ImageNet and
at CIFAR size, beside the papers' printed figures) and what they buy when trained at the budget
against the same ResNet without them (:mod:`cnnpapers.experiments.survey_attention`). Quoted
numbers come from the model cards and from :data:`BASELINE_QUOTES`, labelled as quotes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import experiments
from ..analysis.cost import model_cost
from ..analysis.hooks import forward_with_hooks
from ..budgets import get_budget
from ..provenance import device_name
from ..analysis.seedruns import Difference, difference
from ..experiments.survey_attention import (BASELINE, CHAPTER, CPU_SECONDS_PER_IMAGE, MODELS,
                                            plan)
from ..models.attention import ChannelAttention, SpatialAttention, SqueezeExcitation
from ..registry import create_model, model_info
from ..results import Result

Runs = dict[str, list[Result]]  # model name -> its results, one per seed

# (baseline, with attention): the paper's ImageNet nets, whose down-sampling blocks stride in the
# first 1x1 as the SE and CBAM papers count them, and our CIFAR-size pair.
IMAGENET_PAIRS = (("resnet50_v1", "se_resnet50"), ("resnet50_v1", "cbam_resnet50"))
CIFAR_PAIRS = (("resnet20_cifar", "se_resnet20_cifar"), ("resnet20_cifar", "cbam_resnet20_cifar"))

# The smallest difference in final test error read as a difference; the margin is larger where
# the seeds' spread or the test set's sampling error says so (analysis.seedruns.difference).
MIN_GAP = 0.01


@dataclass(frozen=True)
class Quote:
    source: str
    params: str | None = None  # millions, as printed
    gflops: str | None = None  # as printed (multiply-adds)
    top1: float | None = None  # ImageNet top-1 error (%), single crop


# The baseline rows of the two papers' own tables, for the net each attention variant extends.
BASELINE_QUOTES = {
    "se_resnet50": Quote("Hu et al. 2018, Table 2, row 'ResNet-50', re-implementation column",
                         gflops="3.86", top1=24.80),
    "cbam_resnet50": Quote("Woo et al. 2018, Table 4, row 'ResNet50 (baseline)'", params="25.56",
                           gflops="3.858"),
}
SE_ADDED_PARAMS_QUOTE = "~2.5 million"  # Hu et al. 2018, Sec. 4 (card remark of se_resnet50)


# ---------------------------------------------------------------------------------------------
# Cost


def attention_pointwise_ops(model: nn.Module, input_size: Sequence[int]) -> int:
    """Per-element operations of the attention modules on one image, which the convolution
    counter leaves out: SE squeezes (one add per element, Eq. 2) and scales (one multiply,
    Eq. 4); CBAM's channel map pools twice (average and max) and scales, its spatial map pools
    twice across channels and scales — three per element each."""
    per_element = {SqueezeExcitation: 2, ChannelAttention: 3, SpatialAttention: 3}
    counts: list[int] = []
    x = torch.zeros(1, *input_size, device=next(model.parameters()).device)
    forward_with_hooks(model, x, [m.register_forward_hook(
        lambda mod, args, out, k=per_element[type(m)]: counts.append(k * args[0].numel()))
        for m in model.modules() if type(m) in per_element])
    return sum(counts)


def _cost(name: str, input_size: Sequence[int], overrides: dict) -> tuple[int, int, int]:
    with torch.device("meta"):
        model = create_model(name, **overrides)
    cost = model_cost(model, input_size, name=name)
    return cost.params, cost.macs, attention_pointwise_ops(model, input_size)


def cost_table(pairs: Iterable[tuple[str, str]], input_size: Sequence[int] | None = None,
               num_classes: int | None = None) -> pd.DataFrame:
    """What each attention variant adds to its baseline at ``input_size`` (default: the card's):
    parameters, multiply-accumulates of convolutions and fc layers (the counter's convention),
    and the pointwise pooling/scaling operations of :func:`attention_pointwise_ops`."""
    rows = []
    for base, name in pairs:
        size = tuple(input_size or model_info(name).input_size)
        overrides = {"in_channels": size[0]}
        if num_classes is not None:
            overrides["num_classes"] = num_classes
        p0, m0, _ = _cost(base, size, overrides)
        p1, m1, ops = _cost(name, size, overrides)
        rows.append({"net": name, "baseline": base, "input": "x".join(map(str, size)),
                     "parameters": p1, "added parameters": p1 - p0,
                     "added parameters (%)": 100 * (p1 - p0) / p0,
                     "MMACs (conv + fc)": m1 / 1e6, "added MMACs": (m1 - m0) / 1e6,
                     "added MACs (%)": 100 * (m1 - m0) / m0,
                     "pooling/scaling ops (M)": ops / 1e6})
    return pd.DataFrame(rows)


def quoted_costs(pairs: Iterable[tuple[str, str]] = IMAGENET_PAIRS) -> pd.DataFrame:
    """The papers' printed parameters and GFLOPs, with and without the attention module."""
    rows = []
    for base, name in pairs:
        rep, b = model_info(name).reported, BASELINE_QUOTES[name]
        rows.append({"net": name, "params (M, quoted)": rep.params or "—",
                     "GFLOPs (quoted)": rep.gflops or "—", "source": rep.source})
        rows.append({"net": f"{base} (that paper's baseline)", "params (M, quoted)": b.params or "—",
                     "GFLOPs (quoted)": b.gflops or "—", "source": b.source})
    return pd.DataFrame(rows)


def quoted_top1_gain(name: str = "se_resnet50") -> tuple[float, float, float]:
    """(baseline, with attention, gain) of the quoted ImageNet top-1 errors (%)."""
    base = BASELINE_QUOTES[name].top1
    ours = model_info(name).reported.errors["ImageNet top-1"]
    return base, ours, round(base - ours, 2)


def printed_match(value: float, printed: str) -> bool:
    """True when ``value`` rounds to ``printed`` at its printed precision."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return round(value, decimals) == float(printed)


# ---------------------------------------------------------------------------------------------
# Training at the budget


def collect(budget: str, *, device: str | None = None, run: bool = True) -> Runs | None:
    """The chapter's results by model (trained now if ``run``, else only looked up: ``None``
    when one is not stored)."""
    out: Runs = {}
    for e in experiments.experiments(budget, CHAPTER):
        result = experiments.run(e, device=device) if run else experiments.lookup(e)
        if result is None:
            return None
        out.setdefault(e.config.model, []).append(result)
    return out


def cpu_minutes(speedup: float = 1.6) -> float:
    """Estimated minutes of the ``cpu`` plan's runs on two idle cores (see
    :data:`~cnnpapers.experiments.survey_attention.CPU_SECONDS_PER_IMAGE`)."""
    p = plan("cpu")
    seconds = sum(len(p.seeds) * p.epochs * (p.train_images * CPU_SECONDS_PER_IMAGE[m][0]
                                             + p.test_images * CPU_SECONDS_PER_IMAGE[m][1])
                  for m in MODELS)
    return seconds / speedup / 60


def seed_table(runs: Runs) -> pd.DataFrame:
    """Final test and training error (%) per model and seed, wide: one column per seed, then the
    mean, the spread and the difference to the baseline with its margin."""
    rows = []
    for model, results in runs.items():
        test = np.array([r.metrics["test_error"] for r in results])
        row = {"model": model, "parameters": results[0].metrics["parameters"]}
        row.update({f"test error seed {r.config['seed']} (%)": 100 * r.metrics["test_error"]
                    for r in results})
        row["mean test error (%)"] = 100 * test.mean()
        row["mean training error (%)"] = 100 * np.mean([r.metrics["train_error"] for r in results])
        if model != BASELINE:
            d = improvement(runs, model)
            row["gain over baseline (points)"] = 100 * d.diff
            row["margin (points)"] = 100 * d.margin
        rows.append(row)
    return pd.DataFrame(rows)


def improvement(runs: Runs, model: str, baseline: str = BASELINE) -> Difference:
    """``mean(baseline) − mean(model)`` of the final test error: positive when ``model`` is
    better; the margin includes the seeds' spread and the test set's sampling error."""
    return difference([r.metrics["test_error"] for r in runs[baseline]],
                      [r.metrics["test_error"] for r in runs[model]], min_margin=MIN_GAP,
                      n=runs[model][0].metrics["test_images"])


def seed_noise(runs: Runs) -> float | None:
    """The pooled standard deviation of the final test error between seeds of the same model
    (fraction), or ``None`` with one seed."""
    groups = [np.array([r.metrics["test_error"] for r in results]) for results in runs.values()]
    dof = sum(len(g) - 1 for g in groups)
    if dof == 0:
        return None
    return float(np.sqrt(sum(((g - g.mean()) ** 2).sum() for g in groups) / dof))


def speed_table(budget: str, device: str = "cpu", seed: int = 0) -> pd.DataFrame:
    """Training-step time of the three nets on 1x28x28 images, measured side by side (interleaved
    rounds, medians: :func:`cnnpapers.bench.interleaved_times`), against their multiply-adds,
    both relative to the baseline: does time follow MACs?"""
    from ..bench import interleaved_times, train_step

    batch, rounds = get_budget(budget).pick(smoke=(8, 1), cpu=(128, 7), gpu=(128, 25))
    dev = torch.device(device)
    torch.manual_seed(seed)
    x = torch.randn(batch, 1, 28, 28, device=dev)
    y = torch.randint(10, (batch,), device=dev)
    steps = {m: train_step(create_model(m, in_channels=1, num_classes=10).to(dev), x, y)
             for m in MODELS}
    seconds = {m: float(np.median(t))
               for m, t in interleaved_times(steps, dev, warmup=1, rounds=rounds).items()}
    macs = {m: _cost(m, (1, 28, 28), {"in_channels": 1, "num_classes": 10})[1] for m in MODELS}
    return pd.DataFrame([{
        "model": m, "training images/s": batch / seconds[m],
        "time per image vs baseline": seconds[m] / seconds[BASELINE],
        "MACs vs baseline": macs[m] / macs[BASELINE],
        "device": device_name(dev), "batch": batch, "rounds": rounds,
    } for m in MODELS])
