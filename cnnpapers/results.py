"""Results cache: long runs are stored as small JSON artifacts with provenance.

An experiment is named (``"densenet/table2/densenet_40_k12"``) and configured by a JSON-able dict
that includes its ``budget`` and ``seed``. :func:`cached` returns the stored artifact whose
configuration hash matches, or runs the experiment and stores it atomically, so the book can be
rebuilt without retraining and a half-written file can never be mistaken for a result.

Layout: ``results/<budget>/<experiment>/<config-hash>.json``. ``smoke`` results are never
stored: the smoke budget exists to exercise code, and CI must really run it.

The store tolerates damage: a file that is not a readable result (truncated, corrupt, or holding
another configuration than its name says) is reported with a :class:`CorruptResultWarning` and
treated as missing, so listings and pages skip it and :func:`cached` computes the result again and
overwrites it. Two processes asking for the same missing result do not both compute it: the
second waits for the first (an ``flock`` on ``.<hash>.lock`` beside the result) and then returns
what the first stored.
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import hashlib
import json
import math
import os
import re
import secrets
import socket
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from . import provenance
from .budgets import get_budget

RESULTS_DIR_ENV = "CNNPAPERS_RESULTS"
FORCE_ENV = "CNNPAPERS_FORCE"
UNCACHED_BUDGETS = {"smoke"}
# A temporary file nobody has written to for this long belongs to a killed write: even a large
# checkpoint is written in seconds, and every write touches the file's mtime.
STALE_TEMPORARY_S = 15 * 60
# Results of this process, so a chapter and its claim checks share one run even at smoke budget.
_MEMO: dict[tuple[str, str, str], "Result"] = {}


class CorruptResultWarning(UserWarning):
    """A stored result file cannot be used; it is skipped, i.e. treated as missing. ``path``
    names the file."""

    def __init__(self, message: str, path: Path):
        super().__init__(message)
        self.path = path


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


# --------------------------------------------------------------------------- reading


class _Unusable(ValueError):
    """A result file that exists but cannot serve as a result."""


def _read(path: Path) -> Result:
    """The result in ``path``; ``_Unusable`` if it is not one, ``FileNotFoundError`` if gone."""
    try:
        return Result(**json.loads(path.read_text()))
    except (ValueError, TypeError) as err:  # bad JSON or bytes; JSON that is not a result
        raise _Unusable(f"it is not a readable result ({type(err).__name__}: {err})") from err


# The lists of the enclosing noting_damage() blocks' damaged files.
_NOTING: contextvars.ContextVar[tuple[list[Path], ...]] = contextvars.ContextVar("noting",
                                                                                default=())


def _report(path: Path, problem: str) -> None:
    warnings.warn(CorruptResultWarning(
        f"skipping result file {path}: {problem}. It counts as missing: delete it, or rerun its "
        f"experiment, which overwrites it.", path), stacklevel=3)
    for damaged in _NOTING.get():
        damaged.append(path)


@contextlib.contextmanager
def noting_damage() -> Iterator[list[Path]]:
    """The damaged result files skipped inside the block (each also reported as a warning), for
    a page that must say why a number is missing."""
    damaged: list[Path] = []
    token = _NOTING.set((*_NOTING.get(), damaged))
    try:
        yield damaged
    finally:
        _NOTING.reset(token)


def load(experiment: str, config: dict[str, Any], root: Path | None = None) -> Result | None:
    """The stored result for exactly this configuration, or ``None``: also when the file is
    damaged (reported with a :class:`CorruptResultWarning`), so a run computes it again.

    Recomputing is safe because such a file holds nothing the book can use; the warning names it
    before :func:`cached` overwrites it (a committed one can be restored from git).
    """
    path = result_path(experiment, config, root)
    try:
        result = _read(path)
    except FileNotFoundError:
        return None
    except _Unusable as err:
        _report(path, str(err))
        return None
    if result.config != json.loads(json.dumps(config, default=str)):
        _report(path, "it holds a different configuration than its name says")
        return None
    return result


@dataclass
class Scan:
    """What :func:`scan` found below a folder: readable results (with their files) and the
    files that are not (already reported)."""

    found: list[tuple[Path, Result]]
    damaged: list[Path]


def scan(folder: Path) -> Scan:
    """Every result file below ``folder``, in path order. Damaged files are reported and listed
    apart; temporary files of writes in progress (``.tmp-*``) are not results, and those of
    killed writes are removed."""
    found, damaged = [], []
    for path in sorted(Path(folder).rglob("*.json")):
        if path.name.startswith("."):
            continue
        try:
            found.append((path, _read(path)))
        except FileNotFoundError:
            continue  # removed while we looked
        except _Unusable as err:
            _report(path, str(err))
            damaged.append(path)
    for tmp in Path(folder).rglob(".tmp-*"):
        _remove_if_stale(tmp)
    return Scan(found, damaged)


def stored_in(folder: Path) -> list[Result]:
    """Every readable result stored below ``folder`` (e.g. ``results_root() / "cpu" / "bench"``),
    in path order; damaged files are reported and skipped (see :func:`scan`)."""
    return [result for _, result in scan(folder).found]


# --------------------------------------------------------------------------- writing


_TEMPORARY = re.compile(r"\.tmp-(?P<host>.+)-(?P<pid>\d+)-[0-9a-f]+(\..*)?")


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, fsync it, rename it over ``path``.

    A reader sees the old file or the new one, never half of one. The file gets the mode a plain
    ``open`` would give (0644 under the usual umask). The temporary's name says which host and
    process writes it, so a later write or scan of the folder can remove it if that process died.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob(".tmp-*"):
        _remove_if_stale(old)
    tmp = path.with_name(f".tmp-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
                         f"{path.suffix}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _remove_if_stale(tmp: Path) -> None:
    """Remove the temporary file of a killed write: untouched for :data:`STALE_TEMPORARY_S`, or
    written on this host by a process that no longer exists."""
    try:
        age = time.time() - tmp.stat().st_mtime
    except FileNotFoundError:
        return  # its write finished meanwhile
    writer = _TEMPORARY.fullmatch(tmp.name)
    dead = (writer is not None and writer["host"] == socket.gethostname()
            and not _process_exists(int(writer["pid"])))
    if age > STALE_TEMPORARY_S or dead:
        tmp.unlink(missing_ok=True)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def save(result: Result, root: Path | None = None) -> Path:
    """Write ``result`` atomically (see :func:`atomic_write`)."""
    path = result_path(result.experiment, result.config, root)
    text = json.dumps(_finite(asdict(result)), indent=1, sort_keys=True, default=str) + "\n"
    atomic_write(path, lambda fh: fh.write(text.encode()))
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


@contextlib.contextmanager
def claim(path: Path) -> Iterator[None]:
    """Hold ``path``'s lock (``.<stem>.lock`` beside it) for the block; wait while another
    process holds it.

    The lock is an ``flock``, so the kernel drops it when its holder dies. The holder removes the
    lock file before letting go, so a waiter that locked the removed file tries again.
    """
    lock = path.with_name(f".{path.stem}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                print(f"waiting for another process computing {path} (it holds {lock})",
                      file=sys.stderr, flush=True)
                fcntl.flock(fd, fcntl.LOCK_EX)
            if _is_current(fd, lock):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)


def _is_current(fd: int, lock: Path) -> bool:
    """Whether ``fd`` is still the file at ``lock`` (its last holder may have removed it)."""
    try:
        return os.stat(lock).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


# --------------------------------------------------------------------------- the cache


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

    ``compute`` returns ``{"metrics": {...}, "curves": {...}}`` (curves optional), and optionally
    ``"provenance": {...}``, added to the result's provenance; its ``earlier_sessions_s`` (time
    spent on this result before this call, e.g. by a run that was resumed) is added to the
    measured ``wall_time_s``. ``force`` (default: the ``CNNPAPERS_FORCE`` environment variable)
    reruns even when a result exists. While one process computes a stored configuration, another
    asking for it waits and then returns the stored result (see :func:`claim`).
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
    if not store:
        result = _compute(experiment, config, compute, device)
    else:
        with claim(result_path(experiment, config, root)):
            # another process may have stored it while this one waited for the lock
            hit = None if force else load(experiment, config, root)
            if hit is not None:
                _MEMO[key] = hit
                return hit
            result = _compute(experiment, config, compute, device)
            save(result, root)
    _MEMO[key] = result
    return result


def _compute(experiment: str, config: dict[str, Any], compute: Callable[[], dict[str, Any]],
             device: str) -> Result:
    # Provenance names the code as it was when the run started: a commit made during a long
    # run did not produce its numbers.
    prov = provenance.collect(device, budget=config["budget"], seed=config["seed"],
                              config_hash=config_hash(config))
    start = time.perf_counter()
    out = compute()
    prov.update(out.get("provenance", {}))
    session = time.perf_counter() - start
    prov["wall_time_s"] = round(session + prov.get("earlier_sessions_s", 0.0), 2)
    return Result(experiment, json.loads(json.dumps(config, default=str)),
                  out["metrics"], out.get("curves", {}), prov)
