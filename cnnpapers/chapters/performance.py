"""The page ``performance``: DenseNet training speed and memory, measured side by side (issue 11).

The numbers come from the benchmarks of :mod:`cnnpapers.bench` (``densenet-memory``,
``vs-torchvision``): the newest stored result for the budget and device kind if there is one,
else a fresh measurement (at ``smoke`` always fresh: smoke results are never stored). This module
only reads and draws them; the measuring lives in the benchmarks.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch
from matplotlib.ticker import MaxNLocator

from .. import bench, results
from ..train import FastPath
from ..analysis.plots import finish, label, new_figure

MIB = 2**20
MEMORY_KEYS = ("cuda_peak_bytes", "rss_peak_bytes", "saved_bytes")  # preferred first
MEMORY_UNITS = {"cuda_peak_bytes": "CUDA peak above baseline (MiB)",
                "rss_peak_bytes": "process peak RSS increase (MiB)",
                "saved_bytes": "tensors saved for backward (MiB)"}
GPU_BUDGETS = ("gpu", "paper")
DENSENET_MODEL = "densenet_bc_100_k12"
TORCHVISION_MODEL = "densenet121"


def stored_all(benchmark: str, budget: str, device_type: str) -> list[results.Result]:
    """Every stored result of ``benchmark`` at ``budget`` measured on ``device_type``, oldest
    first."""
    found = [r for r in results.stored_in(results.results_root() / budget / "bench" / benchmark)
             if str(r.provenance.get("device", "")).startswith(device_type)]
    return sorted(found, key=lambda r: r.provenance.get("date", ""))


def stored(benchmark: str, budget: str, device_type: str) -> results.Result | None:
    """The newest stored result of ``benchmark`` at ``budget`` measured on ``device_type``."""
    found = stored_all(benchmark, budget, device_type)
    return found[-1] if found else None


def stored_gpu(benchmark: str) -> results.Result | None:
    """The newest CUDA result of ``benchmark`` at the gpu budget, else at paper."""
    return next((r for budget in GPU_BUDGETS if (r := stored(benchmark, budget, "cuda"))), None)


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
    done = [f"{name} ({r.config['budget']}, {r.metrics['device_name']}, "
            f"{str(r.provenance.get('date', ''))[:10]})"
            for name in ("train-speed", "densenet-memory", "vs-torchvision")
            if (r := stored_gpu(name)) is not None]
    if not done:
        return ("**The GPU targets (≥3× training speed; ≤40% memory at ≤15% extra time) are "
                "unmeasured:** no CUDA result is stored. Run `python -m cnnpapers bench all "
                "--device cuda --budget gpu` on a GPU machine.")
    return "GPU results are stored for: " + "; ".join(done) + "."


def fast_path_label(fast_path: dict[str, bool]) -> str:
    """The switches of a stored ``FastPath`` that were on, e.g. 'bf16, channels_last'."""
    return FastPath(**fast_path).label


SPEED_COLUMNS = ["device", "kind", "budget", "model", "batch", "our fast path", "plain images/s",
                 "ours images/s", "ours / plain", "provenance"]


def train_speed_table() -> pd.DataFrame:
    """Every stored ``train-speed`` result (any budget but smoke, CPU and CUDA): our loop's
    images/s against the plain eager fp32 loop's, measured in the same run."""
    rows = []
    for budget in ("cpu", *GPU_BUDGETS):
        for kind in ("cpu", "cuda"):
            for r in stored_all("train-speed", budget, kind):
                m = r.metrics
                rows.append({"device": m["device_name"], "kind": kind, "budget": budget,
                             "model": r.config["model"], "batch": r.config["batch_size"],
                             "our fast path": fast_path_label(r.config["fast_path"]),
                             "plain images/s": m["plain_images_per_s"],
                             "ours images/s": m["ours_images_per_s"],
                             "ours / plain": m["ratio"], "provenance": r.caption})
    return pd.DataFrame(rows, columns=SPEED_COLUMNS)


def _target(target: str, measured: float | str | None, met: bool | None, where: str) -> dict:
    verdict = "not measured" if met is None else ("met" if met else "not met")
    if isinstance(measured, float):
        measured = f"{measured:.2f}×"
    return {"target": target, "measured": measured or "—", "verdict": verdict, "where": where}


def targets_table() -> pd.DataFrame:
    """The book's speed and memory targets against the best stored measurement of each."""
    speeds = train_speed_table()
    rows = []
    for kind, goal in (("cuda", 3.0), ("cpu", 2.0)):
        frame = speeds[speeds["kind"] == kind]
        best = frame.loc[frame["ours / plain"].idxmax()] if len(frame) else None
        where = "" if best is None else f"{best['device']}, {best['our fast path']}"
        if best is not None and kind == "cpu" and "bf16" not in best["our fast path"]:
            where += " (this CPU has no native bf16, so the fast path leaves it off)"
        rows.append(_target(
            f"{'GPU' if kind == 'cuda' else 'CPU'}: our training loop ≥ {goal:.0f}× the plain "
            "eager fp32 loop", None if best is None else best["ours / plain"],
            None if best is None else bool(best["ours / plain"] >= goal), where))
    rows += [_parity_target(kind) for kind in ("cuda", "cpu")]
    memory = stored_gpu("densenet-memory")
    r = memory.metrics["efficient_over_naive"] if memory else {}
    where = sizes(memory) if memory else ""
    peak, time = r.get("train_cuda_peak_bytes"), r.get("train_s_per_step")
    rows.append(_target("GPU: memory-efficient DenseNet ≤ 0.40× the naive peak memory", peak,
                        None if peak is None else peak <= 0.40, where))
    rows.append(_target("GPU: memory-efficient DenseNet at ≤ 1.15× the naive step time", time,
                        None if time is None else time <= 1.15, where))
    return pd.DataFrame(rows)


def parity_results(kind: str | None = None) -> list[results.Result]:
    """Every stored ``fast-path-parity`` result (any budget but smoke), of one device kind
    (``"cpu"``, ``"cuda"``) or of all."""
    return [r for budget in ("cpu", *GPU_BUDGETS) for k in ("cpu", "cuda")
            if kind in (None, k) for r in stored_all("fast-path-parity", budget, k)]


def _points(fraction: float) -> str:
    return f"{100 * fraction:.1f} pts"


def _parity_target(kind: str) -> dict:
    """Target: on ``kind``, every stored parity run's fast-path gap is within seed noise."""
    found = parity_results(kind)
    device = "GPU" if kind == "cuda" else "CPU"
    measured = "; ".join(f"{fast_path_label(r.config['fast_path'])}: "
                         f"{_points(r.metrics['test_error_gap'])} vs "
                         f"{_points(r.metrics['test_error_margin'])}" for r in found)
    where = "; ".join(dict.fromkeys(r.metrics["device_name"] for r in found))
    return _target(f"{device}: the fast path leaves the learning curve unchanged within noise "
                   "(short run; test-error gap to the plain loop vs its noise margin)", measured,
                   all(r.metrics["within_noise"] for r in found) if found else None, where)


PARITY_RUNS = ("plain", "fast", "plain, next seed")
PARITY_COLUMNS = ["device", "budget", "model", "images × epochs", "our fast path",
                  *(f"final test error: {run}" for run in PARITY_RUNS),
                  "largest test-error gap: fast", "largest test-error gap: next seed",
                  "test-error margin", "largest loss gap: fast", "loss margin (next seed)",
                  "within noise", "fast / plain images/s", "provenance"]


def parity_table() -> pd.DataFrame:
    """Every stored parity run: the final test errors of the three runs, the largest per-epoch
    gaps to the plain run (test error in points, training loss in nats; often the first epoch's)
    with their noise margins (:func:`cnnpapers.bench.parity_gaps`), and the speed-up."""
    rows = []
    for r in parity_results():
        m, plain = r.metrics, r.metrics["plain"]
        rows.append({"device": m["device_name"], "budget": r.config["budget"],
                     "model": r.config["model"],
                     "images × epochs": f"{plain['train_images']:,} × {plain['epochs']}",
                     "our fast path": fast_path_label(r.config["fast_path"]),
                     **{f"final test error: {run}": f"{100 * m[run]['test_error']:.1f} %"
                        for run in PARITY_RUNS},
                     "largest test-error gap: fast": _points(m["test_error_gap"]),
                     "largest test-error gap: next seed": _points(m["seed_test_error_gap"]),
                     "test-error margin": _points(m["test_error_margin"]),
                     "largest loss gap: fast": f"{m['train_loss_gap']:.3f}",
                     "loss margin (next seed)": f"{m['train_loss_margin']:.3f}",
                     "within noise": "yes" if m["within_noise"] else "no",
                     "fast / plain images/s": f"{m['speedup']:.2f}×", "provenance": r.caption})
    return pd.DataFrame(rows, columns=PARITY_COLUMNS)


def one_column_per_run(frame: pd.DataFrame) -> pd.DataFrame:
    """A wide per-run table turned on its side: a row per measure, a column per run (named by
    device and fast path), which reads better than fifteen columns."""
    names = frame["device"] + ", " + frame["our fast path"]
    side = frame.drop(columns=["device", "our fast path", "provenance"]).set_axis(names).T
    return side.rename_axis("measure").reset_index()


def plot_parity(result: results.Result):
    """Test error and training loss per epoch of the plain run, the fast run (same seed) and the
    plain run with the next seed, whose distance from the plain run is the noise."""
    fig, (err_ax, loss_ax) = new_figure(2, width=4.6, height=3.8)
    styles = {"plain": ("C0", "-"), "fast": ("C1", "--"), "plain, next seed": ("0.5", ":")}
    for run, (color, style) in styles.items():
        curve = result.curves[run]
        err_ax.plot(curve["epoch"], [100 * e for e in curve["test_error"]], style, marker="o",
                    color=color, label=run)
        loss_ax.plot(curve["epoch"], curve["train_loss"], style, marker="o", color=color,
                     label=run)
    err_ax.legend(fontsize=8)
    for ax in (err_ax, loss_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    label(err_ax, title="Test error", xlabel="epoch", ylabel="test error (%)")
    label(loss_ax, title="Training loss", xlabel="epoch", ylabel="cross-entropy (nats)")
    return finish(fig, result.caption, suptitle=(
        f"{result.config['model']}: plain vs fast path "
        f"({fast_path_label(result.config['fast_path'])}), {result.metrics['device_name']}"))


def reference_runs() -> list[results.Result]:
    """Every stored training run of DenseNet-BC-100 (k = 12) on Fashion-MNIST, whichever
    experiment stored it (``train`` from the CLI, a chapter's), by budget: the engine's reference
    result at each budget. Benchmarks are left out."""
    return [r for budget in ("cpu", *GPU_BUDGETS)
            for r in results.stored_in(results.results_root() / budget)
            if r.config.get("model") == DENSENET_MODEL and r.config.get("dataset") == "fashion-mnist"
            and not r.experiment.startswith("bench/")]


REFERENCE_COLUMNS = ["budget", "device", "experiment", "train × test images", "epochs",
                     "our fast path", "test accuracy", "wall time (min)", "images/s",
                     "provenance"]


def reference_table() -> pd.DataFrame:
    """The reference runs: sizes, final test accuracy, wall time and training speed."""
    rows = []
    for r in reference_runs():
        m = r.metrics
        rows.append({"budget": r.config["budget"], "device": r.provenance["device_name"],
                     "experiment": r.experiment,
                     "train × test images": f"{m['train_images']:,} × {m['test_images']:,}",
                     "epochs": m["epochs"], "our fast path": fast_path_label(m["fast_path"]),
                     "test accuracy": f"{100 * m['test_accuracy']:.1f} %",
                     "wall time (min)": m["wall_time_s"] / 60, "images/s": m["images_per_s"],
                     "provenance": r.caption})
    return pd.DataFrame(rows, columns=REFERENCE_COLUMNS)


def reference_status(runs: list[results.Result]) -> str:
    """A line saying how to add the gpu-budget reference run when none is stored, else ''."""
    if any(r.config["budget"] in GPU_BUDGETS for r in runs):
        return ""
    return ("**No gpu-budget run is stored yet.** On a GPU machine, `scripts/gpu-lease.sh "
            "reference-run` trains it (all 60,000 images, 8 epochs, with CUDA graphs); commit "
            "`results/gpu/` afterwards.")


def plot_reference(runs: list[results.Result]):
    """Training and test error per epoch of each reference run."""
    fig, ax = new_figure(width=7.0, height=4.2)
    for i, r in enumerate(runs):
        name = f"{r.config['budget']}, {r.provenance['device_name']}"
        ax.plot(r.curves["epoch"], [100 * e for e in r.curves["train_error"]], "-", marker=".",
                color=f"C{i}", label=f"{name} (training)")
        ax.plot(r.curves["epoch"], [100 * e for e in r.curves["test_error"]], "--", marker="o",
                color=f"C{i}", label=f"{name} (test)")
    ax.legend(fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    label(ax, title=f"{DENSENET_MODEL} on Fashion-MNIST: learning curves", xlabel="epoch",
          ylabel="error (%)")
    return finish(fig, "; ".join(dict.fromkeys(r.caption for r in runs)))


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


def variant_names(result: results.Result) -> list[str]:
    """vs-torchvision's variants as (torchvision, ours) naive, then (torchvision, ours)
    memory-efficient, whatever order the stored JSON has them in (it sorts its keys)."""
    return sorted(result.metrics["variants"],
                  key=lambda n: ("memory-efficient" in n, not n.startswith("torchvision")))


def torchvision_table(result: results.Result) -> pd.DataFrame:
    """vs-torchvision: images/s (train, inference) and memory per variant."""
    rows = []
    for name in variant_names(result):
        v = result.metrics["variants"][name]
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


def plot_train_speed(frame: pd.DataFrame):
    """ours/plain images/s of every stored ``train-speed`` result, the targets as dashed lines."""
    fig, ax = new_figure(width=9.0, height=0.6 * len(frame) + 2.0)
    names = [f"{row['device']}\n{row['our fast path']}" for _, row in frame.iterrows()]
    colors = ["C0" if kind == "cuda" else "C1" for kind in frame["kind"]]
    ax.barh(range(len(frame)), frame["ours / plain"], color=colors)
    ax.set_yticks(range(len(frame)), names, fontsize=8)
    for i, ratio in enumerate(frame["ours / plain"]):
        ax.annotate(f"{ratio:.2f}×", (ratio, i), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=9)
    for goal, color, text in ((1.0, "0.4", "plain loop (1×)"), (2.0, "C1", "CPU target (2×)"),
                              (3.0, "C0", "GPU target (3×)")):
        ax.axvline(goal, color=color, linestyle="--", linewidth=1, label=text)
    ax.set_xlim(0, max(3.0, frame["ours / plain"].max()) * 1.15)
    ax.legend(loc="lower right", fontsize=8)
    label(ax, title="DenseNet-BC-100 training: our loop / plain eager fp32 loop",
          xlabel="images/s ratio (same model, batch and data, measured in one run)", ylabel="")
    return finish(fig, "; ".join(dict.fromkeys(frame["provenance"])))


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
    names = variant_names(result)
    key = memory_key(m["variants"][names[0]])
    ratio = m["ours_over_torchvision"]
    fig, axes = new_figure(3, width=3.6, height=4.2)
    panels = [("train_images_per_s", "Training", "images/s"),
              ("inference_images_per_s", "Inference", "images/s"),
              (f"train_{key}", "Training memory", MEMORY_UNITS[key])]
    for ax, (metric, title, unit) in zip(axes, panels):
        scale = 1 / MIB if metric.endswith("_bytes") else 1
        values = [m["variants"][n][metric] * scale for n in names]
        _bars(ax, [n.replace("densenet121, ", "") for n in names], values,
              {1: ratio["memory_efficient=False"][metric],
               3: ratio["memory_efficient=True"][metric]})
        label(ax, title=title, xlabel="", ylabel=unit)
    return finish(fig, result.caption, suptitle=f"{result.config['model']}: ours / torchvision "
                  f"({sizes(result)})")
