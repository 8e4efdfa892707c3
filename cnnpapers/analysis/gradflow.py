"""Gradient-flow probes: per-layer gradient norms and activation statistics, recorded with hooks.

The notes claim two things this instrument can check. Plain deep nets degrade because the
gradient that reaches early layers shrinks (ResNet's motivation); DenseNet's direct connections
give every layer "implicit deep supervision" — a short path from the loss (note 000, "深度监督";
note 004, the backward equations). Both show up as the gradient norm plotted against depth.

For every *weighted layer* (convolutions and linear layers by default — the layers papers count
in "depth") one forward/backward records:

``weight_grad_norm``  ‖∂L/∂W‖₂ of the layer's weight (bias excluded)
``output_grad_norm``  ‖∂L/∂a‖₂ of the layer's output ``a`` over the whole batch
``act_mean``, ``act_std``  mean and (population) standard deviation of ``a``
``weight_norm``       ‖W‖₂, so that ``weight_grad_norm / weight_norm`` (relative update) is at hand

``depth`` is the order in which the layers ran in the forward pass (1 = first), which is the
true depth even when ``named_modules`` order differs. A layer called more than once between two
records (twice in one forward, or over accumulated batches) keeps the statistics of its first
call; forward passes without gradients (validation under ``torch.no_grad``) are ignored.

Use :func:`gradient_norms` for one batch (e.g. at initialisation), or attach a
:class:`GradientRecorder` during training and call :meth:`GradientRecorder.record` after each
``backward()``; :func:`probe` is the side-effect-free form a training loop can call on a batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .plots import finish, label, new_figure

WEIGHTED_LAYERS: tuple[type[nn.Module], ...] = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
COLUMNS = ["step", "layer", "type", "depth", "params", "weight_norm", "weight_grad_norm",
           "output_grad_norm", "act_mean", "act_std"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class _Forward:
    """What the hooks saw in the latest forward pass of one layer, as 0-d tensors (read with
    ``.item()`` only in :meth:`GradientRecorder.record`: one GPU sync per record, not per layer)."""

    depth: int
    act_mean: torch.Tensor
    act_std: torch.Tensor
    output_grad_sq: torch.Tensor | None = None  # filled in by the tensor hook during backward


@dataclass(eq=False)
class GradientRecorder:
    """Hooks on the weighted layers of ``model``; :meth:`record` after each backward.

        recorder = GradientRecorder(model, every=10).attach()
        for step, (x, y) in enumerate(loader):
            loss = loss_fn(model(x), y); loss.backward()
            recorder.record(step)          # before optimizer.zero_grad()
            optimizer.step(); optimizer.zero_grad()
        recorder.detach(); recorder.frame()

    or pass it as a callback to ``cnnpapers.train`` (``on_train_begin`` attaches, ``on_batch_end``
    records at the global step, ``on_train_end`` detaches).

    ``every`` records only steps divisible by it. The hooks reduce each layer output to a few
    numbers (one pass over the activations); after ``record(step)`` they stay idle until step
    ``step + 1`` is one to record. :meth:`arm` sets that explicitly for loops that skip steps.
    """

    model: nn.Module = field(repr=False)
    layer_types: tuple[type[nn.Module], ...] = WEIGHTED_LAYERS
    every: int = 1
    _layers: dict[nn.Module, str] = field(default_factory=dict, init=False, repr=False)
    _handles: list = field(default_factory=list, init=False, repr=False)
    _seen: dict[nn.Module, _Forward] = field(default_factory=dict, init=False, repr=False)
    _rows: list[dict] = field(default_factory=list, init=False, repr=False)
    _armed: bool = field(default=True, init=False, repr=False)

    def attach(self) -> "GradientRecorder":
        if self._handles:
            return self
        self._layers = {m: name for name, m in self.model.named_modules()
                        if isinstance(m, self.layer_types)
                        and getattr(m, "weight", None) is not None}
        if not self._layers:
            raise ValueError(f"{type(self.model).__name__} has no layers of type "
                             f"{[t.__name__ for t in self.layer_types]}")
        self._handles = [m.register_forward_hook(self._on_forward) for m in self._layers]
        return self

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> "GradientRecorder":
        return self.attach()

    def __exit__(self, *exc: object) -> None:
        self.detach()

    def will_record(self, step: int | None) -> bool:
        return step is None or step % self.every == 0

    def arm(self, step: int | None) -> None:
        """Tell the hooks whether the coming forward belongs to a step that will be recorded."""
        self._armed = self.will_record(step)

    def _on_forward(self, module: nn.Module, args: tuple, output: object) -> None:
        if (not self._armed or not torch.is_grad_enabled() or module in self._seen
                or not isinstance(output, torch.Tensor)):
            return  # no-grad passes (validation) are not training steps
        out = output.detach().float()
        entry = _Forward(depth=len(self._seen) + 1, act_mean=out.mean(),
                         act_std=out.std(unbiased=False))
        self._seen[module] = entry
        if output.requires_grad:
            def keep_grad(grad: torch.Tensor) -> None:
                entry.output_grad_sq = grad.detach().float().pow(2).sum()
            output.register_hook(keep_grad)

    def record(self, step: int | None = None) -> pd.DataFrame:
        """Rows for the latest forward/backward; call after ``backward()``. Also kept for
        :meth:`frame`."""
        if step is not None:
            self._armed = self.will_record(step + 1)  # steps are consecutive in a training loop
        if not self.will_record(step):
            self._seen.clear()
            return pd.DataFrame(columns=COLUMNS)
        rows = []
        for module, fwd in sorted(self._seen.items(), key=lambda kv: kv[1].depth):
            weight = module.weight
            grad = math.nan if weight.grad is None else weight.grad.detach().float().norm().item()
            rows.append({
                "step": step, "layer": self._layers[module], "type": type(module).__name__,
                "depth": fwd.depth, "params": weight.numel(),
                "weight_norm": weight.detach().float().norm().item(),
                "weight_grad_norm": grad,
                "output_grad_norm": (math.nan if fwd.output_grad_sq is None
                                     else math.sqrt(fwd.output_grad_sq.item())),
                "act_mean": fwd.act_mean.item(), "act_std": fwd.act_std.item(),
            })
        self._seen.clear()
        self._rows.extend(rows)
        return pd.DataFrame(rows, columns=COLUMNS)

    # The training engine's callback protocol (cnnpapers.train.Callback): it passes a state with
    # ``global_step``, after backward and the optimiser step, while ``.grad`` is still populated.
    def on_train_begin(self, state: object = None) -> None:
        self.attach()

    def on_batch_end(self, state: object) -> None:
        """:meth:`record` at ``state.global_step`` (or at ``state`` itself, a step number)."""
        self.record(getattr(state, "global_step", state))

    def on_epoch_end(self, state: object = None) -> None:
        """Nothing to do per epoch; present because the engine calls every hook."""

    def on_train_end(self, state: object = None) -> None:
        self.detach()

    def frame(self) -> pd.DataFrame:
        """Every recorded row so far, one per (step, layer)."""
        return pd.DataFrame(self._rows, columns=COLUMNS)


class _Preserved:
    """Context that restores a model's gradients and buffers (BN running statistics), so a probe
    batch leaves no trace on training."""

    def __init__(self, model: nn.Module):
        self.model = model

    def __enter__(self) -> None:
        self.grads = {p: p.grad for p in self.model.parameters()}
        self.buffers = {b: b.detach().clone() for b in self.model.buffers()}
        for p in self.grads:
            p.grad = None

    def __exit__(self, *exc: object) -> None:
        for p, g in self.grads.items():
            p.grad = g
        with torch.no_grad():
            for b, saved in self.buffers.items():
                b.copy_(saved)


def gradient_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                   loss_fn: LossFn = F.cross_entropy, *,
                   layer_types: tuple[type[nn.Module], ...] = WEIGHTED_LAYERS) -> pd.DataFrame:
    """Per-layer gradient norms and activation statistics for one batch (see module docstring).

    The model's mode (train/eval) is left as the caller set it; its gradients and buffers are
    restored afterwards, so this can be called at any point of training without side effects.
    """
    with _Preserved(model), GradientRecorder(model, layer_types) as recorder:
        loss = loss_fn(model(x), y)
        loss.backward()
        frame = recorder.record()
    return frame.drop(columns="step")


def probe(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor] | list,
          loss_fn: LossFn = F.cross_entropy) -> pd.DataFrame:
    """:func:`gradient_norms` on a ``(inputs, targets)`` batch, on the model's device."""
    x, y = batch[0], batch[1]
    device = next(model.parameters()).device
    return gradient_norms(model, x.to(device), y.to(device), loss_fn)


def compare_gradient_flow(models: Mapping[str, nn.Module], x: torch.Tensor, y: torch.Tensor,
                          loss_fn: LossFn = F.cross_entropy) -> pd.DataFrame:
    """:func:`gradient_norms` of several models on the same batch, with ``model`` and
    ``rel_depth`` (depth / number of layers, so nets of different depth share an axis) columns."""
    frames = []
    for name, model in models.items():
        frame = gradient_norms(model, x, y, loss_fn)
        frame.insert(0, "model", name)
        frame["rel_depth"] = frame["depth"] / frame["depth"].max()
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def plot_gradient_flow(frame: pd.DataFrame, *, caption: str, column: str = "weight_grad_norm",
                       relative_depth: bool = False, title: str | None = None):
    """Gradient norm against layer depth on a log scale, one line per model (``model`` column)."""
    fig, ax = new_figure(width=7.0, height=4.2)
    groups: Iterable = frame.groupby("model", sort=False) if "model" in frame else [("", frame)]
    xcol = "rel_depth" if relative_depth else "depth"
    for name, part in groups:
        part = part.sort_values("depth")
        ax.plot(part[xcol], part[column], marker=".", label=name or None)
    ax.set_yscale("log")
    if "model" in frame:
        ax.legend(title="model")
    what = {"weight_grad_norm": "‖∂L/∂W‖₂ of the layer weight",
            "output_grad_norm": "‖∂L/∂a‖₂ of the layer output"}.get(column, column)
    label(ax, title=title or "Gradient flow at one batch",
          xlabel="relative depth (layer / number of layers)" if relative_depth
          else "layer depth (weighted layers, input side = 1)",
          ylabel=f"{what} (log scale)")
    return finish(fig, caption)
