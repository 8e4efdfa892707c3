"""Memory profiling: what a forward pass keeps for backward, and what training peaks at.

Three measures, from most to least deterministic:

(a) **Saved-tensor bytes** (:func:`saved_tensor_bytes`): every tensor that autograd saves for
    backward passes through :func:`torch.autograd.graph.saved_tensors_hooks`. We count each
    distinct *storage* once, at its full size — a tensor saved by two ops (a ReLU's output that
    the next conv saves again), or several views of one buffer, are one allocation — and leave
    out parameters and buffers (BN running statistics), which exist whether or not anything is
    saved. The model input counts (the
    first layer saves it). This is exactly reproducible, runs on the ``meta`` device (shapes
    only, so a 250-layer DenseNet costs nothing), and is the quantity note 004 reasons about: a
    naive DenseNet block saves a fresh concatenation per layer, O(L²) maps; the memory-efficient
    one (shared buffer + recomputation, Pleiss et al. 2017) O(L). Tensors an op keeps without
    saving them through autograd (a custom Function's ``ctx`` attributes) are invisible to the
    hooks; they are counted only if some other op saves the same storage.
(b) **CUDA peak** (:func:`cuda_peak_memory`): ``torch.cuda.max_memory_allocated`` over a forward
    and backward, above what was allocated before (model, input); includes the parameter
    gradients and the allocator's temporaries.
(c) **Process peak RSS on CPU** (:func:`process_peak_rss`): the peak resident set size of a
    fresh Python process that builds the model and runs one forward and backward, so earlier
    allocations of the calling process do not pollute it; on Linux the kernel's high-water mark
    is reset just before the pass. Coarse (includes the runtime's own first-call allocations and
    the allocator's behaviour) but real.

:func:`compare_memory` runs any of them for several models across a sweep (e.g. DenseNet depth,
naive vs memory-efficient) and :func:`fit_growth` says whether a column grows linearly or
quadratically.
"""

from __future__ import annotations

import gc
import json
import pickle
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from .plots import finish, label, new_figure

MIB = 2**20
MEASURES = ("saved", "cuda", "rss")
Builder = Callable[[Any], nn.Module]


# ---------------------------------------------------------------------------------------------
# (a) saved tensors


@dataclass(frozen=True)
class SavedTensors:
    """``bytes``: distinct storages saved for backward, at full size, parameters and buffers
    excluded; ``storages``: how many; ``saves``: hook calls (duplicates and parameters included)."""

    bytes: int
    storages: int
    saves: int

    @property
    def mib(self) -> float:
        return self.bytes / MIB


def _storage_key(tensor: torch.Tensor) -> int:
    # the StorageImpl address: unique per allocation, shared by views, defined on meta too
    return tensor.untyped_storage()._cdata


def saved_tensor_bytes(model: nn.Module, x: torch.Tensor) -> SavedTensors:
    """Bytes kept for backward by one forward of ``model`` on ``x`` (see the module docstring).

    Runs with gradients enabled in the model's current mode (use ``model.train()`` for training
    memory); put model and input on the ``meta`` device to count without computing.
    """
    state = {_storage_key(t) for t in [*model.parameters(), *model.buffers()]}
    sizes: dict[int, int] = {}
    alive: list[torch.Tensor] = []  # keeps storages alive so their addresses stay unique
    saves = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal saves
        saves += 1
        key = _storage_key(tensor)
        if key not in state:
            sizes[key] = tensor.untyped_storage().nbytes()
            alive.append(tensor)
        return tensor

    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(x)
    del out
    return SavedTensors(sum(sizes.values()), len(sizes), saves)


# ---------------------------------------------------------------------------------------------
# (b) CUDA peak


def _loss(out: torch.Tensor) -> torch.Tensor:
    return out.float().sum()


def cuda_peak_memory(model: nn.Module, x: torch.Tensor, *, backward: bool = True) -> dict[str, int]:
    """Peak CUDA memory of one forward (and backward) of ``model`` on ``x`` (both on the GPU).

    Returns ``cuda_baseline_bytes`` (allocated before: model, input, anything else alive),
    ``cuda_peak_bytes`` (``max_memory_allocated``) and their difference ``cuda_increase_bytes``.
    """
    if x.device.type != "cuda":
        raise ValueError(f"cuda_peak_memory needs model and input on a CUDA device, got {x.device}")
    device = x.device
    model.zero_grad(set_to_none=True)
    gc.collect()
    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    out = model(x)
    if backward:
        _loss(out).backward()
    del out
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device)
    model.zero_grad(set_to_none=True)
    return {"cuda_baseline_bytes": base, "cuda_peak_bytes": peak,
            "cuda_increase_bytes": peak - base}


# ---------------------------------------------------------------------------------------------
# (c) process peak RSS, in a fresh interpreter

# The child imports only torch (and the builder's own module), so neither its baseline nor its
# peak carries the caller's libraries. On Linux it resets the kernel's high-water mark (VmHWM)
# just before the pass, so the transient peak of importing torch (larger than many models'
# activations) does not hide the pass; elsewhere it falls back to ru_maxrss, the peak since start.
_CHILD = """
import json, pickle, re, resource, sys
sys.path[:0] = pickle.load(sys.stdin.buffer)
import torch
builder, arg, input_size, batch_size, backward = pickle.load(sys.stdin.buffer)

def status_bytes(key):
    with open("/proc/self/status") as f:
        return int(re.search(key + r":\\s+(\\d+) kB", f.read()).group(1)) * 1024

def ru_maxrss_bytes():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024

torch.manual_seed(0)
model = builder(arg).train()
x = torch.randn(batch_size, *input_size)
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    method, before = "VmHWM", status_bytes("VmRSS")
except OSError:
    method, before = "ru_maxrss", ru_maxrss_bytes()
out = model(x)
if backward:
    out.float().sum().backward()
peak = status_bytes("VmHWM") if method == "VmHWM" else ru_maxrss_bytes()
print(json.dumps({"rss_before_bytes": before, "rss_peak_bytes": peak, "rss_method": method}))
"""


def process_peak_rss(builder: Builder, arg: Any, input_size: Sequence[int], *,
                     batch_size: int = 2, backward: bool = True,
                     timeout: float = 600) -> dict[str, Any]:
    """Peak RSS of a fresh process running ``builder(arg)`` forward (and backward) on CPU.

    ``builder`` must be picklable (a module-level function or a ``functools.partial``, not a
    lambda). Returns ``rss_before_bytes`` (resident after imports, model and input),
    ``rss_peak_bytes`` (the high-water mark during the pass), ``rss_increase_bytes`` (their
    difference, the pass's own growth) and ``rss_method`` ("VmHWM" on Linux, where the mark is
    reset before the pass; "ru_maxrss" elsewhere, the peak since start, which import-time
    allocations can mask).
    """
    try:
        payload = pickle.dumps(sys.path) + pickle.dumps(
            (builder, arg, tuple(input_size), batch_size, backward))
    except (pickle.PicklingError, AttributeError, TypeError) as err:
        raise ValueError(f"process_peak_rss needs a picklable builder (a module-level function or "
                         f"functools.partial, not a lambda): {err}") from err
    done = subprocess.run([sys.executable, "-c", _CHILD], input=payload, capture_output=True,
                          timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"memory subprocess failed:\n{done.stderr.decode()[-2000:]}")
    result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    result["rss_increase_bytes"] = result["rss_peak_bytes"] - result["rss_before_bytes"]
    return result


# ---------------------------------------------------------------------------------------------
# sweeps


def compare_memory(builders: Mapping[str, Builder], sweep: Sequence[Any], *,
                   input_size: Sequence[int] = (3, 32, 32), batch_size: int = 2,
                   sweep_name: str = "depth", measures: Sequence[str] = ("saved",),
                   cuda_device: str = "cuda") -> pd.DataFrame:
    """Memory of every ``builders[name](value)`` for ``value`` in ``sweep``: one row each.

    ``measures`` picks from ``"saved"`` (saved-tensor bytes, counted on the meta device),
    ``"cuda"`` (peak on ``cuda_device``) and ``"rss"`` (peak RSS of a fresh process; builders must
    be picklable). Columns: ``model``, ``sweep_name``, ``params``, then per measure its bytes and
    MiB (``saved_bytes``/``saved_mib``/``saved_storages``, ``cuda_increase_bytes``/
    ``cuda_increase_mib``/``cuda_peak_bytes``, ``rss_increase_bytes``/``rss_increase_mib``/
    ``rss_peak_bytes``/``rss_method``). Models are in train mode; the batch is ``batch_size`` x
    ``input_size``.
    """
    unknown = set(measures) - set(MEASURES)
    if unknown:
        raise ValueError(f"unknown measures {sorted(unknown)}; choose from {list(MEASURES)}")
    if "cuda" in measures and not torch.cuda.is_available():
        raise ValueError("measure 'cuda' needs a CUDA GPU; this machine has none "
                         "(use 'saved' or 'rss')")
    shape = (batch_size, *input_size)
    rows = []
    for name, builder in builders.items():
        for value in sweep:
            row: dict[str, Any] = {"model": name, sweep_name: value}
            with torch.device("meta"):
                model = builder(value).train()
                x = torch.empty(shape)
            row["params"] = sum(p.numel() for p in model.parameters())
            if "saved" in measures:
                saved = saved_tensor_bytes(model, x)
                row.update(saved_bytes=saved.bytes, saved_mib=saved.mib,
                           saved_storages=saved.storages)
            del model, x
            if "cuda" in measures:
                torch.manual_seed(0)
                model = builder(value).train().to(cuda_device)
                peak = cuda_peak_memory(model, torch.randn(shape, device=cuda_device))
                row.update(cuda_increase_bytes=peak["cuda_increase_bytes"],
                           cuda_increase_mib=peak["cuda_increase_bytes"] / MIB,
                           cuda_peak_bytes=peak["cuda_peak_bytes"])
                del model
            if "rss" in measures:
                rss = process_peak_rss(builder, value, input_size, batch_size=batch_size)
                row.update(rss_increase_bytes=rss["rss_increase_bytes"],
                           rss_increase_mib=rss["rss_increase_bytes"] / MIB,
                           rss_peak_bytes=rss["rss_peak_bytes"], rss_method=rss["rss_method"])
            rows.append(row)
    return pd.DataFrame(rows)


def memory_table(frame: pd.DataFrame, column: str = "saved_mib",
                 sweep_name: str = "depth") -> pd.DataFrame:
    """``compare_memory`` output as sweep values (rows) x models (columns) of one measure."""
    return frame.pivot(index=sweep_name, columns="model", values=column)


@dataclass(frozen=True)
class GrowthFit:
    """Least-squares fits of y against x: linear ``y = b1·x + b0`` and quadratic
    ``y = a2·x² + a1·x + a0``, their R², and the verdict ``growth``.

    ``quadratic_share`` is |a2|·x_max² / |ŷ(x_max)|, the part of the largest fitted value that
    the x² term accounts for; growth is "quadratic" when it exceeds the ``threshold`` given to
    :func:`fit_growth`, else "linear". (R² alone cannot decide: a quadratic over a short range
    is fitted well by a line too.)
    """

    linear: tuple[float, float]  # (b1, b0)
    linear_r2: float
    quadratic: tuple[float, float, float]  # (a2, a1, a0)
    quadratic_r2: float
    quadratic_share: float
    growth: str


def _r2(y: np.ndarray, fitted: np.ndarray) -> float:
    total = float(((y - y.mean()) ** 2).sum())
    residual = float(((y - fitted) ** 2).sum())
    return 1.0 if total == 0 else 1.0 - residual / total


def fit_growth(x: Sequence[float], y: Sequence[float], *, threshold: float = 0.05) -> GrowthFit:
    """Fit y(x) with a line and a parabola and say which growth it is (see :class:`GrowthFit`)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 4:
        raise ValueError(f"fit_growth needs at least 4 sweep points to tell x from x², "
                         f"got {len(x)}")
    lin = np.polyfit(x, y, 1)
    quad = np.polyfit(x, y, 2)
    x_max = x[np.argmax(np.abs(x))]
    share = abs(quad[0]) * x_max**2 / max(abs(np.polyval(quad, x_max)), np.finfo(float).tiny)
    return GrowthFit(
        linear=(float(lin[0]), float(lin[1])), linear_r2=_r2(y, np.polyval(lin, x)),
        quadratic=(float(quad[0]), float(quad[1]), float(quad[2])),
        quadratic_r2=_r2(y, np.polyval(quad, x)), quadratic_share=float(share),
        growth="quadratic" if share > threshold else "linear",
    )


def growth_table(frame: pd.DataFrame, column: str = "saved_mib", sweep_name: str = "depth",
                 *, threshold: float = 0.05) -> pd.DataFrame:
    """One :func:`fit_growth` per model of a ``compare_memory`` frame, as a table."""
    rows = []
    for name, part in frame.groupby("model", sort=False):
        fit = fit_growth(part[sweep_name], part[column], threshold=threshold)
        rows.append({"model": name, "growth": fit.growth, "quadratic_share": fit.quadratic_share,
                     "a2": fit.quadratic[0], "a1": fit.quadratic[1], "a0": fit.quadratic[2],
                     "quadratic_r2": fit.quadratic_r2, "b1": fit.linear[0], "b0": fit.linear[1],
                     "linear_r2": fit.linear_r2})
    return pd.DataFrame(rows)


_UNITS = {"saved_mib": "tensors saved for backward (MiB)",
          "cuda_increase_mib": "CUDA peak above baseline (MiB)",
          "rss_increase_mib": "process peak RSS increase (MiB)"}


def plot_memory_sweep(frame: pd.DataFrame, *, caption: str, column: str = "saved_mib",
                      sweep_name: str = "depth", title: str | None = None):
    """Measured memory against the sweep, one line per model, with its quadratic fit dashed."""
    fig, ax = new_figure(width=6.4, height=4.2)
    for name, part in frame.groupby("model", sort=False):
        part = part.sort_values(sweep_name)
        x, y = part[sweep_name].to_numpy(float), part[column].to_numpy(float)
        (line,) = ax.plot(x, y, marker="o", linestyle="none")
        if len(x) >= 4:
            fit = fit_growth(x, y)
            grid = np.linspace(x.min(), x.max(), 100)
            ax.plot(grid, np.polyval(fit.quadratic, grid), linestyle="--", color=line.get_color(),
                    label=f"{name}: {fit.growth} (x² share {fit.quadratic_share:.0%}, "
                          f"R² {fit.quadratic_r2:.4f})")
        else:
            line.set_label(name)
    ax.legend(fontsize=8)
    label(ax, title=title or "Memory against " + sweep_name.replace("_", " "),
          xlabel=sweep_name.replace("_", " "), ylabel=_UNITS.get(column, column))
    return finish(fig, caption)
