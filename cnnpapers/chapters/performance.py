"""The page ``performance``: DenseNet training speed and memory, measured side by side (issue 11).

The numbers come from the benchmarks of :mod:`cnnpapers.bench` (``densenet-memory``,
``vs-torchvision``): the newest stored result for the budget and device kind if there is one,
else a fresh measurement (at ``smoke`` always fresh: smoke results are never stored). This module
only reads and draws them; the measuring lives in the benchmarks.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import torch

from .. import bench, results
from ..analysis.plots import finish, label, new_figure

MIB = 2**20
MEMORY_KEYS = ("cuda_peak_bytes", "rss_peak_bytes", "saved_bytes")  # preferred first
MEMORY_UNITS = {"cuda_peak_bytes": "CUDA peak above baseline (MiB)",
                "rss_peak_bytes": "process peak RSS increase (MiB)",
                "saved_bytes": "tensors saved for backward (MiB)"}
DENSENET_MODEL = "densenet_bc_100_k12"
TORCHVISION_MODEL = "densenet121"


def stored(benchmark: str, budget: str, device_type: str) -> results.Result | None:
    """The newest stored result of ``benchmark`` at ``budget`` measured on ``device_type``."""
    folder = results.results_root() / budget / "bench" / benchmark
    found = []
    for path in folder.rglob("*.json"):
        data = json.loads(path.read_text())
        if str(data["provenance"].get("device", "")).startswith(device_type):
            found.append(results.Result(**data))
    return max(found, key=lambda r: r.provenance.get("date", ""), default=None)


def measured(benchmark: str, budget: str, device: str) -> results.Result:
    """The stored result for this budget and device kind, else a fresh measurement."""
    hit = stored(benchmark, budget, torch.device(device).type)
    if hit is not None:
        return hit
    if benchmark == "densenet-memory":
        return bench.densenet_memory(DENSENET_MODEL, budget, device)
    return bench.vs_torchvision(TORCHVISION_MODEL, budget, device)


def gpu_status() -> str:
    """Whether the GPU targets have been measured: a stored CUDA result at budget gpu or paper."""
    done = [f"{name} ({budget}, {r.metrics['device_name']})"
            for name in ("train-speed", "densenet-memory", "vs-torchvision")
            for budget in ("gpu", "paper")
            if (r := stored(name, budget, "cuda")) is not None]
    if not done:
        return ("**The GPU targets (≥3× training speed; ≤40% memory at ≤15% extra time) are "
                "unmeasured:** no CUDA result is stored. Run `python -m cnnpapers bench all "
                "--device cuda --budget gpu` on a GPU machine.")
    return "GPU results are stored for: " + "; ".join(done) + "."


def memory_key(metrics: dict[str, Any], prefix: str = "train_") -> str:
    """The best memory measure a result holds: CUDA peak, else peak RSS, else saved bytes."""
    return next(k for k in MEMORY_KEYS if prefix + k in metrics)


def sizes(result: results.Result) -> str:
    c = result.config
    return (f"batch {c['batch_size']} at {c['image_size']}×{c['image_size']}, "
            f"{c['rounds']} round(s), {result.metrics['device_name']}")


def memory_table(result: results.Result) -> pd.DataFrame:
    """densenet-memory: ms/step and every memory measure per form, and efficient/naive."""
    m = result.metrics
    rows = {form: {"ms per step": m[form]["train_s_per_step"] * 1e3,
                   **{MEMORY_UNITS[k]: m[form][f"train_{k}"] / MIB
                      for k in MEMORY_KEYS if f"train_{k}" in m[form]}}
            for form in ("naive", "efficient")}
    frame = pd.DataFrame(rows)
    frame["efficient / naive"] = frame["efficient"] / frame["naive"]
    return frame.rename_axis("measure").reset_index()


def torchvision_table(result: results.Result) -> pd.DataFrame:
    """vs-torchvision: images/s (train, inference) and memory per variant."""
    rows = []
    for name, v in result.metrics["variants"].items():
        key = memory_key(v)
        rows.append({"model": name, "train images/s": v["train_images_per_s"],
                     "inference images/s": v["inference_images_per_s"],
                     MEMORY_UNITS[key]: v[f"train_{key}"] / MIB})
    return pd.DataFrame(rows)


def _bars(ax, names: list[str], values: list[float], ratio_over: dict[int, float]) -> None:
    """Bars with each ``ratio_over[i]`` printed on bar i."""
    bars = ax.bar(range(len(values)), values, color=[f"C{i % 2}" for i in range(len(values))])
    ax.set_xticks(range(len(values)), names, rotation=20, ha="right", fontsize=8)
    for i, ratio in ratio_over.items():
        ax.annotate(f"{ratio:.2f}×", (bars[i].get_x() + bars[i].get_width() / 2, values[i]),
                    ha="center", va="bottom", fontsize=9)


def plot_memory(result: results.Result):
    """Memory and step time of the naive and memory-efficient DenseNet, ratio on the bar."""
    m = result.metrics
    key = memory_key(m["naive"])
    fig, (mem_ax, time_ax) = new_figure(2, width=4.2, height=4.0)
    forms = ["naive", "memory-efficient"]
    r = m["efficient_over_naive"]
    _bars(mem_ax, forms, [m[f][f"train_{key}"] / MIB for f in ("naive", "efficient")],
          {1: r[f"train_{key}"]})
    label(mem_ax, title="Memory of one training step", xlabel="", ylabel=MEMORY_UNITS[key])
    _bars(time_ax, forms, [m[f]["train_s_per_step"] * 1e3 for f in ("naive", "efficient")],
          {1: r["train_s_per_step"]})
    label(time_ax, title="Time of one training step", xlabel="", ylabel="ms per step")
    return finish(fig, result.caption, suptitle=f"{result.config['model']}: memory-efficient "
                  f"vs naive ({sizes(result)})")


def plot_torchvision(result: results.Result):
    """Ours vs torchvision (same weights): images/s and memory, ours/torchvision on our bars."""
    m = result.metrics
    names = list(m["variants"])
    key = memory_key(m["variants"][names[0]])
    ratio = m["ours_over_torchvision"]
    fig, axes = new_figure(3, width=3.6, height=4.2)
    panels = [("train_images_per_s", "Training", "images/s"),
              ("inference_images_per_s", "Inference", "images/s"),
              (f"train_{key}", "Training memory", MEMORY_UNITS[key])]
    for ax, (metric, title, unit) in zip(axes, panels):
        scale = 1 / MIB if metric.endswith("_bytes") else 1
        values = [m["variants"][n][metric] * scale for n in names]
        # variants come as (torchvision, ours) per memory_efficient setting
        _bars(ax, [n.replace("densenet121, ", "") for n in names], values,
              {1: ratio["memory_efficient=False"][metric],
               3: ratio["memory_efficient=True"][metric]})
        label(ax, title=title, xlabel="", ylabel=unit)
    return finish(fig, result.caption, suptitle=f"{result.config['model']}: ours / torchvision "
                  f"({sizes(result)})")
