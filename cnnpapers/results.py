"""Results cache: long runs are stored as small JSON artifacts with provenance.

An experiment is named (``"densenet/table2/densenet_40_k12"``) and configured by a JSON-able dict
that includes its ``budget`` and ``seed``. :func:`cached` returns the stored artifact whose
configuration hash matches, or runs the experiment and stores it atomically, so the book can be
rebuilt without retraining and a half-written file can never be mistaken for a result.

Layout: ``results/<budget>/<experiment>/<config-hash>.json``. ``smoke`` results are never
stored: the smoke budget exists to exercise code, and CI must really run it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import provenance
from .budgets import get_budget

RESULTS_DIR_ENV = "CNNPAPERS_RESULTS"
FORCE_ENV = "CNNPAPERS_FORCE"
UNCACHED_BUDGETS = {"smoke"}
# Results of this process, so a chapter and its claim checks share one run even at smoke budget.
_MEMO: dict[tuple[str, str, str], "Result"] = {}


@dataclass
class Result:
    experiment: str
    config: dict[str, Any]
    metrics: dict[str, Any]
    curves: dict[str, list] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def caption(self) -> str:
        return provenance.caption(self.provenance)


def results_root() -> Path:
    return Path(os.environ.get(RESULTS_DIR_ENV, provenance.REPO_ROOT / "results"))


def config_hash(config: dict[str, Any]) -> str:
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _validate(experiment: str, config: dict[str, Any]) -> None:
    missing = {"budget", "seed"} - set(config)
    if missing:
        raise ValueError(f"experiment {experiment!r}: config needs {sorted(missing)}")
    get_budget(config["budget"])  # an unknown budget fails here, before anything runs
    if not experiment or experiment.startswith("/") or ".." in experiment.split("/"):
        raise ValueError(f"experiment name must be a relative path like 'chapter/run', got {experiment!r}")


def result_path(experiment: str, config: dict[str, Any], root: Path | None = None) -> Path:
    _validate(experiment, config)
    root = results_root() if root is None else Path(root)
    return root / config["budget"] / experiment / f"{config_hash(config)}.json"


def load(experiment: str, config: dict[str, Any], root: Path | None = None) -> Result | None:
    """The stored result for exactly this configuration, or ``None``."""
    path = result_path(experiment, config, root)
    if not path.exists():
        return None
    result = _read(path)
    if result.config != json.loads(json.dumps(config, default=str)):
        raise ValueError(f"{path} holds a different configuration than its name says; delete it")
    return result


def _read(path: Path) -> Result:
    try:
        return Result(**json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError) as err:
        raise ValueError(
            f"corrupt result file {path}: {err}. Delete it and rerun, or set {FORCE_ENV}=1."
        ) from err


def stored_in(folder: Path) -> list[Result]:
    """Every result stored below ``folder`` (e.g. ``results_root() / "cpu" / "bench"``), in path
    order. The temporary file of a write in progress or killed (``.tmp-*``) is not a result."""
    return [_read(path) for path in sorted(Path(folder).rglob("*.json"))
            if not path.name.startswith(".")]


def save(result: Result, root: Path | None = None) -> Path:
    """Write ``result`` atomically (temporary file in the same folder, then rename)."""
    path = result_path(result.experiment, result.config, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_finite(asdict(result)), indent=1, sort_keys=True, default=str)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _finite(obj: Any) -> Any:
    """JSON has no NaN/inf; store them as strings so files stay standard JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def lookup(experiment: str, config: dict[str, Any], root: Path | None = None) -> Result | None:
    """A result already computed in this process or stored on disk, without running anything."""
    memo = _MEMO.get(_memo_key(experiment, config, root))
    return memo if memo is not None else load(experiment, config, root)


def _memo_key(experiment: str, config: dict[str, Any], root: Path | None) -> tuple[str, str, str]:
    return (str(results_root() if root is None else root), experiment, config_hash(config))


def cached(
    experiment: str,
    config: dict[str, Any],
    compute: Callable[[], dict[str, Any]],
    *,
    device: str = "cpu",
    force: bool | None = None,
    root: Path | None = None,
) -> Result:
    """Return the stored result for ``config`` or run ``compute()`` and store what it returns.

    ``compute`` returns ``{"metrics": {...}, "curves": {...}}`` (curves optional). ``force``
    (default: the ``CNNPAPERS_FORCE`` environment variable) reruns even when a result exists.
    """
    _validate(experiment, config)
    if force is None:
        force = os.environ.get(FORCE_ENV, "") not in ("", "0")
    store = config["budget"] not in UNCACHED_BUDGETS
    key = _memo_key(experiment, config, root)
    if not force:
        hit = _MEMO.get(key) or (load(experiment, config, root) if store else None)
        if hit is not None:
            return hit
    # Provenance names the code as it was when the run started: a commit made during a long
    # run did not produce its numbers.
    prov = provenance.collect(device, budget=config["budget"], seed=config["seed"],
                              config_hash=config_hash(config))
    start = time.perf_counter()
    out = compute()
    prov["wall_time_s"] = round(time.perf_counter() - start, 2)
    result = Result(experiment, json.loads(json.dumps(config, default=str)),
                    out["metrics"], out.get("curves", {}), prov)
    if store:
        save(result, root)
    _MEMO[key] = result
    return result
