"""The chapter ``survey_width``: the survey's width / multi-connection family (note 001) —
DenseNet, PyramidNet, Xception, ResNeXt, MobileNet v1/v2, ShuffleNet v1/v2.

Two kinds of numbers. *Counted* ones (parameters, multiply-accumulates — MACs, 1 MAC = 2 FLOPs —,
the ShuffleNet v2 paper's memory access cost, operator counts) come from models built on the
``meta`` device and are exact. *Measured* ones (the speed of ShuffleNet v2's guideline benchmarks
G1–G4, the run-time decomposition of its Fig. 2) come from :mod:`cnnpapers.analysis.runtime` on
this machine; at every budget but ``smoke`` they are stored through :func:`cnnpapers.results.cached`
so that the book rebuilds without timing again, and :func:`guideline_result` /
:func:`decomposition_result` with ``run=False`` only look them up.
"""

from __future__ import annotations

import collections
import functools
import itertools
from dataclasses import asdict
from decimal import Decimal
from typing import Sequence

import pandas as pd
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from .. import results
from ..analysis import runtime
from ..analysis.cost import (
    depthwise_separable_macs,
    layer_costs,
    model_cost,
    standard_conv_macs,
)
from ..analysis.hooks import forward_with_hooks
from ..analysis.plots import finish, label, new_figure
from ..budgets import get_budget
from ..models.densenet import DenseNet
from ..models.mobilenet import DepthwiseSeparableConv, InvertedResidual
from ..models.shufflenet import ShuffleV2Unit, channel_shuffle, channel_unshuffle
from ..models.xception import SeparableConv2d
from ..registry import create_model, model_info
from ..results import Result

CHAPTER = "survey_width"


@functools.cache
def meta_model(name: str) -> nn.Module:
    """The registered variant ``name`` on the meta device (shapes only); shared, so read-only."""
    with torch.device("meta"):
        return create_model(name)


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _frame_cache(fn):
    """Compute a table once per process (chapter and claims share it); callers get a copy."""
    cached = functools.cache(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs) -> pd.DataFrame:
        return cached(*args, **kwargs).copy()

    return wrapper


def _printed_match(printed: str, value: float) -> bool:
    """True when ``value`` rounds to ``printed`` at the precision it is printed with."""
    p = Decimal(printed)
    return Decimal(str(value)).quantize(p) == p


# ---------------------------------------------------------------------------------------------
# cost rows of the family


@_frame_cache
def cost_rows(names: tuple[str, ...]) -> pd.DataFrame:
    """Parameters and MACs of each model at its native input, beside its card's quotes (in
    millions / 10⁹ MACs, as printed; a quote in FLOPs is halved)."""
    from ..bookpages import model_zoo

    zoo = model_zoo(names)
    return pd.DataFrame({
        "model": zoo["model"], "paper": [model_info(n).paper.cite() for n in zoo["model"]],
        "input": zoo["input"], "params": zoo["params"], "quoted params (M)": zoo["quoted_params_m"],
        "params agree": zoo["params_agree"], "GMACs": zoo["gmacs"],
        "quoted GMACs": zoo["quoted_gmacs"],
    })


# ---------------------------------------------------------------------------------------------
# DenseNet and PyramidNet


@_frame_cache
def dense_connections(name: str = "densenet121") -> pd.DataFrame:
    """Per dense block of a DenseNet: its L layers, the feature maps each layer reads (its input
    width minus the block input's, over the growth rate, plus one for the block input), their
    sum — the direct connections — against the note's L(L+1)/2 and a plain chain's L."""
    model = meta_model(name)
    if not isinstance(model, DenseNet):
        raise ValueError(f"{name} is not a DenseNet")
    rows = []
    for i, block in enumerate(model.dense_blocks(), 1):
        k0, k = block.num_input_features, block.growth_rate
        reads = [(layer.num_input_features - k0) // k + 1 for layer in block.values()]
        L = len(reads)
        rows.append({"block": i, "layers L": L, "growth rate k": k, "block input k0": k0,
                     "maps read by layer 1..L": f"{reads[0]}, {reads[1]}, …, {reads[-1]}",
                     "connections (counted)": sum(reads), "L(L+1)/2": L * (L + 1) // 2,
                     "chain (L)": L})
    return pd.DataFrame(rows)


def unit_widths(name: str, unit_prefixes: Sequence[str]) -> list[int]:
    """Output channels of every residual unit of a registered model (children of the modules at
    ``unit_prefixes``), read from a forward pass at its native input."""
    model = meta_model(name)
    paths = [f"{prefix}.{child}" for prefix in unit_prefixes
             for child, _ in model.get_submodule(prefix).named_children()]
    widths: dict[str, int] = {}
    modules = dict(model.named_modules())
    x = torch.zeros(1, *model_info(name).input_size, device="meta")
    forward_with_hooks(model, x, [modules[p].register_forward_hook(
        lambda m, a, out, p=p: widths.__setitem__(p, out.shape[1])) for p in paths])
    return [widths[p] for p in paths]


@_frame_cache
def width_ramp(pyramid: str = "pyramidnet110_a48", resnet: str = "resnet110_cifar") -> pd.DataFrame:
    """Residual-unit widths of an additive PyramidNet against the ResNet of the same depth, one
    row per unit (Han et al. 2017, Fig. 2)."""
    p = unit_widths(pyramid, ["units"])
    r = unit_widths(resnet, ["layer1", "layer2", "layer3"])
    return pd.DataFrame({"unit": range(1, len(p) + 1), pyramid: p, resnet: r})


def _increases(widths: Sequence[int]) -> int:
    return sum(b > a for a, b in itertools.pairwise(widths))


def ramp_summary(ramp: pd.DataFrame) -> pd.DataFrame:
    """Per model of a :func:`width_ramp`: first and last width, how many of the unit-to-unit
    steps widen, and whether any step narrows."""
    rows = []
    for col in ramp.columns[1:]:
        w = list(ramp[col])
        rows.append({"model": col, "units": len(w), "first width": w[0], "last width": w[-1],
                     "steps that widen": _increases(w), "steps": len(w) - 1,
                     "never narrows": all(b >= a for a, b in itertools.pairwise(w))})
    return pd.DataFrame(rows)


def plot_width_ramp(ramp: pd.DataFrame, *, caption: str):
    """Width of every residual unit: PyramidNet's ramp against ResNet's staircase."""
    fig, ax = new_figure(width=7.0, height=3.8)
    for col in ramp.columns[1:]:
        ax.step(ramp["unit"], ramp[col], where="mid", label=col)
    ax.legend(fontsize=8)
    label(ax, title="Channels of each residual unit (CIFAR, 110 layers)",
          xlabel="residual unit", ylabel="output channels")
    return finish(fig, caption)


# ---------------------------------------------------------------------------------------------
# Xception


@_frame_cache
def xception_separable() -> pd.DataFrame:
    """Every separable convolution of Xception: how many there are, whether each depthwise
    convolution has one filter per channel (groups = channels), whether anything sits between
    the depthwise and the pointwise step, and which step comes first."""
    model = meta_model("xception")
    seps = [m for m in model.modules() if isinstance(m, SeparableConv2d)]
    children = {tuple(type(c).__name__ for c in m.children()) for m in seps}
    return pd.DataFrame([{
        "separable convolutions": len(seps),
        "depthwise groups = channels": all(m.depthwise.groups == m.depthwise.in_channels for m in seps),
        "first step": "depthwise 3×3" if all(list(m.children())[0] is m.depthwise for m in seps)
        else "pointwise 1×1",
        "layers inside": " → ".join(next(iter(children))) if len(children) == 1 else str(children),
    }])


@_frame_cache
def separable_vs_standard(channels: int = 728, side: int = 19) -> pd.DataFrame:
    """One 3×3 separable convolution of Xception's middle flow (728 → 728 on 19×19 at a 299
    input) against a standard 3×3 convolution of the same widths."""
    rows = []
    for form, build in (("standard 3×3", lambda: nn.Conv2d(channels, channels, 3, padding=1, bias=False)),
                        ("separable (depthwise 3×3 + pointwise 1×1)",
                         lambda: SeparableConv2d(channels, channels))):
        with torch.device("meta"):
            module = build()
        rows.append({"convolution": form, "weights": _params(module),
                     "MACs": model_cost(module, (channels, side, side)).macs})
    df = pd.DataFrame(rows)
    df["relative to standard"] = df["MACs"] / df["MACs"].iloc[0]
    return df


# ---------------------------------------------------------------------------------------------
# MobileNet v1: the cost formulas and the two multipliers


def _input_sides(model: nn.Module, input_size: Sequence[int], paths: Sequence[str]
                 ) -> dict[str, tuple[int, int]]:
    """(input side, output side) of the modules at ``paths`` in one forward pass."""
    modules = dict(model.named_modules())
    sides: dict[str, tuple[int, int]] = {}
    x = torch.zeros(1, *input_size, device=next(model.parameters()).device)
    forward_with_hooks(model, x, [modules[p].register_forward_hook(
        lambda m, args, out, p=p: sides.__setitem__(p, (args[0].shape[-1], out.shape[-1])))
        for p in paths])
    return sides


@_frame_cache
def separable_layers(name: str = "mobilenet_v1_x1_0") -> pd.DataFrame:
    """Each depthwise-separable layer of a MobileNet v1: M, N, D_F, its MACs as counted in the
    model, the note's formula D_k·D_k·M·D_F·D_F + M·N·D_F·D_F, the MACs counted on a standard
    3×3 convolution of the same shape and the formula D_k·D_k·M·N·D_F·D_F, and their ratio next
    to the paper's 1/N + 1/D_k² (MobileNet, Eqs. 2, 4, 5)."""
    model = meta_model(name)
    size = model_info(name).input_size
    blocks = [(p, m) for p, m in model.named_modules() if isinstance(m, DepthwiseSeparableConv)]
    sides = _input_sides(model, size, [p for p, _ in blocks])
    costs = layer_costs(model, size)
    rows = []
    for i, (path, block) in enumerate(blocks, 1):
        (d_in, d_f), k = sides[path], block.kernel_size
        m, n = block.in_channels, block.out_channels
        counted = int(costs.loc[costs["layer"].str.startswith(path + "."), "macs"].sum())
        with torch.device("meta"):
            standard = nn.Conv2d(m, n, k, block.stride, k // 2, bias=False)
        rows.append({
            "layer": i, "M": m, "N": n, "stride": block.stride, "D_F": d_f,
            "separable (counted)": counted,
            "separable (formula)": depthwise_separable_macs(k, m, n, d_f),
            "standard (counted)": model_cost(standard, (m, d_in, d_in)).macs,
            "standard (formula)": standard_conv_macs(k, m, n, d_f),
        })
    df = pd.DataFrame(rows)
    df["ratio"] = df["separable (counted)"] / df["standard (counted)"]
    df["1/N + 1/D_k²"] = 1 / df["N"] + 1 / 9
    return df


WIDTH_MULTIPLIERS = (("mobilenet_v1_x1_0", 1.0), ("mobilenet_v1_x0_75", 0.75),
                     ("mobilenet_v1_x0_5", 0.5), ("mobilenet_v1_x0_25", 0.25))  # Table 6's rows


def _multiplier_row(name: str, key: str, value: float) -> dict:
    card, model = model_info(name), meta_model(name)
    macs = model_cost(model, card.input_size).macs
    params = _params(model)
    return {
        "model": name, key: value, "input": card.input_size[-1], "params": params,
        "quoted params (M)": card.reported.params, "params agree": card.reported.params_match(params),
        "MACs": macs, "quoted MACs (M)": str(int(Decimal(card.reported.gflops) * 1000)),
        "MACs agree": _printed_match(card.reported.gflops, macs / 1e9),
    }


@_frame_cache
def width_multiplier_table() -> pd.DataFrame:
    """MobileNet v1 at α = 1, 0.75, 0.5, 0.25 (Table 6) at 224×224: our parameters and MACs beside
    the quoted ones, and both as fractions of α = 1 next to α²."""
    rows = [_multiplier_row(n, "α", alpha) for n, alpha in WIDTH_MULTIPLIERS]
    df = pd.DataFrame(rows)
    df["MACs / MACs(α=1)"] = df["MACs"] / df["MACs"].iloc[0]
    df["params / params(α=1)"] = df["params"] / df["params"].iloc[0]
    df["α²"] = df["α"] ** 2
    return df


@_frame_cache
def resolution_multiplier_table() -> pd.DataFrame:
    """MobileNet v1 (α = 1) at inputs 224, 192, 160, 128 (Table 7): our MACs beside the quoted
    ones, as fractions of 224 next to ρ², and the parameters, which ρ leaves alone."""
    names = ("mobilenet_v1_x1_0", "mobilenet_v1_x1_0_192", "mobilenet_v1_x1_0_160",
             "mobilenet_v1_x1_0_128")
    rows = [_multiplier_row(n, "ρ", model_info(n).input_size[-1] / 224) for n in names]
    df = pd.DataFrame(rows)
    df["MACs / MACs(ρ=1)"] = df["MACs"] / df["MACs"].iloc[0]
    df["ρ²"] = df["ρ"] ** 2
    return df


# ---------------------------------------------------------------------------------------------
# MobileNet v2: the inverted residual


@_frame_cache
def inverted_residual_cost(channels: int = 24, side: int = 56, expand_ratio: int = 6) -> pd.DataFrame:
    """The parts of one stride-1 inverted residual (24 → 144 → 144 → 24 channels on 56×56, the
    second block of MobileNet v2's Table 2) — expansion, depthwise, linear projection — with their
    weights, MACs and output tensor size, and the whole block beside a MobileNet v1 separable
    block and a standard 3×3 convolution of the same input and output."""
    with torch.device("meta"):
        block = InvertedResidual(channels, channels, 1, expand_ratio)
        v1 = DepthwiseSeparableConv(channels, channels)
        standard = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
    costs = layer_costs(block, (channels, side, side), stage_depth=2)
    hidden = channels * expand_ratio
    parts = (("1×1 expansion + BN + ReLU6", "conv.0", hidden),
             ("3×3 depthwise + BN + ReLU6", "conv.1", hidden),
             ("1×1 linear projection + BN", ("conv.2", "conv.3"), channels))
    rows = []
    for part, stages, out in parts:
        stages = (stages,) if isinstance(stages, str) else stages
        own = costs[costs["stage"].isin(stages)]
        rows.append({"part": part, "weights": int(own["params"].sum()),
                     "MACs": int(own["macs"].sum()), "output elements": out * side * side})
    for part, module in (("whole inverted residual", block),
                         ("MobileNet v1 separable block (same in/out)", v1),
                         ("standard 3×3 convolution (same in/out)", standard)):
        rows.append({"part": part, "weights": _params(module),
                     "MACs": model_cost(module, (channels, side, side)).macs,
                     "output elements": channels * side * side})
    return pd.DataFrame(rows)


@_frame_cache
def inverted_residual_census(name: str = "mobilenet_v2") -> pd.DataFrame:
    """Every inverted residual of a MobileNet v2: expansion ratio t, widths, stride, whether it
    has a shortcut, and whether its projection ends without an activation."""
    model = meta_model(name)
    rows = []
    for path, m in model.named_modules():
        if not isinstance(m, InvertedResidual):
            continue
        convs = [c for c in m.conv.modules() if isinstance(c, nn.Conv2d)]
        depthwise = next(c for c in convs if c.groups > 1)
        rows.append({"block": path, "t": depthwise.in_channels // convs[0].in_channels,
                     "in": convs[0].in_channels, "out": convs[-1].out_channels,
                     "stride": depthwise.stride[0], "shortcut": m.use_shortcut,
                     "linear end": isinstance(list(m.conv)[-1], nn.BatchNorm2d)})
    return pd.DataFrame(rows)


def relu6_matches(points: int = 1001) -> bool:
    """``nn.ReLU6`` equals the note's min(max(x, 0), 6) on a grid from -10 to 10."""
    x = torch.linspace(-10, 10, points)
    return torch.equal(nn.ReLU6()(x), torch.clamp(torch.clamp(x, min=0), max=6))


# ---------------------------------------------------------------------------------------------
# ShuffleNet: channel shuffle and the v2 unit


def shuffle_permutation(channels: int = 12, groups: int = 3) -> pd.DataFrame:
    """Where each channel goes under ``channel_shuffle``: output position, the input channel it
    holds, that channel's group and index in the group; and the check that ``channel_unshuffle``
    and PyTorch's own ``nn.ChannelShuffle`` agree."""
    x = torch.arange(channels, dtype=torch.float32).view(1, channels, 1, 1)
    y = channel_shuffle(x, groups)
    per_group = channels // groups
    source = y.view(-1).long().tolist()
    return pd.DataFrame({"output position": range(channels), "input channel": source,
                         "from group": [s // per_group for s in source],
                         "index in group": [s % per_group for s in source]})


def shuffle_checks(channels: int = 48, groups: Sequence[int] = (2, 3, 4, 8)) -> pd.DataFrame:
    """For each g: is the shuffle a permutation of the channels, does ``channel_unshuffle`` undo
    it, does it equal ``torch.nn.ChannelShuffle(g)``, and does it send input j·(C/g)+i... to
    output i·g+j (Zhang et al. 2018, Fig. 1: transpose of a g × C/g matrix)."""
    rows = []
    x = torch.randn(2, channels, 3, 3, generator=torch.Generator().manual_seed(0))
    index = torch.arange(channels, dtype=torch.float32).view(1, channels, 1, 1)
    for g in groups:
        perm = channel_shuffle(index, g).view(-1).long()
        n = channels // g
        expected = torch.tensor([(p % g) * n + p // g for p in range(channels)])
        y = channel_shuffle(x, g)
        rows.append({"C": channels, "g": g,
                     "permutation": sorted(perm.tolist()) == list(range(channels)),
                     "unshuffle restores input": torch.equal(channel_unshuffle(y, g), x),
                     "equals nn.ChannelShuffle": torch.equal(nn.ChannelShuffle(g)(x), y),
                     "transpose of g × C/g": torch.equal(perm, expected)})
    return pd.DataFrame(rows)


class _OpCounter(TorchDispatchMode):
    """Counts the ATen operators a forward pass dispatches (by name, e.g. ``add``, ``cat``)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: collections.Counter[str] = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.counts[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


def aten_op_counts(model: nn.Module, input_size: Sequence[int]) -> collections.Counter:
    """How often each ATen operator runs in one inference pass of ``model`` (on its device;
    on the meta device this costs nothing)."""
    device = next(model.parameters()).device
    x = torch.zeros(1, *input_size, device=device)
    model.eval()
    with torch.no_grad(), _OpCounter() as counter:
        model(x)
    return counter.counts


@_frame_cache
def unit_structure(names: tuple[str, ...] = ("shufflenet_v1_x1_0_g3", "shufflenet_v2_x1_0",
                                             "mobilenet_v2")) -> pd.DataFrame:
    """What the ShuffleNet v2 guidelines look at, counted per network: 1×1 convolutions (all,
    grouped, with equal input and output widths), and the element-wise additions,
    concatenations, channel splits and shuffles (transposes) of one forward pass."""
    rows = []
    for name in names:
        model = meta_model(name)
        ops = aten_op_counts(model, model_info(name).input_size)
        pointwise = [m for m in model.modules()
                     if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)]
        rows.append({"model": name, "1×1 convs": len(pointwise),
                     "grouped 1×1 convs": sum(m.groups > 1 for m in pointwise),
                     "1×1 convs with in = out": sum(m.in_channels == m.out_channels for m in pointwise),
                     "element-wise adds": ops["add"] + ops["add_"],
                     "concatenations": ops["cat"], "channel splits": ops["split"],
                     "shuffles (transposes)": ops["transpose"]})
    return pd.DataFrame(rows)


@_frame_cache
def shufflenet_v2_units(name: str = "shufflenet_v2_x1_0") -> pd.DataFrame:
    """Every unit of a ShuffleNet v2: stride, input and output channels, and the widths of the
    1×1 convolutions of its transforming branch (Fig. 3(c)/(d))."""
    model = meta_model(name)
    rows = []
    for path, unit in model.named_modules():
        if not isinstance(unit, ShuffleV2Unit):
            continue
        pw = [m for m in unit.branch2 if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)]
        dw = next(m for m in unit.branch2 if isinstance(m, nn.Conv2d) and m.groups > 1)
        inputs = unit.branch1[0].in_channels if unit.stride == 2 else 2 * pw[0].in_channels
        out = pw[-1].out_channels + (_branch1_out(unit) if unit.stride == 2 else pw[0].in_channels)
        rows.append({"unit": path, "stride": dw.stride[0], "in": inputs, "out": out,
                     "branch 1×1 widths": " / ".join(f"{m.in_channels}→{m.out_channels}" for m in pw),
                     "reads": "all channels" if unit.stride == 2 else "half (channel split)"})
    return pd.DataFrame(rows)


def _branch1_out(unit: ShuffleV2Unit) -> int:
    return [m for m in unit.branch1 if isinstance(m, nn.Conv2d)][-1].out_channels


# ---------------------------------------------------------------------------------------------
# ShuffleNet v2 guidelines G1–G4 (measured) and their memory access cost (counted)

# The smoke budget only checks that the benchmarks run: tiny maps, one timed repeat.
_SMOKE_BENCHMARK = runtime.BenchmarkSize(spatial=8, batch_size=1, widths=(1,), repeats=2,
                                         iters=1, warmup=1)
GUIDELINES = ("G1", "G2", "G3", "G4")
# (favourable, unfavourable) settings of each guideline, in the paper's direction
CONTRASTS = {"G1": ("1:1", "1:12"), "G2": ("g=1", "g=8"),
             "G3": ("1-fragment", "4-fragment-parallel"),
             "G4": ("ReLU no, shortcut no", "ReLU yes, shortcut yes")}
SPEEDUP_THRESHOLD = 1.05  # a direction counts as measured when the gap exceeds 5 %


def benchmark_size(budget: str, device: str | torch.device = "cpu") -> runtime.BenchmarkSize:
    """The guideline benchmark size: a seconds-long toy at ``smoke``; otherwise the library's
    size for the budget on a GPU (batch 8, widths 1×, 2×, 4× at ``gpu``), and on a CPU always
    its ``cpu`` size (the paper's 56×56, batch 1, width 1×, as on its ARM phone) — the larger
    GPU settings would take hours on a CPU."""
    b = get_budget(budget)
    if b.name == "smoke":
        return _SMOKE_BENCHMARK
    return runtime.benchmark_size(b if _device_type(device) == "cuda" else "cpu")


def _device_type(device: str | torch.device) -> str:
    return torch.device(device).type


def guideline_config(guideline: str, budget: str, device: str = "cpu", seed: int = 0) -> dict:
    return {"budget": get_budget(budget).name, "seed": seed, "device": _device_type(device),
            "guideline": guideline, "size": asdict(benchmark_size(budget, device))}


def guideline_result(guideline: str, budget: str, device: str = "cpu", seed: int = 0, *,
                     run: bool = True) -> Result | None:
    """The timing table of one guideline (stored at non-smoke budgets); with ``run=False`` only
    a result already computed or stored, else ``None``."""
    if guideline not in GUIDELINES:
        raise ValueError(f"guideline must be one of {GUIDELINES}, got {guideline!r}")
    name, config = f"{CHAPTER}/{guideline.lower()}", guideline_config(guideline, budget, device, seed)
    if not run:
        return results.lookup(name, config)

    def compute() -> dict:
        torch.manual_seed(seed)
        table = runtime.GUIDELINES[guideline](budget, device, size=benchmark_size(budget, device))
        return {"metrics": {"rows": table.to_dict("records")}}

    return results.cached(name, config, compute, device=str(device))


def guideline_table(result: Result) -> pd.DataFrame:
    return pd.DataFrame(result.metrics["rows"])


def contrast(table: pd.DataFrame) -> pd.DataFrame:
    """The paper's favourable against unfavourable setting of one guideline table (per width,
    and per c for G4): their speeds, the speed-up, and whether the favourable one is the fastest
    setting; beside it the spread of MACs and of speed across all settings."""
    guideline = table["guideline"].iloc[0]
    good, bad = CONTRASTS[guideline]
    keys = ["width", "c"] if guideline == "G4" else ["width"]
    rows = []
    for key, part in table.groupby(keys, sort=False):
        part = part.set_index("setting")
        speed = part["batches_per_s"]
        rows.append({"guideline": guideline, **dict(zip(keys, key if isinstance(key, tuple) else (key,))),
                     "favourable": good, "unfavourable": bad,
                     "speed-up": speed[good] / speed[bad], "favourable is fastest": speed.idxmax() == good,
                     "MACs max/min": part["macs"].max() / part["macs"].min(),
                     "speed max/min": speed.max() / speed.min()})
    return pd.DataFrame(rows)


def guideline_verdict(table: pd.DataFrame) -> tuple[str, bool, bool]:
    """(summary, all settings show the direction, some do): the direction holds where the
    favourable setting is faster than the unfavourable one by more than 5 %."""
    c = contrast(table)
    holds = c["speed-up"] > SPEEDUP_THRESHOLD
    parts = [f"{r.favourable} {r['speed-up']:.2f}× the speed of {r.unfavourable}"
             + (f" (c={r['c']})" if "c" in c.columns else "") for _, r in c.iterrows()]
    return "; ".join(parts), bool(holds.all()), bool(holds.any())


@_frame_cache
def memory_access_table(spatial: int = 56) -> pd.DataFrame:
    """ShuffleNet v2's memory access cost (Eqs. 1–2, elements per image) of the G1 and G2
    benchmark networks at the paper's widths, with their MACs: counted, no timing. G1: ten
    blocks of 1×1 convs c1 → c2 → c1; G2: ten 1×1 group convs c → c."""
    rows = []
    hw = spatial * spatial
    for ratio in (1, 2, 6, 12):
        c1, c2 = runtime.g1_channels(ratio)
        rows.append({"guideline": "G1", "setting": f"1:{ratio}", "channels": f"{c1}, {c2}",
                     "MACs": runtime.BLOCKS * 2 * hw * c1 * c2,
                     "memory access": runtime.BLOCKS * (runtime.conv1x1_memory_access(spatial, spatial, c1, c2)
                                                        + runtime.conv1x1_memory_access(spatial, spatial, c2, c1))})
    for g in (1, 2, 4, 8):
        c = runtime.g2_channels(g)
        rows.append({"guideline": "G2", "setting": f"g={g}", "channels": f"{c}",
                     "MACs": runtime.BLOCKS * hw * c * c // g,
                     "memory access": runtime.BLOCKS * runtime.conv1x1_memory_access(spatial, spatial, c, c, g)})
    df = pd.DataFrame(rows)
    first = df.groupby("guideline")["memory access"].transform("first")
    df["memory access vs first"] = df["memory access"] / first
    return df


def plot_guidelines(tables: dict[str, pd.DataFrame], *, caption: str):
    """Speed relative to the paper's favourable setting for G1–G4 (one panel each), with the
    setting's MACs relative to the same setting as a second bar: where the two differ, speed
    does not follow FLOPs."""
    import matplotlib.pyplot as plt

    new_figure()  # the book's style
    plt.close()
    rows = (len(tables) + 1) // 2
    fig, grid = plt.subplots(rows, 2, figsize=(11.0, 4.2 * rows), squeeze=False)
    axes = list(grid.flat)
    for ax in axes[len(tables):]:
        ax.set_visible(False)
    for ax, (g, table) in zip(axes, tables.items()):
        good = CONTRASTS[g][0]
        keys = ["width", "c"] if g == "G4" else ["width"]
        labels, speed, macs = [], [], []
        for key, part in table.groupby(keys, sort=False):
            part = part.set_index("setting")
            tag = f" (c={part['c'].iloc[0]})" if g == "G4" else ""
            for setting, row in part.iterrows():
                labels.append(setting.replace("ReLU ", "R:").replace("shortcut ", "S:") + tag)
                speed.append(row["batches_per_s"] / part.loc[good, "batches_per_s"])
                macs.append(row["macs"] / part.loc[good, "macs"])
        y = range(len(labels))
        ax.barh([i - 0.2 for i in y], speed, height=0.4, label="speed")
        ax.barh([i + 0.2 for i in y], macs, height=0.4, label="MACs", color="0.7")
        ax.axvline(1.0, color="0.3", linewidth=0.8)
        ax.set_yticks(list(y), labels, fontsize=7)
        ax.invert_yaxis()
        ax.legend(fontsize=7, loc="lower right")
        label(ax, title=f"{g} ({good} = 1)", xlabel="relative to the favourable setting",
              ylabel="")
    t = next(iter(tables.values()))
    return finish(fig, caption, suptitle=f"ShuffleNet v2 guidelines, measured ({t['spatial'].iloc[0]}"
                                          f"×{t['spatial'].iloc[0]} input, batch {t['batch_size'].iloc[0]}, "
                                          f"{t['device'].iloc[0]})")


# ---------------------------------------------------------------------------------------------
# ShuffleNet v2, Fig. 2: run-time decomposition (measured)

DECOMPOSITION_MODELS = ("shufflenet_v1_x1_0_g3", "mobilenet_v2", "shufflenet_v2_x1_0")
MEMORY_BOUND = ("elementwise", "data movement")
BATCH_NORM_OPS = ("batch_norm", "native_batch_norm", "_native_batch_norm_legit_no_training")
CONSIDERABLE_SHARE = 0.10  # "a considerable share": at least a tenth of the operator time


def decomposition_setup(budget: str, device: str = "cpu") -> dict:
    """Input side, batch, profiled repeats and warm-up passes: the paper's 224×224 at batch 1 on
    a CPU (its ARM setting) and batch 8 on a GPU; a 64×64 toy at ``smoke``."""
    on_gpu = _device_type(device) == "cuda"
    return get_budget(budget).pick(
        smoke={"side": 64, "batch": 1, "repeats": 2, "warmup": 1},
        cpu={"side": 224, "batch": 8 if on_gpu else 1, "repeats": 10, "warmup": 3},
        gpu={"side": 224, "batch": 8 if on_gpu else 1, "repeats": 20, "warmup": 10},
    )


def decomposition_result(budget: str, device: str = "cpu", seed: int = 0, *,
                         run: bool = True) -> Result | None:
    """Per-operator forward times of ShuffleNet v1 (1×, g = 3), MobileNet v2 (1×) and ShuffleNet
    v2 (1×) — the paper's Fig. 2 plus v2 itself — stored at non-smoke budgets."""
    setup = decomposition_setup(budget, device)
    config = {"budget": get_budget(budget).name, "seed": seed, "device": _device_type(device),
              "models": list(DECOMPOSITION_MODELS), **setup}
    name = f"{CHAPTER}/runtime_decomposition"
    if not run:
        return results.lookup(name, config)

    def compute() -> dict:
        out = {}
        for model_name in DECOMPOSITION_MODELS:
            torch.manual_seed(seed)
            model = create_model(model_name).to(device)
            x = torch.randn(setup["batch"], 3, setup["side"], setup["side"], device=device)
            b = runtime.runtime_breakdown(model, x, repeats=setup["repeats"], warmup=setup["warmup"])
            out[model_name] = {"ops": b.ops.to_dict("records"), "device": b.device,
                               "repeats": b.repeats}
        return {"metrics": {"breakdowns": out}}

    return results.cached(name, config, compute, device=str(device))


def breakdowns(result: Result) -> dict[str, runtime.RuntimeBreakdown]:
    return {name: runtime.RuntimeBreakdown(pd.DataFrame(b["ops"], columns=["op", "category", "calls",
                                                                           "time_ms"]),
                                           b["device"], b["repeats"])
            for name, b in result.metrics["breakdowns"].items()}


def decomposition_table(parts: dict[str, runtime.RuntimeBreakdown]) -> pd.DataFrame:
    """Share of operator time per category and model; the memory-bound share (element-wise plus
    data movement); and the same share with batch norm *folded*, i.e. its time removed from both
    sides — what a deployment that merges BN into the preceding convolution would see."""
    rows = []
    for name, b in parts.items():
        cats = b.categories().set_index("category")
        total = cats["time_ms"].sum()
        memory = sum(cats.loc[c, "time_ms"] for c in MEMORY_BOUND)
        bn = b.ops.loc[b.ops["op"].str.removeprefix("aten::").isin(BATCH_NORM_OPS), "time_ms"].sum()
        rows.append({"model": name, "operator time (ms)": total,
                     **{c: cats.loc[c, "share"] for c in runtime.CATEGORIES},
                     "memory-bound": memory / total,
                     "memory-bound, BN folded": (memory - bn) / (total - bn)})
    return pd.DataFrame(rows)


def top_operators(parts: dict[str, runtime.RuntimeBreakdown], n: int = 4) -> pd.DataFrame:
    """The ``n`` most time-consuming operators of each model, with their category and share."""
    rows = []
    for name, b in parts.items():
        total = b.ops["time_ms"].sum()
        for _, r in b.ops.head(n).iterrows():
            rows.append({"model": name, "operator": r["op"].removeprefix("aten::"),
                         "category": r["category"], "calls": r["calls"], "share": r["time_ms"] / total})
    return pd.DataFrame(rows)
