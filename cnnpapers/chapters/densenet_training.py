"""The chapter ``densenet_training``: the DenseNet paper's training settings, Table 2's errors,
Figs. 4 and 5 and the implicit deep supervision argument, measured on our own runs.

The runs are declared in :mod:`cnnpapers.experiments.densenet_training`; this module turns their
results into tables, figures and the statistics the claims (:mod:`cnnpapers.claims.
densenet_training`) judge. Quoted numbers come from the model cards (``card.reported``) and from
:data:`NOTE003_SETTINGS`, and are labelled as quotes wherever they are shown.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from .. import augment as A
from .. import experiments
from ..analysis.gradflow import compare_gradient_flow
from ..analysis.plots import finish, label, new_figure
from ..analysis.reuse import WeightReuse, weight_reuse
from ..data import load_dataset
from ..experiments.densenet_training import (
    Arch,
    Plan,
    available_datasets,
    experiment_for,
    plan,
)
from ..registry import count_parameters, create_model, model_info
from ..results import Result
from ..schedules import get_schedule
from ..train import derive_seed

Runs = dict[str, list[Result]]  # architecture key -> its results, one per seed

# ---------------------------------------------------------------------------------------------
# Training settings (note 003, 实际效果 / 训练)


@dataclass(frozen=True)
class QuotedSetting:
    schedule: str  # engine schedule name
    setting: str  # Schedule field, or "milestone_epochs"
    quoted: str  # the note's words
    value: Any  # the number those words state


# note 003, section 实际效果 / 训练, translated
_SGD = "SGD"
_BATCH = "batch 64 on CIFAR and SVHN, 300 and 40 epochs"
_DROPS = "initial learning rate 0.1, divided by 10 at 50% and 75% of the epochs"
_WD = "weight decay 1e-4, Nesterov momentum 0.9 without dampening"
_DROPOUT = "C10, C100 and SVHN have no augmentation: dropout 0.2 after every conv but the first"
_IN_BATCH = "ImageNet: batch 256, 90 epochs"
_IN_DROPS = "ImageNet: learning rate 0.1, divided by 10 at epochs 30 and 60"


def _shared(schedule: str) -> tuple[QuotedSetting, ...]:
    return (QuotedSetting(schedule, "optimizer", _SGD, "sgd"),
            QuotedSetting(schedule, "lr", _DROPS if schedule != "densenet-imagenet" else _IN_DROPS,
                          0.1),
            QuotedSetting(schedule, "gamma", _DROPS if schedule != "densenet-imagenet"
                          else _IN_DROPS, 0.1),
            QuotedSetting(schedule, "weight_decay", _WD, 1e-4),
            QuotedSetting(schedule, "momentum", _WD, 0.9),
            QuotedSetting(schedule, "nesterov", _WD, True))


NOTE003_SETTINGS: tuple[QuotedSetting, ...] = (
    *_shared("densenet-cifar"),
    QuotedSetting("densenet-cifar", "batch_size", _BATCH, 64),
    QuotedSetting("densenet-cifar", "epochs", _BATCH, 300),
    QuotedSetting("densenet-cifar", "milestones", _DROPS, (0.5, 0.75)),
    QuotedSetting("densenet-cifar", "dropout", _DROPOUT, 0.2),
    *_shared("densenet-svhn"),
    QuotedSetting("densenet-svhn", "batch_size", _BATCH, 64),
    QuotedSetting("densenet-svhn", "epochs", _BATCH, 40),
    QuotedSetting("densenet-svhn", "milestones", _DROPS, (0.5, 0.75)),
    QuotedSetting("densenet-svhn", "augmentation", _DROPOUT, "none"),
    QuotedSetting("densenet-svhn", "dropout", _DROPOUT, 0.2),
    *_shared("densenet-imagenet"),
    QuotedSetting("densenet-imagenet", "batch_size", _IN_BATCH, 256),
    QuotedSetting("densenet-imagenet", "epochs", _IN_BATCH, 90),
    QuotedSetting("densenet-imagenet", "milestone_epochs", _IN_DROPS, (30, 60)),
)


def engine_value(schedule: str, setting: str) -> Any:
    s = get_schedule(schedule)
    return tuple(s.milestone_epochs()) if setting == "milestone_epochs" else getattr(s, setting)


def _same(ours: Any, quoted: Any) -> bool:
    if isinstance(quoted, (tuple, list)):
        return len(ours) == len(quoted) and all(_same(a, b) for a, b in zip(ours, quoted))
    if isinstance(quoted, (bool, str)):
        return ours == quoted
    return math.isclose(float(ours), float(quoted), rel_tol=1e-9)


def _show(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return ", ".join(_show(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def settings_table() -> pd.DataFrame:
    """Every setting of note 003's training paragraph: the engine's schedule objects, the quote."""
    rows = []
    for q in NOTE003_SETTINGS:
        ours = engine_value(q.schedule, q.setting)
        rows.append({"schedule": q.schedule, "setting": q.setting, "engine": _show(ours),
                     "note 003 (quoted)": _show(q.value), "note 003 says (translated)": q.quoted,
                     "match": "yes" if _same(ours, q.value) else "NO"})
    return pd.DataFrame(rows)


def settings_mismatches() -> list[QuotedSetting]:
    return [q for q in NOTE003_SETTINGS if not _same(engine_value(q.schedule, q.setting), q.value)]


def runs_table(runs: Runs) -> pd.DataFrame:
    """What the runs of this page did, read from their results: schedule, data, epochs, lr drops
    (one row per distinct recipe; every architecture shares one)."""
    rows = []
    for results in runs.values():
        m = results[0].metrics
        schedule = get_schedule(m["schedule"])
        rows.append({
            "schedule": schedule.name, "training images": m["train_images"],
            "test images": m["test_images"], "input": "×".join(map(str, m["input_size"])),
            "epochs": m["epochs"], "batch": m["batch_size"], "lr": schedule.lr,
            "lr ÷10 at epoch": ", ".join(f"{e:g}" for e in schedule.milestone_epochs(m["epochs"])),
            "augmentation": m["augmentation"],
        })
    frame = pd.DataFrame(rows)
    counts = frame.value_counts(sort=False).rename("runs").reset_index()
    return counts


# ---------------------------------------------------------------------------------------------
# Results of the runs


def collect(budget: str, dataset: str, *, run: bool = True, device: str | None = None,
            force: bool | None = None, archs: Iterable[Arch] | None = None) -> Runs:
    """The results of every run of this chapter on ``dataset`` (of ``archs``), by architecture.

    ``run=False`` only looks results up (for the claims ledger); missing runs are left out.
    """
    p = plan(budget)
    if dataset not in available_datasets(budget):
        raise ValueError(
            f"no {dataset} runs at budget {budget!r}: this chapter trains on "
            f"{available_datasets(budget)} there (CIFAR and SVHN "
            f"only at the gpu and paper budgets, and only where their files are on disk)")
    out: Runs = {}
    for arch in archs if archs is not None else p.architectures():
        found = []
        for seed in p.seeds_for(arch):
            exp = experiment_for(budget, dataset, arch, seed)
            result = (experiments.run(exp, device=device, force=force) if run
                      else experiments.lookup(exp))
            if result is not None:
                found.append(result)
        if found:
            out[arch.key] = found
    return out


def final_error(results: Sequence[Result]) -> tuple[float, float]:
    """Mean final test error (%) over seeds and its standard error: over seeds when there are
    several, else the binomial one of a single run, sqrt(p(1-p)/n) on its n test images."""
    errors = np.array([100 * r.metrics["test_error"] for r in results])
    if len(errors) > 1:
        return float(errors.mean()), float(errors.std(ddof=1) / math.sqrt(len(errors)))
    p, n = errors[0] / 100, results[0].metrics["test_images"]
    return float(errors[0]), float(100 * math.sqrt(p * (1 - p) / n))


def significant(gap: float, *standard_errors: float) -> bool:
    """True when ``gap`` exceeds twice the combined standard error (about a 95 % test)."""
    return abs(gap) > 2 * math.sqrt(sum(se**2 for se in standard_errors))


def trained_params(results: Sequence[Result]) -> int:
    return int(results[0].metrics["parameters"])


# A run whose final *training* error stays above this share of chance level learnt nothing: a
# comparison against it says nothing about the architecture, only that the recipe failed it.
NOT_TRAINED_SHARE = 0.85


def final_train_error(results: Sequence[Result]) -> float:
    """Mean final training error (%) over seeds."""
    return float(np.mean([100 * r.metrics["train_error"] for r in results]))


def did_not_train(results: Sequence[Result]) -> bool:
    """True when every seed ended with a training error near chance (1 - 1/classes)."""
    chance = 1 - 1 / _classes(results[0].config["dataset"])
    return all(r.metrics["train_error"] >= NOT_TRAINED_SHARE * chance for r in results)


# ---------------------------------------------------------------------------------------------
# Table 2


QUOTED_COLUMN = {"fashion-mnist": "C10+", "cifar10": "C10+", "cifar100": "C100+", "svhn": "SVHN"}


def table2(p: Plan, runs: Runs, dataset: str) -> pd.DataFrame:
    """Table 2's rows we train: parameters (ours on the paper's 3x32x32 input, quoted), the quoted
    error, and our measured error on ``dataset``."""
    column = QUOTED_COLUMN[dataset]
    rows = []
    for arch in p.table2:
        card = model_info(arch.model)
        rep = card.reported
        mean, se = final_error(runs[arch.key]) if arch.key in runs else (math.nan, math.nan)
        rows.append({
            "model": arch.label, "depth": card.depth,
            "params, C10 model (M)": count_parameters(arch.model) / 1e6,
            "params quoted": f"{rep.params}M" if rep and rep.params else "—",
            f"{column} error quoted (%)": f"{rep.errors[column]:g}" if rep and column in rep.errors
            else "—",
            "quoted from": rep.source.split(",")[0] if rep else "—",
            f"our error on {dataset} (%)": mean,
            "± s.e.": se,
            "seeds": len(runs.get(arch.key, [])),
            "params as trained": trained_params(runs[arch.key]) if arch.key in runs else "—",
            "trained?": ("no: final training error "
                         f"{final_train_error(runs[arch.key]):.1f}%, chance level"
                         if arch.key in runs and did_not_train(runs[arch.key])
                         else "yes" if arch.key in runs else "—"),
        })
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Comparison:
    """One trained ResNet of Table 2 against the DenseNets with fewer parameters."""

    resnet: str
    resnet_params: int
    resnet_error: float
    resnet_se: float
    smaller: tuple[tuple[str, int, float, float], ...]  # (DenseNet, params, error, s.e.)
    resnet_trained: bool = True  # False: the ResNet learnt nothing (see did_not_train)
    resnet_train_error: float = math.nan

    def winners(self, significant_only: bool = False) -> list[str]:
        """The smaller DenseNets with a lower error (by more than 2 s.e. if asked)."""
        return [name for name, _, err, se in self.smaller if err < self.resnet_error
                and (not significant_only or significant(self.resnet_error - err, se,
                                                         self.resnet_se))]


def fewer_params_lower_error(p: Plan, runs: Runs) -> list[Comparison]:
    """For every trained ResNet of Table 2, the DenseNets with fewer parameters, to test the
    caption of Table 2: "DenseNets achieve lower error rates while using fewer parameters than
    ResNet"."""
    dense = [a for a in p.table2 if a.family.startswith("DenseNet") and a.key in runs]
    out = []
    for res in (a for a in p.table2 if not a.family.startswith("DenseNet") and a.key in runs):
        r_params = trained_params(runs[res.key])
        smaller = tuple((d.label, trained_params(runs[d.key]), *final_error(runs[d.key]))
                        for d in dense if trained_params(runs[d.key]) < r_params)
        out.append(Comparison(res.label, r_params, *final_error(runs[res.key]), smaller,
                              not did_not_train(runs[res.key]), final_train_error(runs[res.key])))
    return out


# ---------------------------------------------------------------------------------------------
# Fig. 4


def efficiency_frame(archs: Iterable[Arch], runs: Runs) -> pd.DataFrame:
    """One row per trained architecture: family, parameters as trained, mean test error (%)."""
    rows = []
    for arch in archs:
        if arch.key in runs:
            mean, se = final_error(runs[arch.key])
            rows.append({"model": arch.label, "key": arch.key, "family": arch.family,
                         "params": trained_params(runs[arch.key]), "error (%)": mean,
                         "± s.e.": se, "seeds": len(runs[arch.key])})
    return pd.DataFrame(rows, columns=["model", "key", "family", "params", "error (%)", "± s.e.",
                                       "seeds"])


def dominance(frame: pd.DataFrame, family: str = "DenseNet-BC") -> pd.DataFrame:
    """For each model outside ``family``: is there a ``family`` model with no more parameters and
    no higher error? (Fig. 4 left: "DenseNet-BC is consistently the most parameter-efficient")."""
    ours = frame[frame["family"] == family]
    rows = []
    for _, other in frame[frame["family"] != family].iterrows():
        better = ours[(ours["params"] <= other["params"]) & (ours["error (%)"] <= other["error (%)"])]
        rows.append({"model": other["model"], "params": other["params"],
                     "error (%)": other["error (%)"],
                     f"beaten by a {family}": ", ".join(better["model"]) or "none"})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class EqualError:
    """Parameters a DenseNet-BC needs to match one ResNet's error, as a share of the ResNet's."""

    resnet: str
    resnet_params: int
    resnet_error: float
    bc_params: float  # interpolated, or a bound
    bound: str  # "=" interpolated on the BC curve, "<=" the smallest BC is already as good, ">" none is

    @property
    def ratio(self) -> float:
        return self.bc_params / self.resnet_params


def params_for_error(points: pd.DataFrame, target: float) -> tuple[float, str]:
    """The fewest parameters at which the BC curve (error linear in log-parameters between
    measured points) reaches ``target`` error, and whether that is exact or a bound."""
    pts = points.sort_values("params")
    params, errors = pts["params"].to_numpy(float), pts["error (%)"].to_numpy(float)
    if errors[0] <= target:
        return params[0], "<="
    for (p0, e0), (p1, e1) in itertools.pairwise(zip(params, errors)):
        if e1 <= target:  # the first crossing: p0 is worse than the target, p1 as good
            t = (e0 - target) / (e0 - e1)
            return float(np.exp(np.log(p0) + t * (np.log(p1) - np.log(p0)))), "="
    return params[-1], ">"


def equal_error_params(frame: pd.DataFrame, resnet_family: str = "pre-act ResNet",
                       family: str = "DenseNet-BC") -> list[EqualError]:
    """Fig. 4 middle: for each ResNet, the BC parameters needed for its error."""
    bc = frame[frame["family"] == family]
    out = []
    if bc.empty:
        return out
    for _, r in frame[frame["family"] == resnet_family].sort_values("params").iterrows():
        p, bound = params_for_error(bc, r["error (%)"])
        out.append(EqualError(r["model"], int(r["params"]), r["error (%)"], p, bound))
    return out


def equal_error_table(rows: list[EqualError]) -> pd.DataFrame:
    return pd.DataFrame([{"ResNet": e.resnet, "ResNet params": e.resnet_params,
                          "ResNet error (%)": e.resnet_error,
                          "DenseNet-BC params for that error": f"{e.bound} {e.bc_params:,.0f}",
                          "share of the ResNet's params": f"{e.bound} {e.ratio:.2f}"}
                         for e in rows])


def final_curves(result: Result) -> dict[str, float]:
    c = result.curves
    return {"train_loss": c["train_loss"][-1], "train_error": 100 * c["train_error"][-1],
            "test_error": 100 * c["test_error"][-1]}


def curves_table(labelled: Sequence[tuple[str, Result]]) -> pd.DataFrame:
    return pd.DataFrame([{"model": name, "params": r.metrics["parameters"],
                          "final training loss": final_curves(r)["train_loss"],
                          "final training error (%)": final_curves(r)["train_error"],
                          "final test error (%)": final_curves(r)["test_error"]}
                         for name, r in labelled])


_FAMILY_STYLE = {"DenseNet": ("tab:blue", "o"), "DenseNet-B": ("tab:orange", "s"),
                 "DenseNet-C": ("tab:green", "^"), "DenseNet-BC": ("tab:red", "D"),
                 "pre-act ResNet": ("tab:gray", "v"), "ResNet": ("black", "x")}


def _error_vs_params(ax, frame: pd.DataFrame, families: Sequence[str], title: str) -> None:
    for family in families:
        part = frame[frame["family"] == family].sort_values("params")
        if part.empty:
            continue
        color, marker = _FAMILY_STYLE[family]
        ax.errorbar(part["params"] / 1e6, part["error (%)"], yerr=part["± s.e."], color=color,
                    marker=marker, capsize=3, label=family)
    _log_x(ax)
    ax.legend(fontsize=8)
    label(ax, title=title, xlabel="parameters (millions, log scale)", ylabel="test error (%)")


def _log_x(ax) -> None:
    """Log x scale labelled at 1, 2 and 5 times powers of ten in plain numbers (0.2, 0.5, 1)."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())


def plot_fig4(variants: pd.DataFrame, resnets: pd.DataFrame,
              curves: Sequence[tuple[str, Result]], *, caption: str, dataset: str):
    """Fig. 4: error vs parameters of the DenseNet variants (left), DenseNet-BC vs pre-activation
    ResNets (middle), training loss and test error per epoch of a deep pre-act ResNet and
    DenseNet-BC (right)."""
    fig, (left, middle, right) = new_figure(3, width=4.6, height=4.0)
    _error_vs_params(left, variants, ("DenseNet", "DenseNet-B", "DenseNet-C", "DenseNet-BC"),
                     "DenseNet variants")
    _error_vs_params(middle, resnets, ("DenseNet-BC", "pre-act ResNet"), "DenseNet-BC vs ResNet")
    loss_ax = right.twinx()
    for (name, result), color in zip(curves, ("tab:gray", "tab:red")):
        c = result.curves
        right.plot(c["epoch"], [100 * e for e in c["test_error"]], color=color, marker="o",
                   label=f"test error: {name}")
        loss_ax.plot(c["epoch"], c["train_loss"], color=color, linestyle="--", marker=".",
                     label=f"training loss: {name}")
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    loss_ax.set_ylabel("training loss (dashed)")
    loss_ax.grid(False)
    lines = right.get_legend_handles_labels()
    more = loss_ax.get_legend_handles_labels()
    right.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7)
    label(right, title="Training curves", xlabel="epoch", ylabel="test error (%, solid)")
    return finish(fig, caption, suptitle=f"Fig. 4 rebuilt on {dataset}")


# ---------------------------------------------------------------------------------------------
# Fig. 5: weight reuse of the trained DenseNet (L=40, k=12)


def trained_reuse(result: Result) -> WeightReuse:
    """The Fig. 5 matrix stored with the run by the ``weight_reuse`` probe."""
    rows = result.metrics.get("probes", {}).get("weight_reuse")
    if not rows:
        raise ValueError(f"{result.experiment} has no weight_reuse probe result")
    return WeightReuse(pd.DataFrame(rows))


def initial_reuse(result: Result) -> WeightReuse:
    """The same matrix for the run's network at initialisation (the engine seeds the model with
    ``derive_seed(seed, "init")``), i.e. before any training: the baseline of the checks."""
    m = result.metrics
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(result.config["seed"], "init"))
        model = create_model(result.config["model"], num_classes=_classes(result.config["dataset"]),
                             in_channels=m["input_size"][0], **m["model_kwargs"])
    return weight_reuse(model)


def _classes(dataset: str) -> int:
    return 100 if dataset == "cifar100" else 10


def normalised(reuse: WeightReuse) -> pd.DataFrame:
    """``value`` divided by the mean over the target's sources: 1 = the target spreads its weight
    evenly, as a freshly initialised layer does (every source's slice has the same law)."""
    f = reuse.frame.copy()
    f["share"] = f["value"] / f.groupby(["block", "target"])["value"].transform("mean")
    return f


@dataclass(frozen=True)
class Observation:
    key: str  # "a".."d"
    block: int
    statistic: str
    trained: float
    initial: float


def _layer_count(f: pd.DataFrame, block: int) -> int:
    return int(f[(f["block"] == block) & (f["target_name"].str.isdigit())]["target"].max())


def reuse_observations(trained: WeightReuse, initial: WeightReuse) -> list[Observation]:
    """The statistics behind the paper's observations (a)-(d) of Fig. 5, per block, on the
    normalised weights (:func:`normalised`), for the trained and the initial network.

    (a) the mean share the deepest third of a block's layers give the first third of its layers'
        outputs (x_1 ... x_{L/3}): early features used deep inside the block;
    (b) the smallest share a transition layer gives any source of its block: weight spread over
        all layers of the block;
    (c) the mean share the block's layers give its input x_0 (the first row, the previous
        transition's output), divided by the mean share of the other rows: blocks 2 and 3;
    (d) the classifier's mean share on the last quarter of the sources divided by its mean share
        on the others: concentration on the final feature maps.
    """
    out = []
    for name, frame in (("trained", normalised(trained)), ("initial", normalised(initial))):
        for obs in _observations(frame):
            out.append((name, obs))
    trained_obs = [o for n, o in out if n == "trained"]
    initial_obs = {(o[0], o[1]): o for n, o in out if n == "initial"}
    return [Observation(key, block, text, value, initial_obs[(key, block)][3])
            for key, block, text, value in trained_obs]


def _observations(f: pd.DataFrame) -> list[tuple[str, int, str, float]]:
    out = []
    blocks = sorted(f["block"].unique())
    for block in blocks:
        b = f[f["block"] == block]
        n = _layer_count(f, block)
        layers = b[b["target_name"].str.isdigit()]
        third = max(1, n // 3)
        deep = layers[(layers["target"] > n - third) & (layers["source"].between(1, third))]
        out.append(("a", block, f"share from x_1..x_{third} in layers {n - third + 1}..{n}",
                    float(deep["share"].mean())))
        extra = b[~b["target_name"].str.isdigit()]
        if extra["target_name"].iloc[0] == "transition":
            out.append(("b", block, "smallest share of the transition", float(extra["share"].min())))
        else:
            quarter = max(1, math.ceil((n + 1) / 4))
            last = extra["source"] > n - quarter
            out.append(("d", block, f"classifier share on x_{n - quarter + 1}..x_{n} / on the rest",
                        float(extra[last]["share"].mean() / extra[~last]["share"].mean())))
        if block != blocks[0]:
            row0 = layers[layers["source"] == 0]["share"].mean()
            rest = layers[layers["source"] > 0].groupby("source")["share"].mean()
            out.append(("c", block, "first row's share / mean of the other rows",
                        float(row0 / rest.mean())))
            out.append(("c rank", block, "first row's rank among rows (1 = least weight)",
                        float(1 + (rest < row0).sum())))
    return out


def observations_table(obs: list[Observation]) -> pd.DataFrame:
    frame = pd.DataFrame([{"observation": o.key, "block": o.block, "statistic": o.statistic,
                           "trained": o.trained, "at initialisation": o.initial} for o in obs])
    return frame.sort_values(["observation", "block"], ignore_index=True)


def reuse_change(trained: WeightReuse, initial: WeightReuse) -> float:
    """Mean |share_trained - share_initial| over all pairs: how far training moved the pattern."""
    a = normalised(trained).set_index(["block", "source", "target"])["share"]
    b = normalised(initial).set_index(["block", "source", "target"])["share"]
    return float((a - b.reindex(a.index)).abs().mean())


# ---------------------------------------------------------------------------------------------
# Implicit deep supervision: gradient flow


GRADIENT_MODELS = ("densenet_40_k12", "resnet56_cifar", "plain56_cifar")
GRADIENT_LABELS = {"densenet_40_k12": "DenseNet (L=40, k=12)", "resnet56_cifar": "ResNet-56",
                   "plain56_cifar": "plain-56", "densenet_bc_100_k12": "DenseNet-BC (L=100, k=12)"}


def probe_batch(dataset: str, n: int = 16, min_input_size: int = 4) -> tuple[torch.Tensor,
                                                                              torch.Tensor]:
    """``n`` class-balanced training images (data seed 0), normalised as the engine does."""
    data = load_dataset(dataset, "train").subset(n, seed=0)
    x = A.normalize(A.pad_to(data.images, min_input_size), data.mean, data.std)
    return x, data.labels


def gradient_flow_at_init(dataset: str, models: Sequence[str] = GRADIENT_MODELS, *,
                          seed: int = 0, batch: int = 16) -> pd.DataFrame:
    """Per-layer gradients of freshly initialised ``models`` on one batch (training mode), with
    ``grad_rms`` = ‖∂L/∂W‖ / √(number of weights): the gradient per weight, comparable across
    layers of different sizes. Computed once per process (the page and its claim share it)."""
    return _gradient_flow_at_init(dataset, tuple(models), seed, batch).copy()


@functools.cache
def _gradient_flow_at_init(dataset: str, models: tuple[str, ...], seed: int,
                           batch: int) -> pd.DataFrame:
    x, y = probe_batch(dataset, batch)
    nets = {}
    with torch.random.fork_rng(devices=[]):
        for name in models:
            torch.manual_seed(derive_seed(seed, "init"))
            nets[GRADIENT_LABELS.get(name, name)] = create_model(
                name, num_classes=_classes(dataset), in_channels=x.shape[1])
    frame = compare_gradient_flow(nets, x, y)
    frame["grad_rms"] = frame["weight_grad_norm"] / np.sqrt(frame["params"])
    return frame


def early_late_ratio(frame: pd.DataFrame, column: str = "grad_rms",
                     share: float = 0.25) -> pd.Series:
    """Per model: median ``column`` over the first ``share`` of its layers divided by the median
    over the last ``share`` (the classifier excluded): 1 = gradients as strong at the input end as
    at the output end, << 1 vanishing, >> 1 exploding towards the input."""
    out = {}
    for model, part in frame.groupby("model", sort=False):
        part = part.sort_values("depth")
        body = part.iloc[:-1]  # the classifier sits next to the loss in every net
        q = max(1, int(len(body) * share))
        out[model] = body[column].iloc[:q].median() / body[column].iloc[-q:].median()
    return pd.Series(out, name="early / late")


def probe_gradients(runs: Runs, keys: Sequence[str]) -> pd.DataFrame:
    """The ``gradient_flow`` probe's rows of the first seed of each run in ``keys``, with
    ``grad_rms`` (weights per layer counted on the meta device) and ``model``."""
    frames = []
    for key in keys:
        if key not in runs:
            continue
        result = runs[key][0]
        rows = result.metrics.get("probes", {}).get("gradient_flow")
        if not rows:
            continue
        f = pd.DataFrame(rows)
        sizes = _weight_sizes(result)
        f["params"] = f["layer"].map(sizes)
        f["grad_rms"] = f["weight_grad_norm"] / np.sqrt(f["params"])
        f["model"] = GRADIENT_LABELS.get(result.config["model"], result.config["model"])
        frames.append(f)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _weight_sizes(result: Result) -> dict[str, int]:
    m = result.metrics
    with torch.device("meta"):
        model = create_model(result.config["model"], num_classes=_classes(result.config["dataset"]),
                             in_channels=m["input_size"][0], **m["model_kwargs"])
    return {name: mod.weight.numel() for name, mod in model.named_modules()
            if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear))}


def ratio_during_training(probe: pd.DataFrame) -> pd.DataFrame:
    """:func:`early_late_ratio` at every recorded step of every model."""
    rows = []
    for (model, step), part in probe.groupby(["model", "step"], sort=False):
        ratio = early_late_ratio(part.assign(model=model))
        rows.append({"model": model, "step": step, "early / late": float(ratio.iloc[0])})
    return pd.DataFrame(rows)


def plot_gradient_profiles(at_init: pd.DataFrame, during: pd.DataFrame, *, caption: str):
    """Left: gradient per weight against relative depth at initialisation; right: the early/late
    ratio during training (from the runs' ``gradient_flow`` probes)."""
    fig, (left, right) = new_figure(2, width=5.6, height=4.0)
    for model, part in at_init.groupby("model", sort=False):
        part = part.sort_values("depth")
        left.plot(part["rel_depth"], part["grad_rms"], marker=".", label=model)
    left.set_yscale("log")
    left.legend(fontsize=8)
    label(left, title="At initialisation, one batch", xlabel="relative depth (input → output)",
          ylabel="‖∂L/∂W‖ / √(weights)  (log scale)")
    for model, part in during.groupby("model", sort=False):
        right.plot(part["step"], part["early / late"], marker="o", label=model)
    right.set_yscale("log")
    right.axhline(1.0, color="0.5", linewidth=0.8)
    if not during.empty:
        right.legend(fontsize=8)
    label(right, title="During training", xlabel="optimiser step",
          ylabel="early / late gradient per weight (log)")
    return finish(fig, caption, suptitle="Gradient reaching early layers")
