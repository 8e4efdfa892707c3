"""Model cost: parameters and multiply-accumulates, per layer, per stage and in total.

Units. Papers mix them: most CNN papers (ResNet, ResNeXt, DenseNet, MobileNet, ShuffleNet) print
"FLOPs" that are really multiply-accumulates, and torchvision's ``meta["_ops"]`` ("GFLOPS") are
MACs too. Here **1 MAC = 2 FLOPs**, and every column says which: ``macs`` counts
multiply-accumulates, ``flops`` is twice that.

What is counted. :class:`torch.utils.flop_counter.FlopCounterMode` counts convolutions and matrix
products (linear layers, attention); batch norm, activations, pooling and additions are not
counted — the convention of the papers and of torchvision, whose published figures the tests
match for ResNet-50, ResNeXt-50 (32x4d) and DenseNet-121. Biases are not counted either.

The counter runs on meta tensors, so :func:`model_cost_table` builds even the largest model on the
``meta`` device and costs it without allocating memory.

Closed-form helpers restate the notes' formulas so the counter can be checked against them:
:func:`conv2d_macs` (note 000, "传统的卷积运算" and grouped convolution), and
:func:`standard_conv_macs` / :func:`depthwise_separable_macs` (note 001, MobileNet).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .hooks import forward_with_hooks
from .plots import finish, label, new_figure

FLOPS_PER_MAC = 2
ROOT = "(root)"


# ---------------------------------------------------------------------------------------------
# closed forms (notes 000 and 001)


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    """Output length of a convolution along one axis: ``floor((n + 2p - d(k-1) - 1) / s) + 1``."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv2d_macs(in_size: tuple[int, int], kernel: tuple[int, int], c_in: int, c_out: int, *,
                groups: int = 1, stride: int = 1, padding: int = 0) -> int:
    """Multiply-accumulates of one 2-D convolution on one image.

    With stride 1 and no padding this is note 000's ``(H-h+1)(W-w+1)·h·w·c1·c2``; a grouped
    convolution connects each output map to only ``c1/g`` input maps, dividing the cost by ``g``
    (ResNeXt, note 000 "Group卷积的运算量"). Other strides/paddings change only the output size.
    """
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide c_in={c_in} and c_out={c_out}")
    (H, W), (h, w) = in_size, kernel
    out_h = conv_output_size(H, h, stride, padding)
    out_w = conv_output_size(W, w, stride, padding)
    return out_h * out_w * h * w * (c_in // groups) * c_out


def standard_conv_macs(d_k: int, m: int, n: int, d_f: int) -> int:
    """``D_k·D_k·M·N·D_F·D_F``: a D_k x D_k convolution from M to N maps on a D_F x D_F output
    (note 001; MobileNet, Howard et al. 2017, Eq. 2)."""
    return d_k * d_k * m * n * d_f * d_f


def depthwise_separable_macs(d_k: int, m: int, n: int, d_f: int) -> int:
    """``D_k·D_k·M·D_F·D_F + M·N·D_F·D_F``: depthwise then 1x1 pointwise convolution (note 001;
    MobileNet Eq. 5). Its ratio to :func:`standard_conv_macs` is ``1/N + 1/D_k²`` (Eq. 6)."""
    return d_k * d_k * m * d_f * d_f + m * n * d_f * d_f


# ---------------------------------------------------------------------------------------------
# counting a model


def parameter_counts(model: nn.Module) -> tuple[int, int]:
    """(total, trainable) parameters; a parameter shared by several layers counts once."""
    params = list(model.parameters())  # ``parameters()`` already deduplicates shared tensors
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def _input_shape(input_size: Sequence[int], batch_size: int) -> tuple[int, ...]:
    if len(input_size) != 3:
        raise ValueError(f"input_size is (C, H, W) of one image, got {tuple(input_size)}")
    return (batch_size, *input_size)


def _model_device(model: nn.Module) -> torch.device:
    for tensor in list(model.parameters()) + list(model.buffers()):
        return tensor.device
    return torch.device("cpu")


def layer_costs(model: nn.Module, input_size: Sequence[int], *, batch_size: int = 1,
                stage_depth: int = 1) -> pd.DataFrame:
    """One row per layer: its own parameters and its own multiply-accumulates per image.

    Rows are the modules that own parameters or do counted work themselves (a module's ``macs``
    excludes its children's, so the column sums to the model's total). Columns: ``layer``
    (qualified name), ``type``, ``stage`` (the first ``stage_depth`` parts of the name, e.g.
    ``layer3`` of a ResNet), ``params``, ``trainable``, ``macs``, ``flops`` (= 2 x macs) and
    ``output_shape`` (per image). The model runs once in eval mode on a tensor on its device —
    on the ``meta`` device this costs nothing.
    """
    names = {module: name for name, module in model.named_modules()}
    shapes: dict[str, tuple[int, ...]] = {}

    def remember_shape(module: nn.Module, args: tuple, output: object) -> None:
        if isinstance(output, torch.Tensor):
            shapes[names[module]] = tuple(output.shape[1:])

    x = torch.zeros(_input_shape(input_size, batch_size), device=_model_device(model))
    counter = FlopCounterMode(display=False)
    with counter:
        forward_with_hooks(model, x, [m.register_forward_hook(remember_shape) for m in names])

    totals = _module_flops(model, counter)
    seen: set[int] = set()
    rows = []
    for name, module in model.named_modules():
        own = [p for p in module.parameters(recurse=False) if id(p) not in seen]
        seen.update(id(p) for p in own)
        child_flops = sum(totals.get(names[c], 0) for c in module.children())
        self_flops = totals.get(name, 0) - child_flops
        if not own and self_flops == 0:
            continue
        rows.append({
            "layer": name or ROOT,
            "type": type(module).__name__,
            "stage": ".".join(name.split(".")[:stage_depth]) or ROOT,
            "params": sum(p.numel() for p in own),
            "trainable": sum(p.numel() for p in own if p.requires_grad),
            "macs": self_flops // (FLOPS_PER_MAC * batch_size),
            "flops": self_flops // batch_size,
            "output_shape": shapes.get(name),
        })
    return pd.DataFrame(rows, columns=["layer", "type", "stage", "params", "trainable", "macs",
                                       "flops", "output_shape"])


def _module_flops(model: nn.Module, counter: FlopCounterMode) -> dict[str, int]:
    """FLOPs per module *including* its children, keyed by ``named_modules`` name.

    FlopCounterMode keys modules as ``<RootClass>.<qualified name>``.
    """
    root = type(model).__name__
    out = {}
    for key, per_op in counter.get_flop_counts().items():
        if key == root:
            out[""] = sum(per_op.values())
        elif key.startswith(root + "."):
            out[key[len(root) + 1:]] = sum(per_op.values())
    return out


@dataclass(frozen=True)
class ModelCost:
    """Cost of one model at one input size; ``macs``/``flops`` are per image."""

    name: str
    input_size: tuple[int, int, int]
    params: int
    trainable_params: int
    macs: int
    layers: pd.DataFrame

    @property
    def flops(self) -> int:
        return FLOPS_PER_MAC * self.macs

    @property
    def gmacs(self) -> float:
        return self.macs / 1e9

    def stages(self) -> pd.DataFrame:
        """Parameters and MACs per stage, in the order the stages first appear."""
        grouped = self.layers.groupby("stage", sort=False)[["params", "trainable", "macs"]].sum()
        grouped["flops"] = FLOPS_PER_MAC * grouped["macs"]
        grouped["macs_share"] = grouped["macs"] / max(self.macs, 1)
        grouped["params_share"] = grouped["params"] / max(self.params, 1)
        return grouped.reset_index()


def model_cost(model: nn.Module, input_size: Sequence[int], *, name: str = "",
               stage_depth: int = 1) -> ModelCost:
    """Parameters (total, trainable, per layer) and MACs of ``model`` on one image of
    ``input_size``."""
    layers = layer_costs(model, input_size, stage_depth=stage_depth)
    total, trainable = parameter_counts(model)
    return ModelCost(name or type(model).__name__, tuple(input_size), total, trainable,
                     int(layers["macs"].sum()), layers)


def build_model(name: str, *, device: str | torch.device = "meta",
                ) -> tuple[nn.Module, tuple[int, int, int], str]:
    """Build ``name`` from the cnnpapers registry, else from torchvision, on ``device``.

    Returns the model, its native input size (C, H, W) — the card's, or the crop size of
    torchvision's weights (224, 299 for Inception v3, ...) — and where it came from. A model that
    cannot be built on the meta device (an initialiser that reads numbers) is built on the CPU.
    """
    import torchvision

    from ..registry import create_model, list_models, model_info

    if name in list_models():
        factory, source = functools.partial(create_model, name), "cnnpapers"
        size = model_info(name).input_size
    elif name in torchvision.models.list_models(module=torchvision.models):
        factory, source = functools.partial(torchvision.models.get_model, name), "torchvision"
        crop = torchvision.models.get_model_weights(name).DEFAULT.transforms.keywords["crop_size"]
        size = (3, crop, crop)
    else:
        raise ValueError(f"unknown model {name!r}: neither in cnnpapers.list_models() nor a "
                         "torchvision classification model")
    try:
        with torch.device(device):
            return factory(), size, source
    except (NotImplementedError, RuntimeError):
        return factory(), size, source


def _reported_columns(name: str, source: str) -> dict[str, float]:
    from ..registry import model_info

    out = {"reported_params_m": math.nan, "reported_gmacs": math.nan}
    if source != "cnnpapers":
        return out
    rep = model_info(name).reported
    if rep is not None and rep.params is not None:
        out["reported_params_m"] = float(rep.params)
    if rep is not None and rep.gflops is not None:
        per_mac = FLOPS_PER_MAC if rep.flops_unit.upper() == "FLOPS" else 1
        out["reported_gmacs"] = float(rep.gflops) / per_mac
    return out


def model_cost_table(names: Iterable[str],
                     input_size: Sequence[int] | None = None) -> pd.DataFrame:
    """Parameters and MACs of many models, each built on the meta device (no memory used).

    ``input_size`` (C, H, W) defaults to each model's native size (see :func:`build_model`).
    Columns: ``name``, ``source``, ``input_size``, ``params``, ``trainable_params``, ``macs`` and
    ``flops`` per image, ``params_m`` (millions), ``gmacs`` (10⁹ MACs), and the
    card's quoted ``reported_params_m`` / ``reported_gmacs`` (converted to MACs) where it has them.
    """
    rows = []
    for name in names:
        model, native, source = build_model(name)
        size = tuple(input_size) if input_size is not None else native
        cost = model_cost(model, size, name=name)
        rows.append({
            "name": name, "source": source, "input_size": size,
            "params": cost.params, "trainable_params": cost.trainable_params,
            "macs": cost.macs, "flops": cost.flops,
            "params_m": cost.params / 1e6, "gmacs": cost.gmacs,
            **_reported_columns(name, source),
        })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# figures


def plot_stage_costs(cost: ModelCost, *, caption: str):
    """Two bar charts: parameters and MACs per stage of one model."""
    stages = cost.stages()
    fig, (ax_p, ax_m) = new_figure(2, width=5.2, height=3.8)
    ax_p.bar(stages["stage"], stages["params"] / 1e6, color="tab:blue")
    label(ax_p, title="Parameters per stage", xlabel="stage", ylabel="parameters (millions)")
    ax_m.bar(stages["stage"], stages["macs"] / 1e6, color="tab:orange")
    size = "x".join(map(str, cost.input_size))
    label(ax_m, title=f"MACs per stage ({size} input; 1 MAC = 2 FLOPs)", xlabel="stage",
          ylabel="MACs per image (millions)")
    for ax in (ax_p, ax_m):
        ax.tick_params(axis="x", labelrotation=45)
    return finish(fig, caption, suptitle=f"{cost.name}: {cost.params / 1e6:.2f} M parameters, "
                                          f"{cost.gmacs:.3f} GMACs")


def plot_cost_table(table: pd.DataFrame, *, caption: str):
    """GMACs against parameters for a :func:`model_cost_table`, one labelled point per model."""
    fig, ax = new_figure(width=6.4, height=4.4)
    ax.scatter(table["params_m"], table["gmacs"], color="tab:blue")
    for _, row in table.iterrows():
        ax.annotate(row["name"], (row["params_m"], row["gmacs"]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    label(ax, title="Cost of the models", xlabel="parameters (millions)",
          ylabel="GMACs per image (1 MAC = 2 FLOPs)")
    return finish(fig, caption)
