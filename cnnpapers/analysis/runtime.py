"""Where the time goes: runtime per operator category, and ShuffleNet v2's guideline benchmarks.

ShuffleNet v2 (Ma et al. 2018; note 001, "高效CNN网络设计的四个准则") argues that FLOPs are an
indirect measure of speed: its Fig. 2 splits the run time of ShuffleNet v1 and MobileNet v2 into
convolution and the memory-bound rest (element-wise ops, data movement), and its Tables 1–4 test
four guidelines on synthetic networks of constant FLOPs:

G1  equal input/output channel widths minimise memory access cost (MAC) — Table 1;
G2  many groups in a convolution increase MAC — Table 2;
G3  network fragmentation (many small ops) reduces parallelism — Table 3;
G4  element-wise operations (ReLU, shortcut add) are not negligible — Table 4.

:func:`runtime_breakdown` profiles a model's forward pass with :mod:`torch.profiler` and sums the
time of every top-level ``aten`` operator into :data:`CATEGORIES`. :func:`guideline_g1` ...
:func:`guideline_g4` rebuild the paper's benchmark networks (10 stacked blocks on a 56x56 input
at the paper's widths under the ``cpu``/``gpu`` budgets, smaller under ``smoke``) and return the
measured speed next to MACs.

Naming: in this module, as in the ShuffleNet v2 paper, **MAC means memory access cost** — the
``mem_access`` column, in elements read and written — while the arithmetic is in ``macs``
(multiply-accumulates, 1 MAC = 2 FLOPs) as everywhere else in ``cnnpapers``; the paper's
"FLOPs" are multiply-accumulates.
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import sys
from dataclasses import dataclass
from typing import Callable, Mapping

import pandas as pd
import torch
from torch import nn

from ..budgets import Budget, get_budget
from .cost import model_cost
from .plots import finish, label, new_figure
from .throughput import time_call

CATEGORIES = ("convolution", "elementwise", "data movement", "other")

# Operator name (without "aten::") -> category. Linear layers are 1x1 convolutions on a 1x1 map
# and count as convolution; pooling and reductions are "other", as are allocations.
_CONV = {"conv1d", "conv2d", "conv3d", "convolution", "_convolution", "conv_transpose2d",
         "linear", "addmm", "mm", "bmm", "matmul"}
_ELEMENTWISE = {"batch_norm", "layer_norm", "group_norm", "instance_norm", "relu", "relu_",
                "relu6", "hardtanh", "hardtanh_", "sigmoid", "sigmoid_", "tanh", "tanh_",
                "hardswish", "hardswish_", "hardsigmoid", "silu", "silu_", "gelu", "elu", "elu_",
                "leaky_relu", "leaky_relu_", "add", "add_", "sub", "sub_", "mul", "mul_", "div",
                "div_", "clamp", "clamp_", "clamp_min", "clamp_min_", "dropout", "dropout_",
                "threshold", "threshold_", "neg", "exp", "abs"}
_DATA = {"cat", "concat", "stack", "transpose", "permute", "contiguous", "clone", "copy_",
         "_to_copy", "to", "split", "split_with_sizes", "chunk", "narrow", "slice", "select",
         "index_select", "view", "reshape", "_reshape_alias", "flatten", "unsqueeze", "squeeze",
         "expand", "channel_shuffle", "native_channel_shuffle", "pixel_shuffle", "roll",
         "unbind", "t", "as_strided", "pad", "constant_pad_nd"}


def categorize(op: str) -> str:
    """The :data:`CATEGORIES` entry of an operator name such as ``"aten::conv2d"``."""
    name = op.split("::", 1)[-1]
    if name in _CONV:
        return "convolution"
    if name in _ELEMENTWISE:
        return "elementwise"
    if name in _DATA:
        return "data movement"
    return "other"


@dataclass(frozen=True)
class RuntimeBreakdown:
    """Per-operator times of one forward pass (``ops``: op, category, calls, time_ms), averaged
    over ``repeats`` profiled passes on ``device``; CPU time on a CPU, kernel time on a GPU."""

    ops: pd.DataFrame
    device: str
    repeats: int

    def categories(self) -> pd.DataFrame:
        """time_ms and share of the total per category, in :data:`CATEGORIES` order."""
        per = self.ops.groupby("category")["time_ms"].sum().reindex(CATEGORIES, fill_value=0.0)
        total = per.sum()
        return pd.DataFrame({"category": per.index, "time_ms": per.to_numpy(),
                             "share": (per / total if total > 0 else per * 0).to_numpy()})


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send file descriptor 2 to /dev/null: the profiler's C++ backend logs its start and stop
    there, with timestamps, which would otherwise land in notebooks and logs."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def runtime_breakdown(model: nn.Module, x: torch.Tensor, *, repeats: int = 5,
                      warmup: int = 2) -> RuntimeBreakdown:
    """Profile ``repeats`` inference passes of ``model`` on ``x`` and split the time by category.

    Only *top-level* operators are summed (an ``aten::conv2d`` includes the backend convolution it
    calls), so no time is counted twice; Python overhead between operators is not included.
    """
    from torch.profiler import ProfilerActivity, profile

    device = x.device
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for _ in range(warmup):
                model(x)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            with _native_stderr_silenced(), profile(activities=activities) as prof:
                for _ in range(repeats):
                    model(x)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
    finally:
        model.train(was_training)

    totals: dict[str, list[float]] = {}
    for event in prof.events():
        if event.cpu_parent is not None or not event.name.startswith("aten::"):
            continue
        us = event.device_time_total if device.type == "cuda" else event.cpu_time_total
        calls_time = totals.setdefault(event.name, [0, 0.0])
        calls_time[0] += 1
        calls_time[1] += us
    rows = [{"op": op, "category": categorize(op), "calls": calls / repeats,
             "time_ms": us / 1e3 / repeats} for op, (calls, us) in totals.items()]
    ops = pd.DataFrame(rows, columns=["op", "category", "calls", "time_ms"])
    return RuntimeBreakdown(ops.sort_values("time_ms", ascending=False, ignore_index=True),
                            str(device), repeats)


def plot_runtime_breakdown(breakdowns: Mapping[str, RuntimeBreakdown], *, caption: str):
    """Stacked horizontal bars: share of forward time per category, one bar per model (Fig. 2)."""
    fig, ax = new_figure(width=8.0, height=1.8 + 0.5 * len(breakdowns))
    names = list(breakdowns)
    left = [0.0] * len(names)
    for category in CATEGORIES:
        shares = [100 * breakdowns[n].categories().set_index("category").loc[category, "share"]
                  for n in names]
        bars = ax.barh(names, shares, left=left, label=category)
        for bar, share in zip(bars, shares):
            if share >= 6:
                ax.text(bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height() / 2,
                        f"{share:.0f}%", ha="center", va="center", fontsize=7, color="white")
        left = [a + b for a, b in zip(left, shares)]
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    ax.legend(title="category", fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    devices = ", ".join(sorted({b.device for b in breakdowns.values()}))
    label(ax, title=f"Run time decomposition of one forward pass ({devices})",
          xlabel="share of operator time (%)", ylabel="model")
    return finish(fig, caption)


# ---------------------------------------------------------------------------------------------
# G1-G4 benchmark networks (ShuffleNet v2, Sec. 2 and Appendix Fig. 1)

BLOCKS = 10  # "the network is built by stacking 10 building blocks" (Sec. 2)


@dataclass(frozen=True)
class BenchmarkSize:
    """How big the guideline benchmarks are: spatial size, batch, width multipliers, timing."""

    spatial: int
    batch_size: int
    widths: tuple[int, ...]  # multipliers of the paper's x1 channel numbers
    repeats: int
    iters: int
    warmup: int = 2


def benchmark_size(budget: str | Budget) -> BenchmarkSize:
    """The paper's 56x56 input at width x1 on a CPU, x1/x2/x4 and batch 8 on a GPU; a quick
    14x14 version for ``smoke``."""
    return get_budget(budget).pick(
        smoke=BenchmarkSize(spatial=14, batch_size=1, widths=(1,), repeats=3, iters=1, warmup=1),
        cpu=BenchmarkSize(spatial=56, batch_size=1, widths=(1,), repeats=7, iters=2),
        gpu=BenchmarkSize(spatial=56, batch_size=8, widths=(1, 2, 4), repeats=11, iters=20,
                          warmup=10),
    )


def g1_channels(ratio: int, base: int = 128) -> tuple[int, int]:
    """(c1, c2) with c1:c2 = 1:ratio and c1·c2 ≈ base² (constant FLOPs; Table 1's x1 column is
    base = 128: (128,128), (90,180), (52,312), (36,432))."""
    c1 = math.floor(base / math.sqrt(ratio))
    return c1, c1 * ratio


def g2_channels(groups: int, base: int = 128) -> int:
    """Width c of a g-group 1x1 conv with c²/g ≈ base² (constant FLOPs; Table 2: 128, 180, 256,
    360), rounded down to a multiple of 4 and of g."""
    step = math.lcm(4, groups)
    return math.floor(base * math.sqrt(groups) / step) * step


class _Pair(nn.Module):
    """G1 block: 1x1 conv c1->c2 then 1x1 conv c2->c1 (Sec. 2, G1)."""

    def __init__(self, c1: int, c2: int):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(c1, c2, 1, bias=False), nn.Conv2d(c2, c1, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x))


class _Parallel(nn.Module):
    """G3 parallel fragments: n 1x1 convs c -> c/n side by side, outputs concatenated."""

    def __init__(self, channels: int, fragments: int):
        super().__init__()
        self.branches = nn.ModuleList(nn.Conv2d(channels, channels // fragments, 1, bias=False)
                                      for _ in range(fragments))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], 1)


class _Bottleneck(nn.Module):
    """G4 unit: ResNet bottleneck 1x1 (4c->c), 3x3 (c->c), 1x1 (c->4c) with BN; ReLUs and the
    identity shortcut can be removed separately (Table 4)."""

    def __init__(self, c: int, relu: bool, shortcut: bool):
        super().__init__()
        self.relu, self.shortcut = relu, shortcut
        self.convs = nn.ModuleList([nn.Conv2d(4 * c, c, 1, bias=False),
                                    nn.Conv2d(c, c, 3, padding=1, bias=False),
                                    nn.Conv2d(c, 4 * c, 1, bias=False)])
        self.norms = nn.ModuleList([nn.BatchNorm2d(c), nn.BatchNorm2d(c), nn.BatchNorm2d(4 * c)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            out = norm(conv(out))
            if self.relu and i < 2:
                out = torch.relu(out)
        if self.shortcut:
            out = out + x
        return torch.relu(out) if self.relu else out


def _stack(make: Callable[[], nn.Module]) -> nn.Sequential:
    return nn.Sequential(*(make() for _ in range(BLOCKS)))


def conv1x1_memory_access(h: int, w: int, c1: int, c2: int, groups: int = 1) -> int:
    """ShuffleNet v2's MAC of a 1x1 convolution: hw(c1 + c2) + c1·c2/g elements (Eq. 1, Eq. 2)."""
    return h * w * (c1 + c2) + c1 * c2 // groups


def _benchmark(model: nn.Module, in_channels: int, size: BenchmarkSize,
               device: torch.device) -> dict:
    model = model.to(device).eval()
    x = torch.randn(size.batch_size, in_channels, size.spatial, size.spatial, device=device)
    macs = model_cost(model, (in_channels, size.spatial, size.spatial)).macs

    def forward() -> None:
        with torch.no_grad():
            model(x)

    times = time_call(forward, device=device, warmup=size.warmup, repeats=size.repeats,
                      iters=size.iters)
    median = statistics.median(times)
    return {"macs": macs, "ms_per_batch": 1e3 * median, "batches_per_s": 1 / median,
            "ms_min": 1e3 * min(times), "ms_max": 1e3 * max(times)}


def _run(guideline: str, settings: list[tuple[dict, Callable[[], nn.Module], int, int | None]],
         size: BenchmarkSize, device: str | torch.device) -> pd.DataFrame:
    """Time each (columns, builder, input channels, memory access) setting; one row each."""
    device = torch.device(device)
    rows = []
    for columns, build, in_channels, mem_access in settings:
        torch.manual_seed(0)
        row = {"guideline": guideline, **columns}
        row.update(_benchmark(build(), in_channels, size, device))
        if mem_access is not None:
            row["mem_access"] = mem_access
        row.update(spatial=size.spatial, batch_size=size.batch_size, device=str(device))
        rows.append(row)
    return pd.DataFrame(rows)


def guideline_g1(budget: str | Budget = "cpu", device: str | torch.device = "cpu", *,
                 size: BenchmarkSize | None = None) -> pd.DataFrame:
    """G1, Table 1: ten blocks of two 1x1 convs c1->c2->c1 with c1:c2 = 1:1, 1:2, 1:6, 1:12 at
    constant FLOPs. ``mem_access`` (memory access cost, elements, per image) is the sum of
    :func:`conv1x1_memory_access` over the 20 convs; it is smallest at 1:1."""
    size = size or benchmark_size(budget)
    s, settings = size.spatial, []
    for width in size.widths:
        for ratio in (1, 2, 6, 12):
            c1, c2 = g1_channels(ratio, 128 * width)
            mac = BLOCKS * (conv1x1_memory_access(s, s, c1, c2)
                            + conv1x1_memory_access(s, s, c2, c1))
            settings.append(({"setting": f"1:{ratio}", "width": width, "c1": c1, "c2": c2},
                             lambda c1=c1, c2=c2: _stack(lambda: _Pair(c1, c2)), c1, mac))
    return _run("G1", settings, size, device)


def guideline_g2(budget: str | Budget = "cpu", device: str | torch.device = "cpu", *,
                 size: BenchmarkSize | None = None) -> pd.DataFrame:
    """G2, Table 2: ten 1x1 group convs c->c with g = 1, 2, 4, 8 at constant FLOPs (c grows as
    √g); ``mem_access`` grows with g."""
    size = size or benchmark_size(budget)
    s, settings = size.spatial, []
    for width in size.widths:
        for g in (1, 2, 4, 8):
            c = g2_channels(g, 128 * width)
            mac = BLOCKS * conv1x1_memory_access(s, s, c, c, g)
            settings.append(({"setting": f"g={g}", "width": width, "groups": g, "c": c},
                             lambda c=c, g=g: _stack(
                                 lambda: nn.Conv2d(c, c, 1, groups=g, bias=False)), c, mac))
    return _run("G2", settings, size, device)


def guideline_g3(budget: str | Budget = "cpu", device: str | torch.device = "cpu", *,
                 size: BenchmarkSize | None = None) -> pd.DataFrame:
    """G3, Table 3: 1-fragment (one 1x1 conv c->c), 2/4-fragment series (2 or 4 1x1 convs of
    width c/√n in sequence) and 2/4-fragment parallel (n 1x1 convs c->c/n side by side,
    concatenated), ten blocks each, all at about the FLOPs of the 1-fragment block."""
    size = size or benchmark_size(budget)
    settings = []
    for width in size.widths:
        c = 128 * width
        settings.append(({"setting": "1-fragment", "width": width, "c": c},
                         lambda c=c: _stack(lambda: nn.Conv2d(c, c, 1, bias=False)), c, None))
        for n in (2, 4):
            cs = round(c / math.sqrt(n))
            settings.append(({"setting": f"{n}-fragment-series", "width": width, "c": cs},
                             lambda cs=cs, n=n: _stack(lambda: nn.Sequential(
                                 *(nn.Conv2d(cs, cs, 1, bias=False) for _ in range(n)))), cs, None))
        for n in (2, 4):
            settings.append(({"setting": f"{n}-fragment-parallel", "width": width, "c": c},
                             lambda c=c, n=n: _stack(lambda: _Parallel(c, n)), c, None))
    return _run("G3", settings, size, device)


def guideline_g4(budget: str | Budget = "cpu", device: str | torch.device = "cpu", *,
                 size: BenchmarkSize | None = None) -> pd.DataFrame:
    """G4, Table 4: ten ResNet bottleneck units of width c = 32, 64, 128 (x the budget's width
    multipliers) with and without ReLU and shortcut; the MACs are identical across the four
    variants, the element-wise work is not. We read the table's c as the bottleneck width
    (ResNet's convention: the unit's input and output have 4c channels)."""
    size = size or benchmark_size(budget)
    settings = []
    for width in size.widths:
        for c in (32 * width, 64 * width, 128 * width):
            for relu in (True, False):
                for shortcut in (True, False):
                    settings.append((
                        {"setting": f"ReLU {'yes' if relu else 'no'}, shortcut "
                                    f"{'yes' if shortcut else 'no'}",
                         "width": width, "c": c, "relu": relu, "shortcut": shortcut},
                        lambda c=c, r=relu, sc=shortcut: _stack(lambda: _Bottleneck(c, r, sc)),
                        4 * c, None))
    return _run("G4", settings, size, device)


GUIDELINES: dict[str, Callable[..., pd.DataFrame]] = {
    "G1": guideline_g1, "G2": guideline_g2, "G3": guideline_g3, "G4": guideline_g4,
}


def plot_guideline(table: pd.DataFrame, *, caption: str):
    """Measured batches/s per setting of one guideline table (bars), MACs written on each bar."""
    guideline = table["guideline"].iloc[0]
    fig, ax = new_figure(width=7.0, height=4.0)
    groups = ["c", "width"] if guideline == "G4" else ["width"]
    labels, pos = [], 0
    for keys, part in table.groupby(groups, sort=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        tag = ", ".join(f"{g}={k}" for g, k in zip(groups, keys))
        bars = ax.bar(range(pos, pos + len(part)), part["batches_per_s"], label=tag)
        for bar, macs in zip(bars, part["macs"]):
            ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"{macs / 1e6:.0f}M",
                    ha="center", va="bottom", fontsize=6)
        labels += list(part["setting"])
        pos += len(part)
    ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right", fontsize=7)
    ax.legend(fontsize=8)
    spatial, batch = table["spatial"].iloc[0], table["batch_size"].iloc[0]
    label(ax, title=f"ShuffleNet v2 guideline {guideline} ({spatial}x{spatial} input, "
                    f"batch {batch}, {table['device'].iloc[0]})",
          xlabel="setting (bar labels: MACs per image; 1 MAC = 2 FLOPs)",
          ylabel="speed (batches per second, median)")
    return finish(fig, caption)
