"""Comparing trained nets over seeds: learning curves and differences with their noise margin.

A chapter that trains several nets, each with one or more seeds, asks two questions: what did
the curves look like, and is a difference in final error larger than the run-to-run noise?

* :func:`curves_frame` turns ``{net: [Result, ...]}`` into one tidy row per (net, seed, epoch)
  with the optimiser steps so far; :func:`plot_error_curves` draws training (solid) and test
  (dashed) error against steps, the mean over seeds with a band from the lowest to the highest.
* :func:`difference` compares the per-seed final errors of two nets: ``mean(a) − mean(b)`` and a
  margin of two standard errors of that difference, never below ``min_margin``. The standard
  error combines the seed-to-seed spread (Welch; needs two seeds on each side) and, given the
  number of images ``n`` the errors were measured on, the binomial error of each mean error rate
  on a finite set (as if the two nets were scored on independent sets, which overstates it for a
  shared test set: a conservative margin). The description says which parts were measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..published import accuracy_floor, published_for
from .plots import finish, label, new_figure

COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown")


def converged(result) -> bool:
    """Whether a trained run reached the accuracy floor of its model and dataset, i.e. counts as
    evidence; a run at the ``smoke`` budget or on a dataset without a floor never does."""
    floor = accuracy_floor(result.config["dataset"], result.config["model"])
    return (result.config["budget"] != "smoke" and floor is not None
            and result.metrics["test_accuracy"] >= floor)


def final_accuracies(results: Sequence) -> pd.DataFrame:
    """One row per run: its seed, final and best test accuracy (%), the floor it must reach and
    whether it did (:func:`converged`)."""
    rows = []
    for r in results:
        floor = accuracy_floor(r.config["dataset"], r.config["model"])
        rows.append({"seed": r.config["seed"],
                     "final test accuracy (%)": 100 * r.metrics["test_accuracy"],
                     "best test accuracy (%)": 100 * (1 - r.metrics["best_test_error"]),
                     "floor (%)": None if floor is None else 100 * floor,
                     "converged": converged(r)})
    return pd.DataFrame(rows)


def mean_and_standard_error(values: Sequence[float]) -> tuple[float, float | None]:
    """The mean and its standard error over seeds (``None`` with a single seed)."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), (float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else None)


def published_table(model: str) -> pd.DataFrame:
    """The published Fashion-MNIST rows of ``model``'s family, as quoted (accuracy in %)."""
    return pd.DataFrame([{"classifier (quoted)": p.classifier, "parameters": p.parameters,
                          "preprocessing": p.preprocessing,
                          "test accuracy (%)": 100 * p.test_accuracy}
                         for p in published_for(model)])


def curves_frame(runs: Mapping[str, Sequence]) -> pd.DataFrame:
    """One row per (net, seed, epoch) of :class:`~cnnpapers.results.Result` s from the training
    engine: ``net``, ``seed``, ``epoch``, ``step`` (optimiser steps so far), ``train_error``,
    ``test_error`` (fractions)."""
    rows = []
    for net, results in runs.items():
        for r in results:
            steps = r.metrics["train_images"] // r.metrics["batch_size"]
            for epoch, train, test in zip(r.curves["epoch"], r.curves["train_error"],
                                          r.curves["test_error"]):
                rows.append({"net": net, "seed": r.config["seed"], "epoch": epoch,
                             "step": epoch * steps, "train_error": train, "test_error": test})
    return pd.DataFrame(rows, columns=["net", "seed", "epoch", "step", "train_error",
                                       "test_error"])


def plot_error_curves(curves: pd.DataFrame, panels: Sequence[tuple[str, Sequence[str]]], *,
                      caption: str, title: str, test: bool = True):
    """Error (%) against optimiser steps, one panel per ``(panel title, nets)``: training error
    solid, test error dashed (``test=False`` leaves it out); mean over seeds, shaded from the
    lowest to the highest seed where there are several."""
    fig, axes = new_figure(len(panels), width=5.6 if len(panels) > 1 else 7.0, height=4.2,
                           squeeze=False)
    nets = list(dict.fromkeys(n for _, names in panels for n in names))
    colours = {n: COLOURS[i % len(COLOURS)] for i, n in enumerate(nets)}
    columns = (("train_error", "-", "training"),) + ((("test_error", "--", "test"),) if test else ())
    for ax, (name, names) in zip(axes, panels):
        for net in names:
            part = curves[curves["net"] == net]
            for column, style, what in columns:
                by_step = part.groupby("step")[column]
                mean = by_step.mean() * 100
                ax.plot(mean.index, mean.values, style, marker=".", color=colours[net],
                        label=f"{net} ({what})")
                if part["seed"].nunique() > 1:
                    ax.fill_between(mean.index, by_step.min().values * 100,
                                    by_step.max().values * 100, color=colours[net], alpha=0.15,
                                    linewidth=0)
        ax.legend(fontsize=8)
        label(ax, title=name, xlabel="optimiser steps", ylabel="error (%)")
    return finish(fig, caption, suptitle=title)


@dataclass(frozen=True)
class Difference:
    """``mean(a) − mean(b)`` of per-seed values and the margin it must exceed to count."""

    diff: float
    margin: float
    seeds: int  # the smaller of the two seed counts
    min_margin: float
    images: int | None = None  # images each error rate was measured on, if known
    seed_variance: float | None = None  # var(a) + var(b) of single seeds; None with one seed
    sampling_variance: float = 0.0  # the binomial part of the difference's variance

    @property
    def above(self) -> bool:
        return self.diff > self.margin

    @property
    def below(self) -> bool:
        return self.diff < -self.margin

    @property
    def within(self) -> bool:
        return not (self.above or self.below)

    def seeds_to_decide(self) -> int | None:
        """Seeds per net at which a gap of this size would clear two standard errors, if each
        seed spreads as measured; ``None`` when more seeds cannot decide it (the gap is inside
        the test set's own sampling error or the minimum margin: a longer run or more test
        images might) or when one seed leaves the spread unmeasured."""
        half_gap_squared = (self.diff / 2) ** 2
        if (self.seed_variance is None or abs(self.diff) <= self.min_margin
                or half_gap_squared <= self.sampling_variance):
            return None
        return max(2, math.ceil(self.seed_variance / (half_gap_squared - self.sampling_variance)))

    def noise(self) -> str:
        """How the margin was set, in words (values are fractions, shown in points = %)."""
        parts = ([f"seed spread ({self.seeds} seeds each)"] if self.seeds > 1 else [])
        if self.images:
            parts.append(f"sampling error on {self.images:,} images")
        measured = (" and ".join(parts) if parts else "nothing measured")
        unmeasured = "" if self.seeds > 1 else "; one seed, so run-to-run noise is not measured"
        return (f"margin {self.margin * 100:.2f} points: 2 standard errors from {measured}, at "
                f"least {self.min_margin * 100:.2g}{unmeasured}")


def difference(a: Sequence[float], b: Sequence[float], *, min_margin: float,
               n: int | None = None) -> Difference:
    """Compare per-seed values ``a`` and ``b``; ``n``: images each value (an error rate) was
    measured on, to include its binomial sampling error."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0 or b.size == 0:
        raise ValueError("difference needs at least one value on each side")
    seed_variance = (float(a.var(ddof=1) + b.var(ddof=1)) if a.size > 1 and b.size > 1
                     else None)
    sampling = 0.0
    if n:
        p, q = a.mean(), b.mean()
        sampling = float((p * (1 - p) + q * (1 - q)) / n)
    variance = sampling + (0.0 if seed_variance is None
                           else a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    margin = max(min_margin, 2 * math.sqrt(variance))
    return Difference(float(a.mean() - b.mean()), margin, int(min(a.size, b.size)), min_margin, n,
                      seed_variance, sampling)
