"""The chapter ``densenet_architecture``: Figs. 1-3 and Tables 1-3 of the DenseNet paper, rebuilt.

Every structural number here is read from a built model (module attributes, or tensors traced
through a forward pass), never restated: Fig. 1's connections are found by comparing each layer's
input with the feature maps produced before it, Table 1's output sizes by hooks on a 224x224
forward pass on the ``meta`` device. Quoted numbers come from the model cards
(:func:`cnnpapers.model_info`), from :data:`TABLE2` (the notes' copy of the paper's Table 2,
notes 000 and 002) and from torchvision's weight metadata, and are labelled as quotes wherever
they are shown.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd
import torch
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from torch import nn

from ..analysis.cost import ModelCost, model_cost
from ..analysis.hooks import forward_with_hooks
from ..analysis.plots import finish, label, new_figure
from ..models.densenet import DenseNet, _DenseBlock, _Transition
from ..registry import create_model, model_info

IMAGENET_DENSENETS = ("densenet121", "densenet169", "densenet201", "densenet264", "densenet161")
TABLE3_DENSENETS = IMAGENET_DENSENETS[:4]  # Table 3 has no DenseNet-161
FIG3_RESNETS = ("resnet34", "resnet50", "resnet101", "resnet152")  # the ResNets of Fig. 3
TABLE2_COLUMNS = ("C10", "C10+", "C100", "C100+", "SVHN")
TOP1, TOP1_10, TOP5, TOP5_10 = ("ImageNet top-1", "ImageNet top-1 (10-crop)", "ImageNet top-5",
                                "ImageNet top-5 (10-crop)")


# ---------------------------------------------------------------------------------------------
# models, built once per process


@functools.cache
def meta_model(name: str) -> nn.Module:
    """The registered variant ``name`` on the meta device (shapes only); shared, so read-only."""
    with torch.device("meta"):
        return create_model(name)


@functools.cache
def cost(name: str) -> ModelCost:
    """Parameters and MACs of ``name`` at its card's input size (224x224 for ImageNet nets)."""
    return model_cost(meta_model(name), model_info(name).input_size, name=name)


def params(name: str) -> int:
    return sum(p.numel() for p in meta_model(name).parameters())


def weighted_layers(model: nn.Module) -> int:
    """Convolutions and fully-connected layers: what the paper's L (and a model's name) counts."""
    return sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())


def depth_breakdown(name: str) -> str:
    """How a DenseNet's weighted layers add up: convolutions per dense layer times dense layers,
    plus transitions, stem convolutions and the classifier."""
    model = meta_model(name)
    blocks = model.dense_blocks()
    per_layer = 2 if next(iter(blocks[0].values())).bottleneck else 1
    layers = sum(b.num_layers for b in blocks)
    transitions = sum(isinstance(m, _Transition) for m in model.features)
    stem = sum(isinstance(m, nn.Conv2d) for m in model.features)
    return f"{per_layer}·{layers} + {transitions} + {stem} + 1 = {weighted_layers(model)}"


def rounds_to(printed: str, count: int) -> bool:
    """True when ``count`` (parameters) rounds to ``printed`` millions at its printed precision."""
    quoted = Decimal(printed)
    return (Decimal(count) / Decimal(10**6)).quantize(quoted) == quoted


# ---------------------------------------------------------------------------------------------
# Fig. 1: one dense block, traced


def figure1_model(growth_rate: int = 4, num_layers: int = 4, k0: int = 8,
                  seed: int = 0) -> DenseNet:
    """A small DenseNet whose first block is Fig. 1's: H_1..H_L (BN-ReLU-Conv 3x3, growth rate k)
    on k0 input maps, then a transition with θ = 0.5 and one more layer so the transition exists.

    Fig. 1 draws x_0..x_4, four composite layers H_1..H_4 and the transition after them (note 003:
    "五个小黑圈 ... x0~x4 ... H1~H4这样的四个复合函数"); it prints no k0, we take 2k.
    """
    torch.manual_seed(seed)
    return DenseNet(block_config=(num_layers, 1), growth_rate=growth_rate, num_init_features=k0,
                    bottleneck=False, compression=0.5, stem="cifar", num_classes=10,
                    in_channels=3)


@dataclass(frozen=True)
class BlockTrace:
    """What one forward pass showed about a dense block and the transition after it.

    ``readers``: one row per layer that reads the block's maps (H_1..H_L, then the transition),
    with its input channels as measured and as its module declares, and Eq. 2's count
    k0 + (ℓ-1)·k. ``edges``: one row per (source x_j, reader) whose input contains x_j's exact
    values in x_j's channel slice.
    """

    growth_rate: int
    k0: int
    num_layers: int
    readers: pd.DataFrame = field(repr=False)
    edges: pd.DataFrame = field(repr=False)

    @property
    def connections(self) -> int:
        return len(self.edges)

    @property
    def num_readers(self) -> int:
        return len(self.readers)

    def table(self) -> pd.DataFrame:
        """The readers with the chapter's column names."""
        return self.readers.rename(columns=_READER_COLUMNS)


def _transition_after(model: DenseNet, block: _DenseBlock) -> _Transition:
    children = list(model.features.children())
    following = children[children.index(block) + 1]
    if not isinstance(following, _Transition):
        raise ValueError("trace_block needs a block followed by a transition (not the last block)")
    return following


def trace_block(model: DenseNet, x: torch.Tensor, *, compression: float,
                block_index: int = 0) -> BlockTrace:
    """Run ``model`` on ``x`` and find, for every reader of dense block ``block_index``, which of
    the block's feature maps x_0..x_L its input is made of (Fig. 1, Eq. 2).

    A connection x_j → reader is counted when the reader's input holds x_j's exact values in the
    channels :meth:`_DenseBlock.feature_slices` assigns to x_j. Works for the naive and the
    memory-efficient block alike (their forward values are equal). ``compression`` is the θ the
    model was built with; the transition's expected output is ⌊θm⌋.
    """
    block = model.dense_blocks()[block_index]
    transition = _transition_after(model, block)
    layers = list(block.values())
    seen: dict[tuple[str, int], torch.Tensor] = {}

    def keep_input(key):
        return lambda module, args: seen.__setitem__(key, args[0].detach().clone())

    def keep_output(key):
        return lambda module, args, out: seen.__setitem__(key, out.detach().clone())

    handles = [block.register_forward_pre_hook(keep_input(("source", 0))),
               transition.register_forward_pre_hook(keep_input(("input", len(layers) + 1))),
               transition.register_forward_hook(keep_output(("output", len(layers) + 1)))]
    for i, layer in enumerate(layers, start=1):
        handles += [layer.register_forward_pre_hook(keep_input(("input", i))),
                    layer.register_forward_hook(keep_output(("source", i)))]
    forward_with_hooks(model, x, handles)

    slices = block.feature_slices()
    sources = [seen[("source", j)] for j in range(len(slices))]
    k, k0 = block.growth_rate, block.num_input_features
    readers, edges = [], []
    for ell in range(1, len(layers) + 2):
        tensor = seen[("input", ell)]
        read = [j for j, s in enumerate(slices)
                if s.stop <= tensor.shape[1] and torch.equal(tensor[:, s], sources[j])]
        edges += [{"source": f"x{j}", "j": j, "reader": _reader_name(ell, len(layers)),
                   "ell": ell, "channels": slices[j].stop - slices[j].start} for j in read]
        is_layer = ell <= len(layers)
        declared = layers[ell - 1].conv1.in_channels if is_layer else transition.conv.in_channels
        out = seen[("source", ell)] if is_layer else seen[("output", ell)]
        readers.append({
            "reader": _reader_name(ell, len(layers)), "ell": ell,
            "operation": _operation(layers[ell - 1] if is_layer else transition),
            "in_measured": tensor.shape[1], "in_module": declared,
            "in_formula": k0 + (ell - 1) * k, "sources_read": len(read),
            "out_measured": out.shape[1],
            "out_formula": k if is_layer else math.floor(compression * tensor.shape[1]),
            "out_rule": "k" if is_layer else f"⌊θm⌋, θ = {compression:g}",
        })
    frame = pd.DataFrame(readers)
    frame["agrees"] = ((frame["in_measured"] == frame["in_formula"])
                       & (frame["in_module"] == frame["in_formula"])
                       & (frame["sources_read"] == frame["ell"])
                       & (frame["out_measured"] == frame["out_formula"]))
    return BlockTrace(k, k0, len(layers), readers=frame, edges=pd.DataFrame(edges))


def _operation(module: nn.Module) -> str:
    """What a dense layer or transition computes, worded from its convolutions and pooling."""
    convs = [m for m in module.children() if isinstance(m, nn.Conv2d)]
    text = "-".join(f"BN-ReLU-Conv {c.kernel_size[0]}×{c.kernel_size[1]}" for c in convs)
    pool = getattr(module, "pool", None)
    if pool is not None:
        text += f" + {pool.kernel_size}×{pool.kernel_size} avg pool"
    return text


_READER_COLUMNS = {
    "reader": "layer", "ell": "ℓ", "operation": "operation", "in_measured": "input channels (measured)",
    "in_module": "input channels (module)", "in_formula": "k0 + (ℓ-1)·k",
    "sources_read": "maps x_j found in the input", "out_measured": "output channels (measured)",
    "out_formula": "expected output", "out_rule": "rule", "agrees": "agrees",
}


def _reader_name(ell: int, num_layers: int) -> str:
    return f"H{ell}" if ell <= num_layers else "transition"


def plot_dense_block(trace: BlockTrace, *, caption: str):
    """Fig. 1 from a :class:`BlockTrace`: feature maps x_j as stacks of channels, the composite
    layers H_ℓ and the transition as boxes, and one arrow per traced connection."""
    fig, ax = new_figure(width=11.0, height=4.4)
    colors = [f"C{j}" for j in range(trace.num_layers + 1)]
    step = 3.0
    map_x = {j: step * j for j in range(trace.num_layers + 1)}
    reader_x = {row.ell: map_x[row.ell - 1] + step / 2 for row in trace.readers.itertuples()}
    source_channels = dict(zip(trace.edges["j"], trace.edges["channels"]))
    for j, x0 in map_x.items():
        _draw_stack(ax, x0, source_channels[j], colors[j])
        ax.text(x0, -1.0, f"x{j}\n{source_channels[j]} maps", ha="center", va="top", fontsize=8)
    for row in trace.readers.itertuples():
        is_layer = row.ell <= trace.num_layers
        name = f"H{row.ell}" if is_layer else "Transition"
        operation = row.operation.replace("-Conv", "-\nConv").replace(" + ", "\n+ ")
        text = f"{name}\n{operation}\n{row.in_module}→{row.out_measured}"
        width = 1.3 if is_layer else 2.0
        ax.add_patch(FancyBboxPatch((reader_x[row.ell] - width / 2, -0.55), width, 1.1,
                                    boxstyle="round,pad=0.05", fc="0.93", ec="0.3"))
        ax.text(reader_x[row.ell], 0, text, ha="center", va="center", fontsize=7)
        if is_layer:  # H_ℓ produces x_ℓ
            ax.add_patch(FancyArrowPatch((reader_x[row.ell] + 0.7, 0), (map_x[row.ell] - 0.45, 0),
                                         arrowstyle="-|>", mutation_scale=10, color="0.2"))
    for edge in trace.edges.itertuples():
        start, end = map_x[edge.j] + 0.4, reader_x[edge.ell] - 0.7
        adjacent = edge.ell == edge.j + 1
        ax.add_patch(FancyArrowPatch(
            (start, 0 if adjacent else 0.55), (end, 0 if adjacent else 0.6),
            connectionstyle="arc3" if adjacent else "arc3,rad=-0.35", arrowstyle="-|>",
            mutation_scale=9, color=colors[edge.j], lw=1.2, alpha=0.85))
    span = max(reader_x.values()) + 1.2
    ax.set_xlim(-1.0, span)
    ax.set_ylim(-2.0, 0.45 * step * (trace.num_layers + 1) / 2 + 1.0)
    ax.set_axis_off()
    ax.set_title(f"Dense block with k = {trace.growth_rate}, k0 = {trace.k0}: "
                 f"{trace.connections} connections traced between {trace.num_layers + 1} feature "
                 f"maps and {trace.num_readers} layers (L(L+1)/2 = "
                 f"{trace.num_readers * (trace.num_readers + 1) // 2} for L = {trace.num_readers})",
                 fontsize=10)
    return finish(fig, caption)


def _draw_stack(ax, x: float, channels: int, color: str) -> None:
    """A feature map as a stack of slabs, one per channel (at most 12 drawn)."""
    shown = min(channels, 12)
    for i in range(shown):
        offset = 0.06 * (i - shown / 2)
        ax.add_patch(Rectangle((x - 0.3 + offset, -0.4 + offset), 0.6, 0.8, fc=color, ec="white",
                               lw=0.6, alpha=0.9))


# ---------------------------------------------------------------------------------------------
# Fig. 2 and Table 1: stages of a whole DenseNet


def stage_shapes(model: DenseNet, input_size: tuple[int, int, int]) -> pd.DataFrame:
    """Every stage of ``model`` with its output shape on one image of ``input_size``.

    One row per top-level module of ``model.features`` (a transition split into its 1x1 conv and
    its pooling), then the global average pooling (the classifier's input) and the classifier.
    Columns: ``stage``, ``kind``, ``config`` (Table 1's wording, generated from the module),
    ``channels``, ``height``, ``width``, and for dense blocks ``layers``, ``growth_rate``,
    ``in_channels``. The forward pass runs on the model's device (``meta``: no computation).
    """
    shapes: dict[str, tuple[int, ...]] = {}
    targets: list[tuple[str, nn.Module]] = []
    for name, module in model.features.named_children():
        if isinstance(module, _Transition):
            targets += [(f"{name}.conv", module.conv), (f"{name}.pool", module.pool)]
        else:
            targets.append((name, module))
    targets.append(("classifier", model.classifier))

    def remember(name):
        return lambda module, args, out: shapes.__setitem__(name, tuple(out.shape[1:]))

    handles = [m.register_forward_hook(remember(n)) for n, m in targets]
    handles.append(model.classifier.register_forward_pre_hook(
        lambda module, args: shapes.__setitem__("global_pool", (args[0].shape[1], 1, 1))))
    device = next(model.parameters()).device
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *input_size, device=device))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()

    rows = []
    last_map = None
    for name, module in targets:
        if name == "classifier":
            c = shapes["global_pool"][0]
            rows.append(_stage_row("global_pool", "global pool", f"{last_map[0]}×{last_map[1]} "
                                   "global average pool", (c, 1, 1)))
            rows.append(_stage_row(name, "fully-connected",
                                   f"{module.out_features}D fully-connected, softmax",
                                   (shapes[name][0], 1, 1)))
            continue
        shape = shapes[name]
        last_map = shape[1:]
        rows.append(_stage_row(name, *_describe(module), shape, module))
    return pd.DataFrame(rows).astype({"layers": "Int64", "growth_rate": "Int64",
                                      "in_channels": "Int64"})


def _stage_row(name: str, kind: str, config: str, shape: tuple[int, ...],
               module: nn.Module | None = None) -> dict:
    row = {"stage": name, "kind": kind, "config": config, "channels": shape[0],
           "height": shape[1], "width": shape[2], "layers": None, "growth_rate": None,
           "in_channels": None}
    if isinstance(module, _DenseBlock):
        row.update(layers=module.num_layers, growth_rate=module.growth_rate,
                   in_channels=module.num_input_features)
    elif isinstance(module, nn.Conv2d):
        row["in_channels"] = module.in_channels
    return row


def _describe(module: nn.Module) -> tuple[str, str]:
    """(kind, Table 1's wording) of one stage module."""
    if isinstance(module, _DenseBlock):
        first = next(iter(module.values()))
        convs = [c for c in (first.conv1, getattr(first, "conv2", None)) if c is not None]
        inner = ", ".join(f"{c.kernel_size[0]}×{c.kernel_size[1]} conv" for c in convs)
        return "dense block", f"[{inner}] × {module.num_layers}"
    if isinstance(module, nn.Conv2d):
        k, s = module.kernel_size, module.stride[0]
        return "convolution", f"{k[0]}×{k[1]} conv" + (f", stride {s}" if s > 1 else "")
    if isinstance(module, nn.MaxPool2d):
        return "pooling", f"{module.kernel_size}×{module.kernel_size} max pool, stride {module.stride}"
    if isinstance(module, nn.AvgPool2d):
        return "pooling", (f"{module.kernel_size}×{module.kernel_size} average pool, "
                           f"stride {module.stride}")
    if isinstance(module, nn.BatchNorm2d):
        return "batch norm", "BN"
    if isinstance(module, nn.ReLU):
        return "activation", "ReLU"
    raise TypeError(f"no Table 1 wording for {type(module).__name__}")


_FIG2_LABELS = {"convolution": "Convolution", "dense block": "Dense block",
                "pooling": "Pooling", "global pool": "Global avg pool",
                "fully-connected": "Linear"}


def plot_densenet(stages: pd.DataFrame, *, name: str, caption: str):
    """Fig. 2 from :func:`stage_shapes`: input, stem, dense blocks (one dot per layer, every pair
    of layers joined), transitions (conv + pooling), global pooling and the classifier."""
    shown = stages[~stages["kind"].isin(["batch norm", "activation"])].reset_index(drop=True)
    # a transition's conv and pool are drawn as one box, as in the paper
    boxes, i = [], 0
    while i < len(shown):
        row = shown.iloc[i]
        if row["stage"].endswith(".conv"):
            pool = shown.iloc[i + 1]
            pooling = pool["config"].replace(", stride", ",\nstride")
            boxes.append(("Transition", f"{row['config']}\n{row['in_channels']}→{row['channels']} ch"
                          f"\n{pooling}", pool, None))
            i += 2
            continue
        if row["kind"] == "dense block":
            text = (f"{row['config']}\nk = {row['growth_rate']}\n"
                    f"{row['in_channels']}→{row['channels']} ch")
        else:
            text = row["config"].replace(", ", ",\n")
        boxes.append((_FIG2_LABELS[row["kind"]], text, row,
                      int(row["layers"]) if row["kind"] == "dense block" else None))
        i += 1
    fig, ax = new_figure(width=13.0, height=3.3)
    width, gap, height = 1.55, 0.35, 1.9
    colors = {"Dense block": "#cfe3f5", "Transition": "#f7dcc4", "Convolution": "#e3e3e3",
              "Pooling": "#e3e3e3", "Global avg pool": "#e3e3e3", "Linear": "#d9ecd0"}
    for b, (title, text, row, layers) in enumerate(boxes):
        x = b * (width + gap)
        ax.add_patch(FancyBboxPatch((x, 0), width, height, boxstyle="round,pad=0.04",
                                    fc=colors[title], ec="0.3"))
        ax.text(x + width / 2, height - 0.12, title, ha="center", va="top", fontsize=8,
                weight="bold")
        ax.text(x + width / 2, height - 0.45, text, ha="center", va="top", fontsize=6.5)
        size = (f"{row['channels']}×{row['height']}×{row['width']}" if row["kind"] != "fully-connected"
                else f"{row['channels']} outputs")
        ax.text(x + width / 2, -0.15, size, ha="center", va="top", fontsize=7, color="0.25")
        if layers:
            _draw_dense_dots(ax, x + 0.12, width - 0.24, 0.2, layers)
        if b:
            ax.add_patch(FancyArrowPatch((x - gap + 0.02, height / 2), (x - 0.02, height / 2),
                                         arrowstyle="-|>", mutation_scale=9, color="0.2"))
    ax.set_xlim(-0.2, len(boxes) * (width + gap))
    ax.set_ylim(-0.5, height + 0.15)
    ax.set_axis_off()
    blocks = int((stages["kind"] == "dense block").sum())
    ax.set_title(f"{name}: {blocks} dense blocks joined by transitions; below each box its "
                 "output (channels×height×width), measured by hooks", fontsize=10)
    return finish(fig, caption)


def _draw_dense_dots(ax, x: float, width: float, y: float, layers: int) -> None:
    """Layers of a block as dots on a line, every earlier dot joined to every later one."""
    xs = np.linspace(x, x + width, layers + 1)  # x_0 and the layers' outputs
    for a in range(len(xs)):
        for b in range(a + 1, len(xs)):
            mid, height = (xs[a] + xs[b]) / 2, 0.35 * (xs[b] - xs[a]) / width
            ax.plot([xs[a], mid, xs[b]], [y, y + height, y], color="tab:blue", lw=0.25,
                    alpha=0.5)
    ax.scatter(xs, [y] * len(xs), s=5, color="tab:blue", zorder=3)


# Table 1's output-size column as the paper prints it (notes 000 and 002), row by row.
TABLE1_OUTPUT_SIZES = ("112 × 112", "56 × 56", "56 × 56", "56 × 56", "28 × 28", "28 × 28",
                       "28 × 28", "14 × 14", "14 × 14", "14 × 14", "7 × 7", "7 × 7", "1 × 1",
                       "1 × 1")
_TABLE1_KINDS = ("convolution", "pooling", "dense block", "global pool", "fully-connected")


@functools.cache
def _table1_rows(name: str) -> pd.DataFrame:
    """Table 1's rows for one network (cached: the chapter and its claims both read them)."""
    stages = stage_shapes(meta_model(name), model_info(name).input_size)
    rows = stages[stages["kind"].isin(_TABLE1_KINDS)].reset_index(drop=True)
    labels, block = [], 0
    for row in rows.itertuples():
        if row.kind == "dense block":
            block += 1
            labels.append(f"Dense Block ({block})")
        elif row.stage.endswith(".conv"):
            labels.append(f"Transition Layer ({block})")
        elif row.stage.endswith(".pool"):
            labels.append("")
        elif row.kind == "global pool":
            labels.append("Classification Layer")
        elif row.kind == "fully-connected":
            labels.append("")
        else:
            labels.append(row.kind.capitalize())
    rows["Layers"] = labels
    rows["size"] = [f"{h} × {w}" for h, w in zip(rows["height"], rows["width"])]
    return rows


def densenet_label(name: str) -> str:
    k = meta_model(name).dense_blocks()[0].growth_rate
    return f"DenseNet-{name.removeprefix('densenet')} (k = {k})"


def table1(names: tuple[str, ...] = IMAGENET_DENSENETS) -> pd.DataFrame:
    """Table 1 generated from the models: per stage, its output size at 224x224 (ours, measured,
    beside the paper's) and each network's configuration in the paper's wording."""
    per_model = {name: _table1_rows(name) for name in names}
    first = per_model[names[0]]
    for name, rows in per_model.items():
        if list(rows["size"]) != list(first["size"]):
            raise ValueError(f"{name}'s stages have other output sizes than {names[0]}'s")
    frame = pd.DataFrame({"Layers": first["Layers"], "Output size (ours)": first["size"]})
    frame["Output size (paper)"] = list(TABLE1_OUTPUT_SIZES[:len(frame)])
    frame["agree"] = frame["Output size (ours)"] == frame["Output size (paper)"]
    for name, rows in per_model.items():
        frame[densenet_label(name)] = list(rows["config"])
    return frame


def _torchvision_meta(name: str) -> dict | None:
    import torchvision

    builder = model_info(name).torchvision
    if builder is None:
        return None
    return torchvision.models.get_model_weights(builder).DEFAULT.meta


def table1_costs(names: tuple[str, ...] = IMAGENET_DENSENETS) -> pd.DataFrame:
    """Depth, parameters and MACs of the ImageNet DenseNets, ours beside what is quoted.

    Quotes: the paper (only DenseNet-201's "20M", Sec. 4.4) and torchvision's weight metadata
    (``num_params``, and ``_ops``, which torchvision labels GFLOPS but counts multiply-adds).
    """
    rows = []
    for name in names:
        model, c = meta_model(name), cost(name)
        blocks = model.dense_blocks()
        tv = _torchvision_meta(name)
        reported = model_info(name).reported
        quoted = reported.params if reported is not None else None
        rows.append({
            "model": name, "k": blocks[0].growth_rate,
            "stem channels": blocks[0].num_input_features,
            "layers per block": "-".join(str(b.num_layers) for b in blocks),
            "weighted layers (ours)": weighted_layers(model),
            "name says": int(name.removeprefix("densenet")),
            "params (ours)": c.params,
            "params, paper (M, quoted)": quoted or "–",
            "params, torchvision (quoted)": tv["num_params"] if tv else "–",
            "GMACs (ours, 224×224)": round(c.gmacs, 3),
            "GMACs, torchvision (quoted)": tv["_ops"] if tv else "–",
        })
    frame = pd.DataFrame(rows)
    frame["agree"] = [
        (row["params, torchvision (quoted)"] in ("–", row["params (ours)"]))
        and (row["GMACs, torchvision (quoted)"] == "–"
             or round(row["GMACs (ours, 224×224)"], 3) == row["GMACs, torchvision (quoted)"])
        and (row["params, paper (M, quoted)"] == "–"
             or rounds_to(row["params, paper (M, quoted)"], row["params (ours)"]))
        for _, row in frame.iterrows()]
    return frame


def channel_bookkeeping(names: tuple[str, ...]) -> pd.DataFrame:
    """Per dense block: input k0 and output m from the modules, beside k0 + n·k, and the next
    transition's output beside ⌊θm⌋ (Sec. 3, "Compression"), with θ as the variant is
    registered (0.5 for DenseNet-C/BC and the ImageNet nets, 1 otherwise)."""
    rows = []
    for name in names:
        model = meta_model(name)
        theta = _compression(name)
        children = list(model.features.children())
        for i, block in enumerate(model.dense_blocks(), start=1):
            nxt = children[children.index(block) + 1]
            transition_out = nxt.conv.out_channels if isinstance(nxt, _Transition) else None
            m = block.num_output_features
            rows.append({
                "model": name, "block": i, "layers": block.num_layers, "k": block.growth_rate,
                "k0 (module)": block.num_input_features, "m (module)": m,
                "k0 + n·k": block.num_input_features + block.num_layers * block.growth_rate,
                "θ": theta,
                "transition out (module)": transition_out if transition_out is not None else "–",
                "⌊θm⌋": math.floor(theta * m) if transition_out is not None else "–",
            })
    frame = pd.DataFrame(rows)
    frame["agree"] = ((frame["m (module)"] == frame["k0 + n·k"])
                      & (frame["transition out (module)"] == frame["⌊θm⌋"]))
    return frame


def _compression(name: str) -> float:
    from ..registry import _variant  # the variant's configured θ, as registered

    return float(_variant(name).defaults["compression"])


# ---------------------------------------------------------------------------------------------
# Table 2 (CIFAR / SVHN), as the notes print it


@dataclass(frozen=True)
class Table2Row:
    """One row of the paper's Table 2 as notes 000 and 002 print it.

    ``depth`` and ``params`` (millions) are strings as printed, ``None`` for "-"; ``errors`` in
    percent; ``starred`` the columns marked * ("results run by ourselves", i.e. the DenseNet
    authors); ``model`` our registered variant, ``None`` where we have none.
    """

    method: str
    depth: str | None
    params: str | None
    errors: dict[str, float]
    model: str | None
    starred: tuple[str, ...] = ()


def _errors(*values: float | None) -> dict[str, float]:
    return {col: v for col, v in zip(TABLE2_COLUMNS, values) if v is not None}


TABLE2: tuple[Table2Row, ...] = (
    Table2Row("Network in Network", None, None, _errors(10.41, 8.81, 35.68, None, 2.35), "nin"),
    Table2Row("All-CNN", None, None, _errors(9.08, 7.25, None, 33.71, None), None),
    Table2Row("Deeply Supervised Net", None, None, _errors(9.69, 7.97, None, 34.57, 1.92), None),
    Table2Row("Highway Network", None, None, _errors(None, 7.72, None, 32.39, None), "highway_19"),
    Table2Row("FractalNet", "21", "38.6", _errors(10.18, 5.22, 35.34, 23.30, 2.01),
              "fractalnet20"),
    Table2Row("FractalNet with Dropout/Drop-path", "21", "38.6",
              _errors(7.33, 4.60, 28.20, 23.73, 1.87), "fractalnet20_drop_path"),
    Table2Row("ResNet", "110", "1.7", _errors(None, 6.61, None, None, None), "resnet110_cifar"),
    Table2Row("ResNet (reported by [13])", "110", "1.7",
              _errors(13.63, 6.41, 44.74, 27.22, 2.01), "resnet110_cifar"),
    Table2Row("ResNet with Stochastic Depth", "110", "1.7",
              _errors(11.66, 5.23, 37.80, 24.58, 1.75), "resnet110_sd_cifar"),
    Table2Row("ResNet with Stochastic Depth", "1202", "10.2",
              _errors(None, 4.91, None, None, None), "resnet1202_sd_cifar"),
    Table2Row("Wide ResNet", "16", "11.0", _errors(None, 4.81, None, 22.07, None), "wrn_16_8"),
    Table2Row("Wide ResNet", "28", "36.5", _errors(None, 4.17, None, 20.50, None), "wrn_28_10"),
    Table2Row("Wide ResNet with Dropout", "16", "2.7", _errors(None, None, None, None, 1.64),
              "wrn_16_4_dropout"),
    Table2Row("ResNet (pre-activation)", "164", "1.7", _errors(11.26, 5.46, 35.58, 24.33, None),
              "preact_resnet164_cifar", ("C10", "C100")),
    Table2Row("ResNet (pre-activation)", "1001", "10.2",
              _errors(10.56, 4.62, 33.47, 22.71, None), "preact_resnet1001_cifar",
              ("C10", "C100")),
    Table2Row("DenseNet (k = 12)", "40", "1.0", _errors(7.00, 5.24, 27.55, 24.42, 1.79),
              "densenet_40_k12"),
    Table2Row("DenseNet (k = 12)", "100", "7.0", _errors(5.77, 4.10, 23.79, 20.20, 1.67),
              "densenet_100_k12"),
    Table2Row("DenseNet (k = 24)", "100", "27.2", _errors(5.83, 3.74, 23.42, 19.25, 1.59),
              "densenet_100_k24"),
    Table2Row("DenseNet-BC (k = 12)", "100", "0.8", _errors(5.92, 4.51, 24.15, 22.27, 1.76),
              "densenet_bc_100_k12"),
    Table2Row("DenseNet-BC (k = 24)", "250", "15.3", _errors(5.19, 3.62, 19.64, 17.60, 1.74),
              "densenet_bc_250_k24"),
    Table2Row("DenseNet-BC (k = 40)", "190", "25.6", _errors(None, 3.46, None, 17.18, None),
              "densenet_bc_190_k40"),
)
MISMATCH = "no (see remark)"
TABLE2_DENSENETS = tuple(r.model for r in TABLE2 if r.model and r.model.startswith("densenet"))


def table2_params(row: Table2Row) -> dict:
    """Our count for one Table 2 row and whether it rounds to the printed figure."""
    if row.model is None:
        return {"ours": None, "match": "quoted only (not implemented)"}
    n = params(row.model)
    if row.params is None:
        return {"ours": n, "match": "nothing printed"}
    return {"ours": n, "match": "yes" if rounds_to(row.params, n) else MISMATCH}


def table2() -> pd.DataFrame:
    """Every row of the notes' Table 2: quoted depth, params and errors beside our exact count.

    Error columns are quotes (percent; * = run by the DenseNet authors); our trained errors on
    Fashion-MNIST are in the chapter ``densenet_training``.
    """
    rows = []
    for row in TABLE2:
        ours = table2_params(row)
        entry = {
            "method": row.method, "depth (quoted)": row.depth or "–",
            "model (ours)": row.model or "— (quoted only)",
            "params (quoted, M)": row.params or "–",
            "params (ours)": f"{ours['ours']:,}" if ours["ours"] is not None else "–",
            "ours (M)": f"{ours['ours'] / 1e6:.2f}" if ours["ours"] is not None else "–",
            "match": ours["match"],
        }
        for col in TABLE2_COLUMNS:
            value = row.errors.get(col)
            star = "\\*" if col in row.starred else ""  # escaped: the table is Markdown
            entry[f"{col} (quoted)"] = f"{value:.2f}{star}" if value is not None else "–"
        rows.append(entry)
    return pd.DataFrame(rows)


def table2_remarks() -> list[tuple[tuple[str, ...], str]]:
    """(models, card remark) for the Table 2 rows whose printed count ours does not reproduce;
    models sharing a remark are listed together."""
    grouped: dict[str, list[str]] = {}
    for row in TABLE2:
        if table2_params(row)["match"] == MISMATCH:
            names = grouped.setdefault(model_info(row.model).reported.remark, [])
            if row.model not in names:
                names.append(row.model)
    return [(tuple(names), remark) for remark, names in grouped.items()]


# ---------------------------------------------------------------------------------------------
# Table 3 and Fig. 3 (ImageNet)


def _quoted_error(name: str, column: str) -> float | None:
    reported = model_info(name).reported
    return None if reported is None else reported.errors.get(column)


def table3(names: tuple[str, ...] = IMAGENET_DENSENETS) -> pd.DataFrame:
    """Table 3 (ImageNet validation error, %, single-crop / 10-crop), quoted from the cards, with
    our parameters and MACs; torchvision's single-crop errors of its released weights (quoted from
    their metadata) for reference."""
    rows = []
    for name in names:
        tv = _torchvision_meta(name)
        acc = tv["_metrics"]["ImageNet-1K"] if tv else None
        quoted = {col: _quoted_error(name, col) for col in (TOP1, TOP1_10, TOP5, TOP5_10)}
        rows.append({
            "model": name,
            "top-1 single / 10-crop (paper)": _pair(quoted[TOP1], quoted[TOP1_10]),
            "top-5 single / 10-crop (paper)": _pair(quoted[TOP5], quoted[TOP5_10]),
            "params (ours, M)": round(cost(name).params / 1e6, 2),
            "GMACs (ours)": round(cost(name).gmacs, 2),
            "top-1 / top-5, torchvision weights (quoted)":
                f"{100 - acc['acc@1']:.2f} / {100 - acc['acc@5']:.2f}" if acc else "–",
        })
    return pd.DataFrame(rows)


def _pair(a: float | None, b: float | None) -> str:
    return "–" if a is None else f"{a:.2f} / {b:.2f}"


def figure3_points() -> pd.DataFrame:
    """Fig. 3's points: x from our counters, y (top-1 error, %) quoted from the cards.

    DenseNets: Table 3, single-crop and 10-crop. ResNets: the only errors our cards quote,
    He et al. 2016 Table 3 (10-crop, their Caffe-trained stride-in-1x1 nets); the DenseNet
    paper's Fig. 3 used single-crop errors of ResNets trained with fb.resnet.torch, which the
    notes do not print. Our ResNet x-values are those fb.resnet.torch nets (torchvision's
    "v1.5", stride in the 3x3 conv).
    """
    rows = []
    for name in TABLE3_DENSENETS:
        for crop, col in (("single-crop", TOP1), ("10-crop", TOP1_10)):
            rows.append(_point("DenseNet", name, crop, _quoted_error(name, col),
                               "DenseNet paper, Table 3"))
    for name in FIG3_RESNETS:
        rows.append(_point("ResNet", name, "10-crop", _quoted_error(name, TOP1_10),
                           "He et al. 2016, Table 3 (Caffe training)"))
    return pd.DataFrame(rows)


def _point(family: str, name: str, crop: str, error: float | None, source: str) -> dict:
    if error is None:
        raise ValueError(f"the card of {name} quotes no {crop} top-1 error")
    c = cost(name)
    return {"family": family, "model": name, "crop": crop, "params_m": c.params / 1e6,
            "gmacs": c.gmacs, "top1_error": error, "source": source}


def plot_figure3(points: pd.DataFrame, *, caption: str):
    """Top-1 error (quoted) against parameters and against GMACs (ours), one line per series."""
    fig, axes = new_figure(2, width=5.6, height=4.4)
    styles = {("DenseNet", "10-crop"): dict(color="tab:blue", marker="o"),
              ("DenseNet", "single-crop"): dict(color="tab:blue", marker="o", mfc="white",
                                                linestyle="--"),
              ("ResNet", "10-crop"): dict(color="tab:red", marker="s")}
    for (family, crop), part in points.groupby(["family", "crop"], sort=False):
        part = part.sort_values("params_m")
        series = f"{family}, {crop} ({part['source'].iloc[0]})"
        for ax, column in zip(axes, ("params_m", "gmacs")):
            ax.plot(part[column], part["top1_error"], label=series, **styles[(family, crop)])
            if crop == "10-crop":
                for row in part.itertuples():
                    ax.annotate(row.model.replace("densenet", "DenseNet-").replace("resnet",
                                                                                   "ResNet-"),
                                (getattr(row, column), row.top1_error), fontsize=7,
                                xytext=(4, 3), textcoords="offset points")
    label(axes[0], title="Top-1 error vs parameters", xlabel="parameters (millions, ours)",
          ylabel="ImageNet top-1 error, % (quoted)")
    label(axes[1], title="Top-1 error vs compute",
          xlabel="GMACs per 224×224 image (ours; 1 MAC = 2 FLOPs)",
          ylabel="ImageNet top-1 error, % (quoted)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=3, frameon=False,
               bbox_to_anchor=(0.5, 0.035))
    finish(fig, caption)
    fig.subplots_adjust(bottom=0.25)
    return fig
