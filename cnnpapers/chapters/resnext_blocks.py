"""The chapter ``resnext_blocks``: group convolution and the ResNeXt block (note 000, second half).

What the page shows, each built here from the models and measured, never typed:

* the note's cost of a convolution, ``(H-h1+1)(W-w1+1)·h1·w1·c1·c2`` multiply-accumulates (MACs),
  and its ``÷ M`` for M groups, against the FLOP counter (:func:`group_conv_cost_table`);
* the block-diagonal connectivity of a grouped convolution (:func:`connectivity`) and what it
  cannot represent: a dense convolution reproduces any grouped one exactly, while no grouped
  convolution fits a dense one (:func:`function_space_table`);
* Fig. 1: a ResNet bottleneck beside a ResNeXt block of cardinality 32 (:func:`fig1_blocks`);
* Fig. 3: the three equivalent forms, their outputs and their speed (:func:`fig3_forms`,
  :func:`fig3_equivalence`, :func:`fig3_speed`);
* Table 1: ResNet-50 beside ResNeXt-50 (32x4d) stage by stage (:func:`table1`,
  :func:`table1_totals`), checked against the table as the note prints it (:data:`TABLE1_PRINTED`).

Units: "FLOPs" in the ResNeXt paper are multiply-accumulates; every column here says MACs.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .. import results
from ..analysis.cost import layer_costs, model_cost
from ..analysis.plots import finish, label, new_figure
from ..analysis.throughput import throughput_table
from ..budgets import get_budget
from ..models.resnet import Bottleneck, ResNet
from ..models.resnext import (AggregatedTransformations, grouped_block, to_aggregated,
                              to_early_concatenation)
from ..registry import create_model, model_info

# ---------------------------------------------------------------------------------------------
# display


def markdown_table(frame: pd.DataFrame, *, percent: Sequence[str] = (),
                   bounds: Mapping[str, float] | None = None,
                   decimals: Mapping[str, int] | None = None, default_decimals: int = 3):
    """``frame`` as a Markdown table for the page: integers with thousands separators, floats
    with ``decimals[column]`` (else ``default_decimals``) decimals, ``percent`` columns as signed
    percentages, and in ``bounds`` columns every value below the bound as "< bound" (rounding
    noise differs between CPUs; the page states the bound the tests check). Text is escaped."""
    from IPython.display import Markdown  # notebooks only

    bounds, decimals = bounds or {}, decimals or {}
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        values = frame[column]
        if column in percent:
            text = values.map("{:+.1%}".format)
        elif column in bounds:
            text = values.map(functools.partial(_bounded, bound=bounds[column]))
        elif pd.api.types.is_bool_dtype(values):
            text = values.map({True: "yes", False: "no"})
        elif pd.api.types.is_integer_dtype(values):
            text = values.map("{:,}".format)
        elif pd.api.types.is_float_dtype(values):
            spec = f"{{:,.{decimals.get(column, default_decimals)}f}}"
            text = values.map(lambda v, spec=spec: "—" if pd.isna(v) else spec.format(v))
        else:
            text = values.map(lambda v: str(v).replace("|", "\\|"))
        out[str(column).replace("|", "\\|")] = text
    return Markdown(out.to_markdown(index=False, disable_numparse=True))


def _bounded(value: float, bound: float) -> str:
    if pd.isna(value):
        return "—"
    return f"< {bound:g}" if abs(value) < bound else f"{value:.3g}"


# ---------------------------------------------------------------------------------------------
# group convolution: cost


def _counted(c1: int, c2: int, kernel: tuple[int, int], groups: int,
             in_size: tuple[int, int]) -> tuple[int, int]:
    """(MACs from the FLOP counter, weights) of one bias-free ``nn.Conv2d`` on the meta device."""
    with torch.device("meta"):
        conv = nn.Conv2d(c1, c2, kernel, groups=groups, bias=False)
    return int(layer_costs(conv, (c1, *in_size))["macs"].sum()), conv.weight.numel()


def group_conv_cost_table(in_size: tuple[int, int] = (56, 56), kernel: tuple[int, int] = (3, 3),
                          c1: int = 128, c2: int = 128,
                          groups: Sequence[int] = (1, 2, 4, 8, 32, 128)) -> pd.DataFrame:
    """The note's operation and parameter counts of an unpadded, stride-1 convolution with M
    groups beside what the FLOP counter and ``numel`` report for the same ``nn.Conv2d``.

    Note 000, "传统的卷积运算": ``(H-h1+1)(W-w1+1)·h1·w1·c1·c2`` operations (MACs); "分组卷积":
    each of the M groups connects N/M input channels to its outputs, so operations and weights
    (``h1·w1·c1·c2``, no bias) are divided by M. The last column is the counted share of the
    counted dense cost, so a counter that ignored groups would show there.
    """
    (H, W), (h1, w1) = in_size, kernel
    dense_macs = (H - h1 + 1) * (W - w1 + 1) * h1 * w1 * c1 * c2
    dense_params = h1 * w1 * c1 * c2
    dense_counted, _ = _counted(c1, c2, kernel, 1, in_size)
    rows = []
    for m in groups:
        macs, weights = _counted(c1, c2, kernel, m, in_size)
        rows.append({
            "groups M": m, "inputs per output map (N/M)": c1 // m,
            "MACs: note formula ÷ M": dense_macs // m, "MACs: FLOP counter": macs,
            "weights: h1·w1·c1·c2 ÷ M": dense_params // m, "weights: counted": weights,
            "counted share of the dense cost": str(Fraction(macs, dense_counted)),
        })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# group convolution: connectivity and function space


@torch.no_grad()
def dense_weight(conv: nn.Conv2d) -> torch.Tensor:
    """The ``(c_out, c_in, kh, kw)`` weight of the ungrouped convolution computing what ``conv``
    computes: group g's filters on the diagonal block (its outputs × its N/M inputs), zeros
    elsewhere ("Kernel对角化", the note's block-diagonal kernel)."""
    g = conv.groups
    out_per, in_per = conv.out_channels // g, conv.in_channels // g
    w = conv.weight.new_zeros(conv.out_channels, conv.in_channels, *conv.kernel_size)
    for k in range(g):
        rows = slice(k * out_per, (k + 1) * out_per)
        w[rows, k * in_per:(k + 1) * in_per] = conv.weight[rows]
    return w


@torch.no_grad()
def dense_equivalent(conv: nn.Conv2d) -> nn.Conv2d:
    """A ``groups=1`` convolution with :func:`dense_weight`: the same function as ``conv``."""
    dense = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                      conv.padding, conv.dilation, bias=conv.bias is not None,
                      device=conv.weight.device, dtype=conv.weight.dtype)
    dense.weight.copy_(dense_weight(conv))
    if conv.bias is not None:
        dense.bias.copy_(conv.bias)
    return dense


def connectivity(conv: nn.Conv2d) -> torch.Tensor:
    """``(c_out, c_in)``: mean |w| over the kernel from each input map to each output map of the
    dense equivalent; exact zeros where a grouped convolution has no connection."""
    return dense_weight(conv).abs().mean(dim=(2, 3))


def inputs_per_output(conv: nn.Conv2d) -> torch.Tensor:
    """How many input maps each output map of ``conv`` depends on (non-zero connections)."""
    return (connectivity(conv) != 0).sum(dim=1)


def plot_connectivity(panels: Mapping[str, torch.Tensor], *, caption: str):
    """Heatmaps of connectivity matrices (:func:`connectivity`), one panel each; zeros white."""
    fig, axes = new_figure(len(panels), width=4.4, height=4.2, squeeze=False)
    for ax, (title, matrix) in zip(axes, panels.items()):
        values = np.ma.masked_equal(matrix.detach().float().cpu().numpy(), 0.0)
        image = ax.imshow(values, cmap="viridis", interpolation="nearest")
        ax.grid(False)
        label(ax, title=title, xlabel="input channel", ylabel="output channel")
        fig.colorbar(image, ax=ax, shrink=0.8, label="mean |w| over the 3×3 kernel")
    return finish(fig, caption, suptitle="Which input maps each output map sees "
                                         "(white: no connection)")


def _least_squares_fit(x: torch.Tensor, y: torch.Tensor, kernel: int, groups: int,
                       blocks: int) -> tuple[float, float]:
    """Best fit of ``y`` by a bias-free, unpadded ``kernel``×``kernel`` convolution of ``x`` with
    ``groups`` groups, solved exactly by least squares over all output pixels.

    Returns the relative residual ``‖y - ŷ‖ / ‖y‖`` and the largest |weight| the fit puts outside
    the diagonal blocks of a ``blocks``-group layout (0 when ``groups > 1``: no such weights).
    """
    c_in, c_out = x.shape[1], y.shape[1]
    patches = F.unfold(x, kernel)  # (N, c_in·k·k, L), channel-major like weight.view(c_out, -1)
    X = patches.transpose(1, 2).reshape(-1, patches.shape[1])
    Y = y.flatten(2).transpose(1, 2).reshape(-1, c_out)
    fitted = torch.zeros_like(Y)
    in_cols, out_cols = c_in * kernel * kernel // groups, c_out // groups
    off_block = 0.0
    for g in range(groups):
        cols, outs = slice(g * in_cols, (g + 1) * in_cols), slice(g * out_cols, (g + 1) * out_cols)
        w = torch.linalg.lstsq(X[:, cols], Y[:, outs]).solution
        fitted[:, outs] = X[:, cols] @ w
        if groups == 1:
            per_map = w.T.reshape(c_out, c_in, kernel * kernel).abs().amax(dim=2)
            off_block = float(per_map[_off_block_mask(c_out, c_in, blocks)].max())
    return float((Y - fitted).norm() / Y.norm()), off_block


def _off_block_mask(c_out: int, c_in: int, blocks: int) -> torch.Tensor:
    """``(c_out, c_in)`` booleans: True outside the ``blocks`` diagonal blocks."""
    out_group = torch.arange(c_out) // (c_out // blocks)
    in_group = torch.arange(c_in) // (c_in // blocks)
    return out_group[:, None] != in_group[None, :]


def function_space_table(channels: int = 16, groups: int = 4, kernel: int = 3, size: int = 8,
                         images: int = 16, seed: int = 0) -> pd.DataFrame:
    """Note 000, "Group Conv": grouping "对于待搜索函数空间进行了限制" (restricts the function space
    searched). Made concrete with two exact least-squares fits on random inputs:

    * a dense convolution fitted to a grouped convolution's outputs reproduces them exactly, and
      the fit puts zeros outside the diagonal blocks (the grouped one is a dense one with zero
      blocks; :func:`dense_equivalent` is that weight mapping);
    * the best grouped convolution fitted to a dense convolution's outputs leaves a residual: the
      share of each output that comes from other groups' inputs. For i.i.d. weights and inputs
      that share is ``1 - 1/M`` of the output's energy, so the relative residual is about
      ``sqrt(1 - 1/M)`` (the last column).
    """
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(images, channels, size, size, generator=gen, dtype=torch.float64)
    torch.manual_seed(seed)
    dense = nn.Conv2d(channels, channels, kernel, bias=False).double()
    grouped = nn.Conv2d(channels, channels, kernel, groups=groups, bias=False).double()
    with torch.no_grad():
        y_dense, y_grouped = dense(x), grouped(x)
        mapped = float((dense_equivalent(grouped)(x) - y_grouped).abs().max())
    rows = []
    for family, fit_groups, target, y in (
            ("dense (M = 1)", 1, f"grouped conv (M = {groups})", y_grouped),
            (f"grouped (M = {groups})", groups, "dense conv (M = 1)", y_dense)):
        residual, off = _least_squares_fit(x, y, kernel, fit_groups, groups)
        rows.append({
            "family fitted": family, "target": target,
            "weights of the family": kernel * kernel * channels * channels // fit_groups,
            "relative residual ‖y−ŷ‖/‖y‖": residual,
            "largest fitted weight off the diagonal blocks": off if fit_groups == 1 else np.nan,
            "weight mapping: ‖Δ output‖∞": mapped if fit_groups == 1 else np.nan,
            "expected residual if inexpressible, sqrt(1−1/M)":
                np.sqrt(1 - 1 / groups) if fit_groups > 1 else 0.0,
        })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Fig. 1


def _triplet(convs: Sequence[nn.Conv2d]) -> str:
    """Fig. 1's notation, a layer as (# in channels, filter size, # out channels)."""
    return " → ".join(f"({c.in_channels}, {c.kernel_size[0]}×{c.kernel_size[1]}, "
                      f"{c.out_channels})" for c in convs)


def fig1_blocks(in_channels: int = 256, cardinality: int = 32, bottleneck_width: int = 4,
                resnet_width: int = 64, size: int = 56) -> pd.DataFrame:
    """Fig. 1: a ResNet bottleneck (256 → 64 → 64 → 256) and a ResNeXt block of ``cardinality``
    paths of width ``bottleneck_width`` (form (a)), with their weights and MACs on a
    ``size``×``size`` map (conv2 of ResNet-50 is 56×56).

    Xie et al. (Sec. 3.3) count the conv weights only: ``256·64 + 3·3·64·64 + 64·256 ≈ 70k`` and
    ``C·(256·d + 3·3·d·d + d·256) ≈ 70k`` for C = 32, d = 4; the parameter column adds the BNs.
    """
    with torch.device("meta"):
        resnet = Bottleneck(in_channels, resnet_width)
        resnext = AggregatedTransformations(in_channels, cardinality * bottleneck_width,
                                            resnet.conv3.out_channels, cardinality)
    path = [m for m in resnext.paths[0] if isinstance(m, nn.Conv2d)]
    blocks = {
        "ResNet bottleneck (Fig. 1 left)": (resnet, _triplet([resnet.conv1, resnet.conv2,
                                                               resnet.conv3])),
        f"ResNeXt block, C = {cardinality} (Fig. 1 right)": (
            resnext, f"{cardinality} paths × [{_triplet(path)}], summed"),
    }
    rows = []
    for name, (block, layers) in blocks.items():
        cost = model_cost(block, (in_channels, size, size))
        conv_weights = sum(m.weight.numel() for m in block.modules() if isinstance(m, nn.Conv2d))
        rows.append({"block": name, "layers": layers, "conv weights": conv_weights,
                     "parameters (with BN)": cost.params, f"MACs on {size}×{size}": cost.macs})
    table = pd.DataFrame(rows)
    for column, ratio in (("conv weights", "weights vs ResNet"),
                          (f"MACs on {size}×{size}", "MACs vs ResNet")):
        table[ratio] = table[column] / table[column][0] - 1
    return table


# ---------------------------------------------------------------------------------------------
# Fig. 3

FORMS = ("(a) split-transform-merge", "(b) early concatenation", "(c) grouped convolution")


@torch.no_grad()
def fig3_forms(in_channels: int = 256, width: int = 128, out_channels: int = 256,
               cardinality: int = 32, seed: int = 0) -> dict[str, nn.Module]:
    """The three forms of Fig. 3 computing one function: a grouped block (c) with random weights
    and random BN statistics (so the BNs are part of what is checked), copied into (a) and (b)
    with :func:`cnnpapers.models.resnext.to_aggregated` / ``to_early_concatenation``."""
    torch.manual_seed(seed)
    block = grouped_block(in_channels, width, out_channels, cardinality).eval()
    for m in block.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.uniform_(0.5, 1.5)
            m.bias.normal_()
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
    return {FORMS[0]: to_aggregated(block), FORMS[1]: to_early_concatenation(block),
            FORMS[2]: block}


def _in_channels(forms: Mapping[str, nn.Module]) -> int:
    """Input channels of the blocks (those of the first convolution of the first form)."""
    first = next(iter(forms.values()))
    return next(m for m in first.modules() if isinstance(m, nn.Conv2d)).in_channels


def fig3_equivalence(forms: Mapping[str, nn.Module], *, batch: int = 2, size: int = 14,
                     seed: int = 0) -> pd.DataFrame:
    """Parameters, convolution layers, and the largest output difference of each form from the
    last one (form (c)), in eval mode (running BN statistics) and in train mode (batch
    statistics; each form on a copy, so running statistics stay untouched), plus the largest
    difference of the gradient with respect to the input."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, _in_channels(forms), size, size, generator=gen)
    outputs, grads = {}, {}
    for name, form in forms.items():
        with torch.no_grad():
            outputs[name, "eval"] = copy.deepcopy(form).eval()(x)
        xi = x.clone().requires_grad_(True)
        out = copy.deepcopy(form).train()(xi)
        out.square().sum().backward()
        outputs[name, "train"], grads[name] = out.detach(), xi.grad
    reference = list(forms)[-1]
    rows = []
    for name, form in forms.items():
        rows.append({
            "form": name, "parameters": sum(p.numel() for p in form.parameters()),
            "conv layers": sum(isinstance(m, nn.Conv2d) for m in form.modules()),
            "eval: ‖Δ output‖∞": float((outputs[name, "eval"]
                                        - outputs[reference, "eval"]).abs().max()),
            "train: ‖Δ output‖∞": float((outputs[name, "train"]
                                         - outputs[reference, "train"]).abs().max()),
            "train: ‖Δ input gradient‖∞": float((grads[name] - grads[reference]).abs().max()),
        })
    return pd.DataFrame(rows)


@functools.cache
def fig3_equivalence_table(seed: int = 0) -> pd.DataFrame:
    """:func:`fig3_equivalence` of :func:`fig3_forms` (computed once per process and seed, for the
    page and its claim; read only)."""
    return fig3_equivalence(fig3_forms(seed=seed), seed=seed)


@dataclass(frozen=True)
class SpeedSetting:
    """How hard :func:`fig3_speed` measures at one budget."""

    batch: int
    size: int
    warmup: int
    repeats: int


# cpu: one pass of all three forms (forward, then a training step) at batch 8 on 28×28 maps is
# about 5 CPU-seconds on the 2-core EPYC, form (a) most of it; six passes, well under a minute.
FIG3_SPEED = {
    "smoke": SpeedSetting(batch=2, size=14, warmup=1, repeats=2),
    "cpu": SpeedSetting(batch=8, size=28, warmup=1, repeats=5),
    "gpu": SpeedSetting(batch=64, size=56, warmup=10, repeats=20),
}
FIG3_SPEED_EXPERIMENT = "resnext_blocks/fig3_speed"


def _as_classifier(block: nn.Module) -> nn.Module:
    """The block followed by global pooling, so its ``out_channels`` act as class scores for the
    training step of :func:`cnnpapers.analysis.throughput.measure_throughput`."""
    return nn.Sequential(block, nn.AdaptiveAvgPool2d(1), nn.Flatten())


def fig3_speed(forms: Mapping[str, nn.Module], setting: SpeedSetting,
               device: str = "cpu") -> pd.DataFrame:
    """Images/s of each form, forward only (eval) and a full training step (forward, loss,
    backward, SGD step), on a ``batch`` of ``size``×``size`` maps, and the slowdown relative to
    the fastest form per mode."""
    models = {name: _as_classifier(copy.deepcopy(form)) for name, form in forms.items()}
    frame = throughput_table(models, (_in_channels(forms), setting.size, setting.size),
                             batch_size=setting.batch, device=device, warmup=setting.warmup,
                             repeats=setting.repeats)
    frame = frame.rename(columns={"model": "form"})
    best = frame.groupby("mode")["ms_per_batch"].transform("min")
    frame["× time of the fastest"] = frame["ms_per_batch"] / best
    return frame


def fig3_speed_config(budget: str, device: str) -> dict:
    """The results-cache configuration of :func:`fig3_speed_result` at ``budget`` on ``device``."""
    setting = FIG3_SPEED["gpu" if get_budget(budget).name == "paper" else budget]
    return {"budget": budget, "seed": 0, "device_type": torch.device(device).type,
            "block": "256-128-256, C=32", **setting.__dict__}


def fig3_speed_result(budget: str, device: str = "cpu", *, force: bool | None = None,
                      run: bool = True) -> results.Result | None:
    """:func:`fig3_speed` of :func:`fig3_forms` at the budget's :data:`FIG3_SPEED` setting,
    stored in the results cache at non-smoke budgets; with ``run=False`` only a stored (or
    in-process) result is returned, or ``None``."""
    config = fig3_speed_config(budget, device)
    if not run:
        return results.lookup(FIG3_SPEED_EXPERIMENT, config)
    setting = SpeedSetting(config["batch"], config["size"], config["warmup"], config["repeats"])

    def compute() -> dict:
        frame = fig3_speed(fig3_forms(), setting, device)
        return {"metrics": {"rows": frame.to_dict("records")}}

    return results.cached(FIG3_SPEED_EXPERIMENT, config, compute, device=device, force=force)


def fastest_form(frame: pd.DataFrame) -> dict[str, str]:
    """The fastest form per mode of a :func:`fig3_speed` table."""
    best = frame.loc[frame.groupby("mode")["ms_per_batch"].idxmin()]
    return dict(zip(best["mode"], best["form"]))


# ---------------------------------------------------------------------------------------------
# Table 1

STAGES = ("conv1", "conv2", "conv3", "conv4", "conv5")
# the ResNet module holding each stage of Table 1 (stage conv1 also holds bn1)
_STAGE_OF = {"conv1": "conv1", "bn1": "conv1", "layer1": "conv2", "layer2": "conv3",
             "layer3": "conv4", "layer4": "conv5", "fc": "fc"}


@dataclass(frozen=True)
class StageShape:
    """One bracket of Table 1: the widths of 1×1, 3×3 (with C groups), 1×1, and the repeats."""

    widths: tuple[int, int, int]
    groups: int
    blocks: int

    def describe(self) -> str:
        c = f", C={self.groups}" if self.groups > 1 else ""
        a, b, out = self.widths
        return f"[1×1, {a} · 3×3, {b}{c} · 1×1, {out}] × {self.blocks}"


# Note 000, Table 1 (Xie et al. 2017, Table 1) as printed: output size of each stage and the
# bracketed block shapes; the registry names of its two nets (ResNet-50 is resnext50_1x64d).
TABLE1_NETS = {"resnext50_1x64d": "ResNet-50", "resnext50_32x4d": "ResNeXt-50 (32×4d)"}
TABLE1_PRINTED = {
    "output": {"conv1": 112, "conv2": 56, "conv3": 28, "conv4": 14, "conv5": 7},
    "resnext50_1x64d": {
        "conv2": StageShape((64, 64, 256), 1, 3), "conv3": StageShape((128, 128, 512), 1, 4),
        "conv4": StageShape((256, 256, 1024), 1, 6), "conv5": StageShape((512, 512, 2048), 1, 3),
    },
    "resnext50_32x4d": {
        "conv2": StageShape((128, 128, 256), 32, 3), "conv3": StageShape((256, 256, 512), 32, 4),
        "conv4": StageShape((512, 512, 1024), 32, 6),
        "conv5": StageShape((1024, 1024, 2048), 32, 3),
    },
}


def stage_shapes(model: ResNet) -> dict[str, StageShape]:
    """Table 1's brackets read off a bottleneck ResNet/ResNeXt (first block of each stage)."""
    shapes = {}
    for stage, layer in zip(STAGES[1:], (model.layer1, model.layer2, model.layer3, model.layer4)):
        b = layer[0]
        shapes[stage] = StageShape((b.conv1.out_channels, b.conv2.out_channels,
                                    b.conv3.out_channels), b.conv2.groups, len(layer))
    return shapes


@torch.no_grad()
def stage_output_sizes(model: ResNet, image_size: int = 224) -> dict[str, int]:
    """Spatial output size of each stage of Table 1 for an ``image_size`` input (meta tensors)."""
    x = torch.zeros(1, model.conv1.in_channels, image_size, image_size, device="meta")
    sizes = {}
    x = model.conv1(x)
    sizes["conv1"] = x.shape[-1]
    x = model.maxpool(x)
    for stage, layer in zip(STAGES[1:], (model.layer1, model.layer2, model.layer3, model.layer4)):
        x = layer(x)
        sizes[stage] = x.shape[-1]
    return sizes


def meta_model(name: str) -> ResNet:
    """The registered ImageNet net ``name`` on the meta device (shapes only, no memory)."""
    with torch.device("meta"):
        return create_model(name)


@functools.cache
def _cost(name: str, image_size: int = 224):
    """:func:`model_cost` of a registered ImageNet net (built once per process; read only)."""
    model = meta_model(name)
    return model_cost(model, (model.conv1.in_channels, image_size, image_size))


def table1_mismatches(name: str) -> list[str]:
    """Where the model ``name`` differs from Table 1 as printed (empty: it is the table)."""
    model = meta_model(name)
    printed = TABLE1_PRINTED[name]
    found = []
    for stage, size in stage_output_sizes(model).items():
        if size != TABLE1_PRINTED["output"][stage]:
            found.append(f"{stage}: output {size}×{size}, printed {TABLE1_PRINTED['output'][stage]}")
    for stage, shape in stage_shapes(model).items():
        if shape != printed[stage]:
            found.append(f"{stage}: {shape.describe()}, printed {printed[stage].describe()}")
    return found


def table1(names: Sequence[str] = tuple(TABLE1_NETS), image_size: int = 224) -> pd.DataFrame:
    """Table 1 generated from the models: per stage the output size, each net's brackets (conv1:
    the 7×7 stem; conv2 starts with the 3×3 max pool), and each net's parameters and MACs."""
    rows = {stage: {"stage": stage} for stage in (*STAGES, "fc")}
    for name in names:
        model = meta_model(name)
        label_ = TABLE1_NETS.get(name, name)
        sizes = stage_output_sizes(model, image_size)
        shapes = stage_shapes(model)
        stem = model.conv1
        cost = _cost(name, image_size)
        layers = cost.layers.assign(stage=cost.layers["stage"].map(_STAGE_OF))
        per_stage = layers.groupby("stage")[["params", "macs"]].sum()
        for stage, row in rows.items():
            row["output"] = f"{sizes[stage]}×{sizes[stage]}" if stage in sizes else "1×1"
            if stage == "conv1":
                text = (f"{stem.kernel_size[0]}×{stem.kernel_size[1]}, {stem.out_channels}, "
                        f"stride {stem.stride[0]}")
            elif stage == "fc":
                text = f"global average pool, {model.fc.out_features}-d fc"
            else:
                text = ("3×3 max pool, stride 2; " if stage == "conv2" else "") + \
                    shapes[stage].describe()
            row[label_] = text
            row[f"{label_}: params (M)"] = per_stage.loc[stage, "params"] / 1e6
            row[f"{label_}: GMACs"] = per_stage.loc[stage, "macs"] / 1e9
    return pd.DataFrame(rows.values())


def _truncate(value: Decimal, like: str) -> Decimal:
    return value.quantize(Decimal(like), ROUND_DOWN)


def table1_totals(names: Sequence[str] = tuple(TABLE1_NETS)) -> pd.DataFrame:
    """Each net's parameters and MACs beside Table 1's printed values (the cards' quotes), with
    our parameters rounded and truncated at the printed precision: Xie et al. truncate."""
    rows = []
    for name in names:
        cost = _cost(name)
        rep = model_info(name).reported
        params_m = Decimal(cost.params) / 10**6
        rows.append({
            "net": TABLE1_NETS.get(name, name), "parameters": cost.params,
            "params (M), paper": rep.params,
            "ours rounded": str(params_m.quantize(Decimal(rep.params))),
            "ours truncated": str(_truncate(params_m, rep.params)),
            "GMACs, ours": cost.macs / 1e9, "GFLOPs (= GMACs), paper": rep.gflops,
            "GMACs ours rounded": str(Decimal(cost.macs / 1e9).quantize(Decimal(rep.gflops))),
        })
    return pd.DataFrame(rows)
