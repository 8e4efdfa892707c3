"""Registered chapter experiments: every cached training run the book needs, per budget.

A chapter declares its runs once, in ``cnnpapers/experiments/<chapter>.py``::

    @group("densenet_training")
    def _runs(budget: str) -> list[Experiment]:
        return [Experiment("densenet_training/table2/densenet_40_k12",
                           TrainConfig("densenet_40_k12", budget=budget), probes=("weight_reuse",))]

The notebook fetches them with :func:`run` (cached by :mod:`cnnpapers.results`), and a GPU
machine without Jupyter precomputes all of them with ``python -m cnnpapers experiments run
--budget gpu`` — the same configurations, hence the same config hashes, so the book then renders
from the stored results anywhere.

*Probes* are named callbacks whose findings are stored with the result (``metrics["probes"]``):
``weight_reuse`` (DenseNet Fig. 5 matrix of the trained model) and ``gradient_flow`` (per-layer
gradient norms recorded about ten times during training).
"""

from __future__ import annotations

import fnmatch
import pkgutil
from dataclasses import dataclass, replace
from importlib import import_module
from typing import Any, Callable

from .. import results
from ..budgets import get_budget
from ..train import Callback, TrainConfig, TrainState, run_experiment


@dataclass(frozen=True)
class Experiment:
    name: str  # "<chapter>/<what>", also the folder under results/<budget>/
    config: TrainConfig
    probes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.probes) - set(PROBES))
        if unknown:
            raise ValueError(f"{self.name}: unknown probe(s) {unknown}; choose from {sorted(PROBES)}")


@dataclass(frozen=True)
class RunPlan:
    """How much one chapter trains at a budget: images, epochs (``None``: the budget's own) and
    the seeds of every run."""

    train_images: int | None
    test_images: int | None
    epochs: int | None
    seeds: tuple[int, ...]


# --------------------------------------------------------------------------- probes


class Probe(Callback):
    """A callback whose :meth:`result` (JSON-able) is stored with the experiment's result."""

    def result(self) -> Any:
        raise NotImplementedError


class WeightReuseProbe(Probe):
    """DenseNet Fig. 5: mean |w| between every pair of layers of each block, after training."""

    def __init__(self) -> None:
        self._rows: list[dict] = []

    def on_train_end(self, state: TrainState) -> None:
        from ..analysis import weight_reuse

        self._rows = weight_reuse(state.model).frame.to_dict("records")

    def result(self) -> list[dict]:
        return self._rows


class GradientFlowProbe(Probe):
    """Per-layer weight-gradient norms at about ``times`` evenly spaced steps of training."""

    COLUMNS = ("step", "layer", "depth", "weight_grad_norm", "output_grad_norm")

    def __init__(self, times: int = 10) -> None:
        self.times = times
        self._recorder = None

    def on_train_begin(self, state: TrainState) -> None:
        from ..analysis import GradientRecorder

        total = state.epochs * state.steps_per_epoch
        self._recorder = GradientRecorder(state.model, every=max(1, total // self.times))
        self._recorder.arm(state.global_step)
        self._recorder.attach()

    def on_batch_end(self, state: TrainState) -> None:
        self._recorder.on_batch_end(state)

    def on_train_end(self, state: TrainState) -> None:
        self._recorder.detach()

    def result(self) -> list[dict]:
        frame = self._recorder.frame() if self._recorder is not None else None
        return [] if frame is None else frame[list(self.COLUMNS)].to_dict("records")


PROBES: dict[str, Callable[[], Probe]] = {
    "weight_reuse": WeightReuseProbe,
    "gradient_flow": GradientFlowProbe,
}


# --------------------------------------------------------------------------- registry

_GROUPS: dict[str, Callable[[str], list[Experiment]]] = {}


def group(chapter: str):
    """Register ``fn(budget) -> list[Experiment]`` as the experiments of ``chapter``."""

    def register(fn: Callable[[str], list[Experiment]]) -> Callable[[str], list[Experiment]]:
        if chapter in _GROUPS:
            raise ValueError(f"experiment group {chapter!r} is registered twice")
        _GROUPS[chapter] = fn
        return fn

    return register


def _load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        import_module(f"{__name__}.{info.name}")


def chapters() -> list[str]:
    _load_all()
    return sorted(_GROUPS)


def experiments(budget: str, chapter: str | None = None, name: str | None = None
                ) -> list[Experiment]:
    """Every registered experiment at ``budget`` (of one ``chapter``; whose name matches the glob
    ``name``), in declaration order."""
    get_budget(budget)
    _load_all()
    if chapter is not None and chapter not in _GROUPS:
        raise ValueError(f"no experiments for chapter {chapter!r}; chapters: {sorted(_GROUPS)}")
    names = [chapter] if chapter else sorted(_GROUPS)
    found = [e for name in names for e in _GROUPS[name](budget)]
    for e in found:
        if e.config.budget != budget:
            raise ValueError(f"{e.name}: declared at budget {e.config.budget!r}, asked for {budget!r}")
    if name is None:
        return found
    matched = [e for e in found if fnmatch.fnmatchcase(e.name, name)]
    if not matched:
        raise ValueError(f"no experiment at budget {budget!r} matches {name!r}; see "
                         f"`python -m cnnpapers experiments list --budget {budget}`")
    return matched


def get(budget: str, name: str) -> Experiment:
    for e in experiments(budget, name.split("/", 1)[0]):
        if e.name == name:
            return e
    raise ValueError(f"no experiment {name!r} at budget {budget!r}")


def run(experiment: Experiment, *, device: str | None = None, force: bool | None = None,
        progress: bool | str = False) -> results.Result:
    """The experiment's result: stored, or trained now (and stored, except at smoke)."""
    config = experiment.config if device is None else replace(experiment.config, device=device)
    probes = {name: PROBES[name]() for name in experiment.probes}
    return run_experiment(experiment.name, config, force=force, progress=progress, probes=probes)


def lookup(experiment: Experiment) -> results.Result | None:
    """The stored (or in-process) result, without training: for pages that must not train."""
    return results.lookup(experiment.name, experiment_record(experiment))


def experiment_record(experiment: Experiment) -> dict[str, Any]:
    return experiment.config.as_record(probes=experiment.probes)


def run_all(budget: str, chapter: str | None = None, device: str | None = None,
            force: bool | None = None, progress: bool | str = "auto",
            name: str | None = None) -> list[results.Result]:
    out = []
    todo = experiments(budget, chapter, name)
    for i, e in enumerate(todo, 1):
        print(f"[{i}/{len(todo)}] {e.name} ({e.config.model}, budget {budget})", flush=True)
        out.append(run(e, device=device, force=force, progress=progress))
    return out
