"""Throughput: images per second for inference and training, measured with some care.

Each measurement runs ``warmup`` untimed passes (allocator, cuDNN/oneDNN algorithm selection,
lazy initialisation), then ``repeats`` timed runs of ``iters`` passes each; on CUDA the clock is
read only after ``torch.cuda.synchronize`` (kernels are asynchronous, and an unsynchronised clock
measures only the launch). We report the median over repeats and the spread (min, max,
interquartile range): machines are noisy, and one number hides it.

Training throughput times a full step: forward, cross-entropy on random labels, backward and an
SGD step with learning rate 0 (the update's cost without changing the weights). Options:
``dtype`` runs under ``torch.autocast`` in that dtype, ``channels_last`` converts model and input
to NHWC. The model is moved to ``device``; its buffers (BN statistics), gradients and memory
format are restored afterwards.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .plots import finish, label, new_figure

MODES = ("inference", "train")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], object], *, device: str | torch.device = "cpu", warmup: int = 2,
              repeats: int = 5, iters: int = 1) -> list[float]:
    """Seconds per call of ``fn``: one value per repeat, each the mean over ``iters`` calls."""
    if repeats < 1 or iters < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1, iters >= 1, warmup >= 0; "
                         f"got {repeats}, {iters}, {warmup}")
    device = torch.device(device)
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iters):
            fn()
        _sync(device)
        times.append((time.perf_counter() - start) / iters)
    return times


@dataclass(frozen=True)
class Throughput:
    """One measurement: settings and the seconds per batch of every repeat."""

    mode: str
    batch_size: int
    input_size: tuple[int, ...]
    device: str
    dtype: str
    channels_last: bool
    seconds_per_batch: tuple[float, ...]

    @property
    def images_per_s(self) -> float:
        """Median over repeats."""
        return self.batch_size / statistics.median(self.seconds_per_batch)

    @property
    def ms_per_batch(self) -> float:
        return 1e3 * statistics.median(self.seconds_per_batch)

    def spread(self) -> dict[str, float]:
        """Images/s of the slowest and fastest repeat and the interquartile range."""
        rates = self.batch_size / np.asarray(self.seconds_per_batch)
        q1, q3 = np.percentile(rates, [25, 75])
        return {"images_per_s_min": float(rates.min()), "images_per_s_max": float(rates.max()),
                "images_per_s_iqr": float(q3 - q1)}

    def row(self) -> dict[str, object]:
        return {"mode": self.mode, "batch_size": self.batch_size, "device": self.device,
                "dtype": self.dtype, "channels_last": self.channels_last,
                "images_per_s": self.images_per_s, **self.spread(),
                "ms_per_batch": self.ms_per_batch, "repeats": len(self.seconds_per_batch)}


class _Restored:
    """Restores buffers, gradients and memory format of a model measured in place."""

    def __init__(self, model: nn.Module, channels_last: bool):
        self.model, self.channels_last = model, channels_last

    def __enter__(self) -> None:
        self.buffers = {b: b.detach().clone() for b in self.model.buffers()}
        self.grads = {p: p.grad for p in self.model.parameters()}
        self.training = self.model.training

    def __exit__(self, *exc: object) -> None:
        if self.channels_last:
            self.model.to(memory_format=torch.contiguous_format)
        with torch.no_grad():
            for b, saved in self.buffers.items():
                b.copy_(saved)
        for p, g in self.grads.items():
            p.grad = g
        self.model.train(self.training)


def measure_throughput(model: nn.Module, input_size: Sequence[int], *, batch_size: int = 8,
                       mode: str = "inference", device: str | torch.device = "cpu",
                       dtype: torch.dtype | None = None, channels_last: bool = False,
                       warmup: int = 2, repeats: int = 5, iters: int = 1) -> Throughput:
    """Images/s of ``model`` on random ``batch_size`` x ``input_size`` batches (see module doc)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
    device = torch.device(device)
    model.to(device)
    x = torch.randn(batch_size, *input_size, device=device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    autocast = torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)

    with _Restored(model, channels_last):
        if mode == "inference":
            model.eval()

            def step() -> None:
                with torch.no_grad(), autocast:
                    model(x)
        else:
            model.train()
            with torch.no_grad(), autocast:
                num_classes = model(x).shape[-1]
            y = torch.randint(num_classes, (batch_size,), device=device)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.0)

            def step() -> None:
                with autocast:
                    loss = F.cross_entropy(model(x).float(), y)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)

        times = time_call(step, device=device, warmup=warmup, repeats=repeats, iters=iters)
    return Throughput(mode, batch_size, tuple(input_size), str(device),
                      str(dtype).replace("torch.", "") if dtype else "float32", channels_last,
                      tuple(times))


def throughput_table(models: Mapping[str, nn.Module], input_size: Sequence[int], *,
                     modes: Sequence[str] = MODES, **options: object) -> pd.DataFrame:
    """:func:`measure_throughput` for every model and mode; ``options`` go to each call."""
    rows = []
    for name, model in models.items():
        for mode in modes:
            result = measure_throughput(model, input_size, mode=mode, **options)
            rows.append({"model": name, **result.row()})
    return pd.DataFrame(rows)


def plot_throughput(frame: pd.DataFrame, *, caption: str, title: str | None = None):
    """Bars of median images/s per model, one group per mode, whiskers from slowest to fastest."""
    fig, ax = new_figure(width=7.0, height=4.2)
    models = list(dict.fromkeys(frame["model"]))
    modes = list(dict.fromkeys(frame["mode"]))
    width = 0.8 / len(modes)
    for i, mode in enumerate(modes):
        part = frame[frame["mode"] == mode].set_index("model").reindex(models)
        pos = np.arange(len(models)) + (i - (len(modes) - 1) / 2) * width
        err = np.vstack([part["images_per_s"] - part["images_per_s_min"],
                         part["images_per_s_max"] - part["images_per_s"]])
        ax.bar(pos, part["images_per_s"], width, yerr=err, capsize=3, label=mode)
    ax.set_xticks(np.arange(len(models)), models, rotation=30, ha="right")
    ax.legend(title="mode")
    batch = ", ".join(str(b) for b in sorted(frame["batch_size"].unique()))
    label(ax, title=title or f"Throughput, batch {batch} (median; whiskers: slowest to "
                             "fastest repeat)", xlabel="model", ylabel="images per second")
    return finish(fig, caption)
