"""The chapter ``resnext_ablation``: cardinality against width at preserved complexity (Xie et al.
2017, Table 3; note 000, "实验") and the training curves of Fig. 5.

* Table 3 costed from the registered ImageNet nets on the meta device, the quoted top-1 errors
  beside our parameters and MACs (:func:`table3_complexity`).
* A scaled-down Table 3 on Fashion-MNIST: the CIFAR ResNeXt-29 template
  (:class:`cnnpapers.models.resnext.ResNeXtCIFAR`) narrowed by ``base_channels``, its C = 1 net
  (bottleneck as wide as the block's planes: a ResNet) as the reference, and for every other
  cardinality C the bottleneck width d that keeps the parameter count closest to it
  (:func:`equal_cost_width`) — the rule behind Table 2 of the paper, applied to the whole net.
  Each budget's :class:`AblationPlan` fixes the template, the cardinalities tried, the seeds and
  the data; a cardinality whose best integer d strays from the reference further than Table 3's
  own nets do (:data:`PARAMS_TOLERANCE`, :data:`MACS_TOLERANCE`) is reported and not trained.
* Summaries of the trained runs (:func:`ablation_frame`, :func:`summarise`,
  :func:`compare_endpoints`) and the figures (:func:`plot_ablation`,
  :func:`plot_training_curves`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from matplotlib.ticker import MaxNLocator

from ..analysis.cost import model_cost, model_cost_table
from ..analysis.plots import finish, label, new_figure
from ..budgets import get_budget
from ..models.resnext import ResNeXtCIFAR, complexity_preserving_width
from ..registry import model_info

if TYPE_CHECKING:  # experiments imports this module
    from ..experiments import Experiment
    from ..results import Result

# ---------------------------------------------------------------------------------------------
# Table 3 at ImageNet size

TABLE3_SETTINGS = ((1, 64), (2, 40), (4, 24), (8, 14), (32, 4))  # (C, d), Table 3's rows
TABLE3_ERROR = "ImageNet top-1"  # the cards' key for the quoted error column


def table3_name(depth: int, cardinality: int, width: int) -> str:
    return f"resnext{depth}_{cardinality}x{width}d"


@functools.cache
def _table3_costs(depth: int) -> pd.DataFrame:
    """:func:`model_cost_table` of Table 3's nets of one depth (costly: built once per process;
    callers must not modify it)."""
    return model_cost_table([table3_name(depth, c, d) for c, d in TABLE3_SETTINGS])


def table3_complexity(depths: Sequence[int] = (50, 101)) -> pd.DataFrame:
    """Table 3's nets with their parameters and MACs (224×224, counted on the meta device), the
    change against the ResNet of the same depth (C = 1), the width d that Sec. 3.4's
    per-block formula gives (:func:`cnnpapers.models.resnext.complexity_preserving_width`), and
    the top-1 error the paper prints (quoted from the cards)."""
    rows = []
    for depth in depths:
        names = [table3_name(depth, c, d) for c, d in TABLE3_SETTINGS]
        cost = _table3_costs(depth).set_index("name")
        base = cost.loc[names[0]]
        for (c, d), name in zip(TABLE3_SETTINGS, names):
            row = cost.loc[name]
            rows.append({
                "net": f"{'ResNet' if c == 1 else 'ResNeXt'}-{depth}", "setting": f"{c}×{d}d",
                "d from the block formula": complexity_preserving_width(c),
                "width C·d (conv2)": c * d, "params (M)": row["params_m"], "GMACs": row["gmacs"],
                "params vs ResNet": row["params"] / base["params"] - 1,
                "MACs vs ResNet": row["macs"] / base["macs"] - 1,
                "top-1 error % (paper, quoted)": model_info(name).reported.errors[TABLE3_ERROR],
            })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# the scaled-down ablation: equal-cost widths


@dataclass(frozen=True)
class CifarTemplate:
    """A ResNeXt-29-style net for the budget ablation (Sec. 5.3 template; ``base_channels`` b
    gives blocks of 4b-8b-16b outputs; the paper's CIFAR nets have b = 64)."""

    network_depth: int = 29
    base_channels: int = 64
    in_channels: int = 1
    num_classes: int = 10
    image_size: int = 28

    def model_kwargs(self, cardinality: int, bottleneck_width: int) -> dict[str, int]:
        """Overrides of the registered ``resnext29_8x64d_cifar`` for this (C, d)."""
        return {"network_depth": self.network_depth, "cardinality": cardinality,
                "bottleneck_width": bottleneck_width, "base_channels": self.base_channels}

    def build(self, cardinality: int, bottleneck_width: int) -> ResNeXtCIFAR:
        with torch.device("meta"):
            return ResNeXtCIFAR(num_classes=self.num_classes, in_channels=self.in_channels,
                                **self.model_kwargs(cardinality, bottleneck_width))

    def params(self, cardinality: int, bottleneck_width: int) -> int:
        return _params(self, cardinality, bottleneck_width)

    def macs(self, cardinality: int, bottleneck_width: int) -> int:
        return _macs(self, cardinality, bottleneck_width)

    @property
    def reference(self) -> tuple[int, int]:
        """The C = 1 net whose bottleneck is as wide as its blocks' planes: ResNet's shape."""
        return 1, self.base_channels


@functools.cache
def _params(template: CifarTemplate, cardinality: int, bottleneck_width: int) -> int:
    return sum(p.numel() for p in template.build(cardinality, bottleneck_width).parameters())


@functools.cache
def _macs(template: CifarTemplate, cardinality: int, bottleneck_width: int) -> int:
    size = (template.in_channels, template.image_size, template.image_size)
    return model_cost(template.build(cardinality, bottleneck_width), size).macs


def equal_cost_width(template: CifarTemplate, cardinality: int) -> int:
    """The bottleneck width d at which ``cardinality`` paths give the net the parameter count
    closest to the template's reference (C = 1, d = ``base_channels``); ties go to the smaller d.

    Parameters grow strictly with d, so the answer is one of the two widths around the point
    where the count crosses the reference.
    """
    target = template.params(*template.reference)
    d = 1
    while template.params(cardinality, d) < target:
        d += 1
    candidates = [d - 1, d] if d > 1 else [d]
    return min(candidates, key=lambda w: abs(template.params(cardinality, w) - target))


# How far Table 3's own nets stray from their ResNet (see table3_complexity): parameters by at
# most 2.1 % (ResNeXt-50 32x4d), MACs by up to 4.4 % (ResNeXt-50 8x14d). Our settings may stray
# as far, rounded up.
PARAMS_TOLERANCE = 0.03
MACS_TOLERANCE = 0.05


def ablation_settings(template: CifarTemplate, cardinalities: Sequence[int],
                      params_tolerance: float = PARAMS_TOLERANCE,
                      macs_tolerance: float = MACS_TOLERANCE) -> pd.DataFrame:
    """For each cardinality: the equal-cost width, parameters and MACs, their change against the
    reference, and whether the changes are within the tolerances (such settings are trained)."""
    ref_params, ref_macs = (template.params(*template.reference),
                            template.macs(*template.reference))
    rows = []
    for c in cardinalities:
        d = equal_cost_width(template, c)
        params, macs = template.params(c, d), template.macs(c, d)
        change_p, change_m = params / ref_params - 1, macs / ref_macs - 1
        rows.append({"cardinality": c, "bottleneck_width": d, "setting": f"{c}×{d}d",
                     "width C·d (stage 1)": c * d, "params": params, "MACs": macs,
                     "params vs C = 1": change_p, "MACs vs C = 1": change_m,
                     "trained": abs(change_p) <= params_tolerance
                                and abs(change_m) <= macs_tolerance})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class AblationPlan:
    """What one budget trains: the template, the cardinalities tried, seeds and data sizes
    (``None``: the budget's own)."""

    template: CifarTemplate
    cardinalities: tuple[int, ...]
    seeds: tuple[int, ...]
    train_images: int | None = None
    test_images: int | None = None

    def settings(self) -> pd.DataFrame:
        return ablation_settings(self.template, self.cardinalities)

    def trained(self) -> list[tuple[int, int]]:
        """(C, d) of every setting trained, in order of cardinality."""
        table = self.settings()
        table = table[table["trained"]]
        return list(zip(table["cardinality"].tolist(), table["bottleneck_width"].tolist()))


# Sized with the engine (1 thread, CPU time) on the 2-core EPYC: ResNeXt-29 at base 16 trains at
# 70-120 images per CPU-second and tests at 130-230 (1x16d the fastest, 2x10d and 32x1d the
# slowest), so one cpu run (4 epochs of 6,000 images, 4 tests of 2,500) costs 250-400
# CPU-seconds and the 8 runs about 2,600: 25-35 min on two idle cores. Base 32 would give Table
# 3's settings at half width (1x32d, 2x20d, 4x12d, 8x7d, 32x2d) at four times the cost per image.
PLANS: dict[str, AblationPlan] = {
    "smoke": AblationPlan(CifarTemplate(base_channels=8), (1, 4), (0, 1)),
    "cpu": AblationPlan(CifarTemplate(base_channels=16), (1, 2, 4, 8, 16, 32), (0, 1),
                        train_images=6_000, test_images=2_500),
    "gpu": AblationPlan(CifarTemplate(base_channels=32), (1, 2, 4, 8, 16, 32), (0, 1, 2)),
}


def ablation_plan(budget: str) -> AblationPlan:
    """The plan of ``budget``; ``paper`` trains the ``gpu`` plan on the full schedule."""
    name = get_budget(budget).name
    return PLANS["gpu" if name == "paper" else name]


# ---------------------------------------------------------------------------------------------
# results of the trained runs


def ablation_frame(runs: Sequence[tuple[Experiment, Result]]) -> pd.DataFrame:
    """One row per trained run: its setting and seed, final errors (in [0, 1]), parameters,
    training speed and wall time."""
    rows = []
    for experiment, result in runs:
        kwargs, m = experiment.config.model_kwargs, result.metrics
        c, d = kwargs["cardinality"], kwargs["bottleneck_width"]
        rows.append({"cardinality": c, "bottleneck_width": d, "setting": f"{c}×{d}d",
                     "seed": experiment.config.seed, "params": m["parameters"],
                     "test_error": m["test_error"], "train_error": m["train_error"],
                     "images_per_s": m["images_per_s"], "wall_time_s": m["wall_time_s"]})
    return pd.DataFrame(rows).sort_values(["cardinality", "seed"], ignore_index=True)


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Per setting: seeds, mean and standard deviation (n-1; NaN for one seed) of the final test
    error, its range, and the mean final training error."""
    grouped = frame.groupby(["cardinality", "setting"], sort=True)
    out = grouped.agg(params=("params", "first"), seeds=("seed", "count"),
                      test_error=("test_error", "mean"), test_error_sd=("test_error", "std"),
                      test_error_min=("test_error", "min"), test_error_max=("test_error", "max"),
                      train_error=("train_error", "mean"))
    return out.reset_index()


def _ranks(values: Sequence[float]) -> np.ndarray:
    return pd.Series(values).rank().to_numpy()


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (Pearson's on average ranks); NaN for fewer than 3 points."""
    if len(x) < 3:
        return math.nan
    return float(np.corrcoef(_ranks(x), _ranks(y))[0, 1])


@dataclass(frozen=True)
class EndpointComparison:
    """The C = 1 net (ResNet) against the largest cardinality trained, on one error column.

    ``noise`` is the standard error of the difference of the two means, from the seeds'
    standard deviation pooled over all settings (NaN with one seed per setting); ``trend`` is
    Spearman's correlation of mean error with cardinality over all settings (negative: more
    cardinality, less error).
    """

    column: str
    resnet: str
    resnext: str
    resnet_error: float
    resnext_error: float
    noise: float
    trend: float
    seeds: int

    @property
    def difference(self) -> float:
        """ResNet's error minus ResNeXt's: positive when cardinality wins."""
        return self.resnet_error - self.resnext_error

    @property
    def outcome(self) -> str:
        """"cardinality better" / "width better" beyond twice the noise, else "within noise";
        "noise not measured" with one seed per setting."""
        if math.isnan(self.noise):
            return "noise not measured"
        if self.difference > 2 * self.noise:
            return "cardinality better"
        if self.difference < -2 * self.noise:
            return "width better"
        return "within noise"

    def describe(self) -> str:
        noise = "one seed, noise not measured" if math.isnan(self.noise) else \
            f"± {self.noise:.2%} (s.e. of the difference, {self.seeds} seeds each)"
        return (f"{self.resnet} {self.resnet_error:.2%} vs {self.resnext} {self.resnext_error:.2%} "
                f"{self.column.replace('_', ' ')}: difference {self.difference:+.2%} {noise}")


def pooled_sd(frame: pd.DataFrame, column: str) -> float:
    """Seed-to-seed standard deviation of ``column`` pooled over settings (NaN without
    repeated seeds)."""
    groups = [g[column].to_numpy() for _, g in frame.groupby("cardinality") if len(g) > 1]
    dof = sum(len(g) - 1 for g in groups)
    if dof == 0:
        return math.nan
    return math.sqrt(sum(((g - g.mean()) ** 2).sum() for g in groups) / dof)


def compare_endpoints(frame: pd.DataFrame, column: str = "test_error") -> EndpointComparison:
    """:class:`EndpointComparison` of an :func:`ablation_frame` on ``column``."""
    means = frame.groupby("cardinality")[column].mean()
    counts = frame.groupby("cardinality")[column].count()
    settings = frame.groupby("cardinality")["setting"].first()
    low, high = means.index.min(), means.index.max()
    sd = pooled_sd(frame, column)
    noise = sd * math.sqrt(1 / counts[low] + 1 / counts[high])
    return EndpointComparison(column, settings[low], settings[high], float(means[low]),
                              float(means[high]), noise,
                              spearman(means.index.tolist(), means.tolist()), int(counts.min()))


# ---------------------------------------------------------------------------------------------
# figures


def _log2_axis(ax, cardinalities: Sequence[int], labels: Sequence[str]) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(cardinalities), list(labels))
    ax.minorticks_off()


def plot_ablation(frame: pd.DataFrame, quoted: pd.DataFrame, *, caption: str):
    """Left: Table 3's quoted ImageNet top-1 errors against cardinality. Right: our final test
    errors against cardinality (each seed a dot, the mean joined by a line)."""
    fig, (ax_paper, ax_ours) = new_figure(2, width=5.4, height=4.0)
    for net, part in quoted.groupby("depth", sort=True):
        ax_paper.plot(part["cardinality"], part["error"], marker="o",
                      label=f"ResNet/ResNeXt-{net}")
    _log2_axis(ax_paper, quoted["cardinality"].unique(),
               quoted.drop_duplicates("cardinality")["setting"])
    ax_paper.legend()
    label(ax_paper, title="Paper, ImageNet (quoted, Table 3)", xlabel="setting (C×d)",
          ylabel="top-1 error (%)")
    means = summarise(frame)
    ax_ours.scatter(frame["cardinality"], 100 * frame["test_error"], color="0.5", s=14,
                    label="one seed", zorder=3)
    ax_ours.plot(means["cardinality"], 100 * means["test_error"], marker="o", color="tab:red",
                 label="mean over seeds")
    _log2_axis(ax_ours, means["cardinality"], means["setting"])
    ax_ours.legend()
    label(ax_ours, title="Ours, Fashion-MNIST (equal parameters)", xlabel="setting (C×d)",
          ylabel="final test error (%)")
    return finish(fig, caption, suptitle="Cardinality against width at preserved complexity")


def quoted_table3(depths: Sequence[int] = (50, 101)) -> pd.DataFrame:
    """Table 3's quoted errors in long form (depth, cardinality, setting, error) for plotting."""
    return pd.DataFrame([
        {"depth": depth, "cardinality": c, "setting": f"{c}×{d}d",
         "error": model_info(table3_name(depth, c, d)).reported.errors[TABLE3_ERROR]}
        for depth in depths for c, d in TABLE3_SETTINGS])


def plot_training_curves(curves: Mapping[str, Sequence[Mapping[str, list]]], *, caption: str):
    """Fig. 5 at our budget: training error (dashed) and test error (solid) per epoch, the mean
    over seeds of each net, the test error's range over seeds shaded."""
    fig, ax = new_figure(width=6.8, height=4.2)
    for (name, runs), color in zip(curves.items(), ("tab:blue", "tab:red", "tab:green")):
        epochs = np.asarray(runs[0]["epoch"])
        test = 100 * np.asarray([r["test_error"] for r in runs])
        train = 100 * np.asarray([r["train_error"] for r in runs])
        ax.plot(epochs, test.mean(0), color=color, marker="o", label=f"{name}: test")
        ax.plot(epochs, train.mean(0), color=color, linestyle="--", marker="x",
                label=f"{name}: training")
        if len(runs) > 1:
            ax.fill_between(epochs, test.min(0), test.max(0), color=color, alpha=0.15)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    label(ax, title="Training curves at equal parameters (cf. Fig. 5)", xlabel="epoch",
          ylabel="error (%)")
    return finish(fig, caption)
