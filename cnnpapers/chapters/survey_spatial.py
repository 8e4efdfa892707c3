"""The chapter ``survey_spatial``: the survey's spatial-exploitation family (note 001), LeNet-5 to
Inception-v3, counted layer by layer.

Every number is read off a built model: parameters from ``parameters()``, multiply-accumulates
(MACs; 1 MAC = 2 FLOPs) from :mod:`cnnpapers.analysis.cost`'s counter, feature-map sizes from
forward hooks, receptive fields from the gradient of one output pixel. Models are built on the
``meta`` device (shapes only, no memory) except for the tiny receptive-field probes.
"""

from __future__ import annotations

import functools
import numbers
from typing import Callable, Sequence

import pandas as pd
import torch
from torch import nn

from ..analysis.cost import conv_output_size, layer_costs, model_cost
from ..analysis.hooks import forward_with_hooks
from ..models.googlenet import INCEPTION_TABLE, ConvReLU, GoogLeNet, Inception
from ..models.inception import AsymmetricConv, Factorized5x5
from ..models.lenet import SparseConv2d, Subsampling
from ..registry import create_model, model_info

FP32_BYTES = 4
GB = 10**9

# (label, module path) of the layers of each table; the labels are the papers' own names.
LENET5_LAYERS = (("C1", "features.0"), ("S2", "features.2"), ("C3", "features.4"),
                 ("S4", "features.6"), ("C5", "features.8"), ("F6", "classifier.1"),
                 ("OUTPUT", "classifier.3"))
ALEXNET_PAPER_LAYERS = (("conv1", "features.0"), ("pool1", "features.3"),
                        ("conv2", "features.4"), ("pool2", "features.7"),
                        ("conv3", "features.8"), ("conv4", "features.10"),
                        ("conv5", "features.12"), ("pool5", "features.14"),
                        ("fc6", "classifier.0"), ("fc7", "classifier.3"), ("fc8", "classifier.6"))
ALEXNET_TV_LAYERS = (("conv1", "features.0"), ("pool1", "features.2"),
                     ("conv2", "features.3"), ("pool2", "features.5"),
                     ("conv3", "features.6"), ("conv4", "features.8"),
                     ("conv5", "features.10"), ("pool5", "features.12"),
                     ("fc6", "classifier.1"), ("fc7", "classifier.4"), ("fc8", "classifier.6"))
ZFNET_LAYERS = (("conv1", "features.0"), ("pool1", "features.2"),
                ("conv2", "features.4"), ("pool2", "features.6"),
                ("conv3", "features.8"), ("conv4", "features.10"),
                ("conv5", "features.12"), ("pool5", "features.14"),
                ("fc6", "classifier.0"), ("fc7", "classifier.3"), ("fc8", "classifier.6"))

# GoogLeNet Table 1: side of the square grid each Inception module runs on at a 224x224 input.
INCEPTION_GRID = {"3a": 28, "3b": 28, "4a": 14, "4b": 14, "4c": 14, "4d": 14, "4e": 14,
                  "5a": 7, "5b": 7}
GOOGLENET_STEM_CHANNELS = 192  # conv3's output, the input of 3a (Table 1)


# ---------------------------------------------------------------------------------------------
# building and describing layers


def _frame_cache(fn: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
    """Compute a table once per process (the chapter and its claim checks share it); callers
    get a copy they may change."""
    cached = functools.cache(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs) -> pd.DataFrame:
        return cached(*args, **kwargs).copy()

    return wrapper


@functools.cache
def meta_model(name: str, **overrides) -> nn.Module:
    """The registered variant ``name`` (with ``overrides``) on the meta device; shared, read-only."""
    with torch.device("meta"):
        return create_model(name, **overrides)


def _pair(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def describe(module: nn.Module) -> str:
    """A layer in the papers' shorthand: ``conv 11×11/4, 96``, ``max-pool 3×3/2``, ``fc 9216→4096``."""
    if isinstance(module, nn.Conv2d):
        (kh, kw), (s, _) = module.kernel_size, module.stride
        text = f"conv {kh}×{kw}/{s}, {module.out_channels}"
        return text + (f", {module.groups} groups" if module.groups > 1 else "")
    if isinstance(module, SparseConv2d):
        k = module.convs[0].kernel_size[0]
        return f"conv {k}×{k}/1, {len(module.convs)}, sparse (Table I)"
    if isinstance(module, Subsampling):
        return "2×2 sub-sampling, trainable scale and bias"
    if isinstance(module, nn.Linear):
        return f"fc {module.in_features}→{module.out_features}"
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        (k, _), (s, _) = _pair(module.kernel_size), _pair(module.stride)
        kind = "max" if isinstance(module, nn.MaxPool2d) else "avg"
        return f"{kind}-pool {k}×{k}/{s}"
    return type(module).__name__


def output_shapes(model: nn.Module, input_size: Sequence[int],
                  paths: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """Per-image output shape of the modules at ``paths`` for one input of ``input_size``."""
    modules = dict(model.named_modules())
    shapes: dict[str, tuple[int, ...]] = {}
    x = torch.zeros(1, *input_size, device=next(model.parameters()).device)
    forward_with_hooks(model, x, [modules[p].register_forward_hook(
        lambda m, args, out, p=p: shapes.__setitem__(p, tuple(out.shape[1:]))) for p in paths])
    return shapes


def _shape_text(shape: Sequence[int]) -> str:
    return "×".join(map(str, shape))


@_frame_cache
def layer_table(name: str, layers: Sequence[tuple[str, str]], **overrides) -> pd.DataFrame:
    """One row per named layer of a registered model at its native input: operation, output
    shape, parameters and MACs (each summed over the layer's sub-modules), and their shares of
    the whole model's."""
    model = meta_model(name, **overrides)
    size = model_info(name).input_size
    modules = dict(model.named_modules())
    shapes = output_shapes(model, size, [p for _, p in layers])
    costs = layer_costs(model, size)
    total_params = sum(p.numel() for p in model.parameters())
    rows = []
    for label, path in layers:
        own = costs[(costs["layer"] == path) | costs["layer"].str.startswith(path + ".")]
        rows.append({"layer": label, "operation": describe(modules[path]),
                     "output (C×H×W)": _shape_text(shapes[path]),
                     "params": int(own["params"].sum()), "MACs": int(own["macs"].sum())})
    df = pd.DataFrame(rows)
    df["params share"] = df["params"] / total_params
    df["MACs share"] = df["MACs"] / int(costs["macs"].sum())
    return df


# ---------------------------------------------------------------------------------------------
# AlexNet and ZFNet


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def _params(modules: Sequence[nn.Module]) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


@_frame_cache
def alexnet_forms() -> pd.DataFrame:
    """The 2012 two-GPU AlexNet (grouped), the same net with every layer dense, and torchvision's:
    parameters of the convolutions, of the two 4096-wide hidden FC layers (fc6, fc7) and of all
    FC layers, the fp32 bytes of fc6 + fc7, and MACs (note 001: "these two huge fully connected
    layers bring nearly 1 GB of model parameters")."""
    forms = (("2012 paper, two GPUs (groups=2)", "alexnet_paper", {}),
             ("2012 paper, one dense stream (groups=1)", "alexnet_paper", {"groups": 1}),
             ("torchvision (2014 'one weird trick')", "alexnet", {}))
    rows = []
    for form, name, overrides in forms:
        model = meta_model(name, **overrides)
        fcs = linear_layers(model)
        hidden = [m for m in fcs if m.out_features == 4096]
        total = _params([model])
        convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
        rows.append({
            "form": form, "model": name, "params": total, "conv params": _params(convs),
            "fc6+fc7 params": _params(hidden), "all FC params": _params(fcs),
            "FC share": _params(fcs) / total,
            "fc6+fc7 fp32 (GB)": _params(hidden) * FP32_BYTES / GB,
            "all weights fp32 (GB)": total * FP32_BYTES / GB,
            "MACs": model_cost(model, model_info(name).input_size).macs,
        })
    return pd.DataFrame(rows)


def training_state_bytes(params: int, copies: int = 3, bytes_per_value: int = FP32_BYTES) -> int:
    """Bytes of weights, gradients and SGD momentum (``copies`` = 3) of ``params`` fp32 values."""
    return params * copies * bytes_per_value


@_frame_cache
def first_layers(names: Sequence[str] = ("alexnet_paper", "zfnet")) -> pd.DataFrame:
    """conv1 and conv2 of AlexNet (11×11/4, 5×5/1) and ZFNet (7×7/2, 5×5/2) side by side:
    their output maps, parameters and MACs, and the whole network's MACs."""
    rows = []
    for name in names:
        model = meta_model(name)
        size = model_info(name).input_size
        convs = [(p, m) for p, m in model.named_modules() if isinstance(m, nn.Conv2d)][:2]
        shapes = output_shapes(model, size, [p for p, _ in convs])
        costs = layer_costs(model, size).set_index("layer")
        row = {"model": name, "input": _shape_text(size)}
        for label, (path, conv) in zip(("conv1", "conv2"), convs):
            row[f"{label}"] = describe(conv)
            row[f"{label} output"] = _shape_text(shapes[path])
            row[f"{label} params"] = int(costs.loc[path, "params"])
            row[f"{label} MACs"] = int(costs.loc[path, "macs"])
        row["network MACs"] = int(costs["macs"].sum())
        rows.append(row)
    return pd.DataFrame(rows)


def first_layers_long(names: Sequence[str] = ("alexnet_paper", "zfnet")) -> pd.DataFrame:
    """:func:`first_layers` with one column per model and numbers as text, for reading."""
    wide = first_layers(names).set_index("model")
    text = wide.apply(lambda col: col.map(lambda v: f"{v:,}" if isinstance(v, numbers.Integral) else str(v)))
    return text.T.rename_axis("").reset_index()


# ---------------------------------------------------------------------------------------------
# receptive fields and stacked small kernels (VGG; Inception-v3)


def receptive_field(module: nn.Module, in_channels: int, size: int = 33) -> tuple[int, int]:
    """(height, width) of the input region that the centre output pixel of ``module`` depends on.

    Measured, not derived: a copy of ``module`` with every weight set to 1 (so no contribution
    can cancel) runs on a ``size`` x ``size`` input, and the extent of the non-zero gradient of
    the centre output pixel with respect to the input is the receptive field.
    """
    probe = _positive_copy(module)
    x = torch.zeros(1, in_channels, size, size, requires_grad=True)
    out = probe(x)
    h, w = out.shape[-2:]
    out[0, :, h // 2, w // 2].sum().backward()
    touched = x.grad[0].abs().sum(0) > 0
    rows, cols = touched.any(1).nonzero(), touched.any(0).nonzero()
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


def _positive_copy(module: nn.Module) -> nn.Module:
    import copy

    probe = copy.deepcopy(module).to("cpu").eval()
    with torch.no_grad():
        for param in probe.parameters():
            param.fill_(1.0)
    return probe


def plain_conv(in_channels: int, out_channels: int, **kwargs) -> nn.Conv2d:
    """A convolution without bias or BN: the weights a kernel-size comparison is about."""
    return nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)


def _stack_3x3(channels: int, n: int) -> nn.Sequential:
    return nn.Sequential(*(plain_conv(channels, channels, kernel_size=3, padding=1)
                           for _ in range(n)))


def _count(build: Callable[[int], nn.Module], channels: int, spatial: int) -> tuple[int, int]:
    """(weights, MACs) of ``build(channels)`` on a ``channels`` x ``spatial`` x ``spatial`` input,
    built on the meta device."""
    with torch.device("meta"):
        module = build(channels)
    return sum(p.numel() for p in module.parameters()), model_cost(module, (channels, spatial, spatial)).macs


# The receptive field does not depend on the number of channels: measure it on narrow copies.
_RF_CHANNELS = 2


def _rf_text(build: Callable[[int], nn.Module], kernel: int) -> str:
    h, w = receptive_field(build(_RF_CHANNELS), _RF_CHANNELS, size=4 * kernel + 1)
    return f"{h}×{w}"


@_frame_cache
def stacked_kernels(channels: int = 256, spatial: int = 56, stacks: Sequence[int] = (2, 3)
                    ) -> pd.DataFrame:
    """n stacked 3×3 convolutions against one (2n+1)×(2n+1) convolution, C → C channels on a
    ``spatial`` grid (VGG, Simonyan & Zisserman 2015, Sec. 2.3): measured receptive field,
    weights (n·9·C² vs (2n+1)²·C²), MACs and the number of nonlinearities in between."""
    rows = []
    for n in stacks:
        k = 2 * n + 1
        forms = ((f"{n} × 3×3", functools.partial(_stack_3x3, n=n), n),
                 (f"1 × {k}×{k}", lambda c, k=k, n=n: plain_conv(c, c, kernel_size=k, padding=n), 1))
        for form, build, relus in forms:
            params, macs = _count(build, channels, spatial)
            rows.append({"stack": n, "form": form, "receptive field": _rf_text(build, k),
                         "weights": params, "weights / C²": params / channels**2, "MACs": macs,
                         "ReLUs": relus})
    return pd.DataFrame(rows)


@_frame_cache
def vgg_costs(names: Sequence[str] = ("vgg11", "vgg13", "vgg16", "vgg19")) -> pd.DataFrame:
    """VGG's columns A, B, D, E (Table 1): parameters beside Table 2's quoted millions, the share
    held by the three FC layers, and MACs at 224×224."""
    rows = []
    for name in names:
        model, card = meta_model(name), model_info(name)
        fcs = linear_layers(model)
        total = _params([model])
        rows.append({"model": name, "weight layers": card.depth, "params": total,
                     "quoted params (M)": card.reported.params,
                     "agrees": card.reported.params_match(total),
                     "FC share of params": _params(fcs) / total,
                     "MACs": model_cost(model, card.input_size).macs})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# GoogLeNet: the Inception module, its 1x1 reductions, global average pooling


class NaiveInception(nn.Module):
    """The Inception module without dimension reductions (Szegedy et al. 2015, Fig. 2(a)): 1×1,
    3×3 and 5×5 convolutions and a 3×3 max-pool on the same input, concatenated. The pooling
    branch passes all input channels through, so the output is wider than the input."""

    def __init__(self, in_channels: int, ch1x1: int, ch3x3: int, ch5x5: int,
                 conv_block: Callable[..., nn.Module] = ConvReLU):
        super().__init__()
        self.branch1 = conv_block(in_channels, ch1x1, kernel_size=1)
        self.branch2 = conv_block(in_channels, ch3x3, kernel_size=3, padding=1)
        self.branch3 = conv_block(in_channels, ch5x5, kernel_size=5, padding=2)
        self.branch4 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


def inception_inputs() -> dict[str, int]:
    """Input channels of each Inception module, chained from Table 1's output widths."""
    channels, inputs = GOOGLENET_STEM_CHANNELS, {}
    for name, (c1, _, c3, _, c5, pool) in INCEPTION_TABLE.items():
        inputs[name] = channels
        channels = c1 + c3 + c5 + pool
    return inputs


def inception_block(name: str = "3a", **kwargs) -> Inception:
    """The library's Inception module (note 001's class, argument for argument) for a row of
    Table 1."""
    return Inception(inception_inputs()[name], *INCEPTION_TABLE[name], **kwargs)


@_frame_cache
def inception_branches(name: str = "3a") -> pd.DataFrame:
    """The four branches of an Inception module at its Table 1 grid: layers, output shape,
    parameters and MACs; the last row is the concatenation."""
    block = inception_block(name).to("meta")
    size = (inception_inputs()[name], INCEPTION_GRID[name], INCEPTION_GRID[name])
    paths = ["branch1", "branch2", "branch3", "branch4"]
    shapes = output_shapes(block, size, paths + [""])
    costs = layer_costs(block, size)
    rows = []
    for path in paths:
        module = block.get_submodule(path)
        layers = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.MaxPool2d))]
        own = costs[costs["layer"].str.startswith(path + ".") | (costs["layer"] == path)]
        rows.append({"branch": path, "layers": " → ".join(describe(m) for m in layers),
                     "output (C×H×W)": _shape_text(shapes[path]),
                     "params": int(own["params"].sum()), "MACs": int(own["macs"].sum())})
    rows.append({"branch": "concatenation", "layers": "torch.cat(dim=1)",
                 "output (C×H×W)": _shape_text(shapes[""]),
                 "params": int(costs["params"].sum()), "MACs": int(costs["macs"].sum())})
    return pd.DataFrame(rows)


@_frame_cache
def reduction_savings() -> pd.DataFrame:
    """Each of GoogLeNet's nine Inception modules (Table 1, the paper's layers: biases, real
    5×5) with its 1×1 reductions (Fig. 2(b)) against the naive module (Fig. 2(a)) with the same
    1×1/3×3/5×5 output widths, on the same input and grid: parameters, MACs, output width."""
    rows = []
    inputs = inception_inputs()
    for name, (c1, c3r, c3, c5r, c5, pool) in INCEPTION_TABLE.items():
        size = (inputs[name], INCEPTION_GRID[name], INCEPTION_GRID[name])
        with torch.device("meta"):
            reduced = Inception(inputs[name], c1, c3r, c3, c5r, c5, pool, conv_block=ConvReLU)
            naive = NaiveInception(inputs[name], c1, c3, c5)
        r, n = model_cost(reduced, size), model_cost(naive, size)
        rows.append({"module": name, "input (C×H×W)": _shape_text(size),
                     "params (1×1 reductions)": r.params, "params (naive)": n.params,
                     "MACs (1×1 reductions)": r.macs, "MACs (naive)": n.macs,
                     "MACs naive / reduced": n.macs / r.macs,
                     "output C (reductions)": reduced.out_channels,
                     "output C (naive)": naive.out_channels})
    return pd.DataFrame(rows)


def same_size_padding() -> pd.DataFrame:
    """Note 001: with stride 1 and padding 0, 1, 2, the 1×1, 3×3 and 5×5 branches keep the
    grid, so they can be concatenated; checked on the grids of Table 1."""
    rows = []
    for grid in sorted(set(INCEPTION_GRID.values()), reverse=True):
        row = {"input side": grid}
        for k in (1, 3, 5):
            row[f"{k}×{k}, pad {(k - 1) // 2}"] = conv_output_size(grid, k, 1, (k - 1) // 2)
        rows.append(row)
    return pd.DataFrame(rows)


def _without_gap(model: GoogLeNet) -> GoogLeNet:
    """GoogLeNet with its global average pool replaced by flattening the 7×7×1024 map into the
    classifier (the FC head the paper's Sec. 5 moved away from)."""
    model.avgpool = nn.Identity()
    model.fc = nn.Linear(7 * 7 * model.fc.in_features, model.fc.out_features, device="meta")
    return model


def _vgg_with_gap(model: nn.Module) -> nn.Module:
    """VGG-16 with its three FC layers replaced by global average pooling and one linear layer."""
    model.avgpool = nn.AdaptiveAvgPool2d(1)
    model.classifier = nn.Linear(512, 1000, device="meta")
    return model


@_frame_cache
def gap_vs_fc() -> pd.DataFrame:
    """What "GAP instead of FC: 138 million to 4 million" (note 001) can mean, counted: VGG-16
    and GoogLeNet as built, each with the other kind of head, and the parameters and MACs of
    the head alone."""
    import copy

    vgg, goo = meta_model("vgg16"), meta_model("googlenet_paper")
    forms = (("VGG-16 (three FC layers)", vgg, lambda m: m.classifier),
             ("VGG-16 with GAP + one FC", _vgg_with_gap(copy.deepcopy(vgg)), lambda m: m.classifier),
             ("GoogLeNet (GAP + one FC, Table 1)", goo, lambda m: m.fc),
             ("GoogLeNet with a flattened 7×7 FC head", _without_gap(copy.deepcopy(goo)),
              lambda m: m.fc))
    rows = []
    for form, model, head in forms:
        cost = model_cost(model, (3, 224, 224))
        head_modules = [m for m in head(model).modules() if isinstance(m, nn.Linear)]
        head_macs = sum(m.in_features * m.out_features for m in head_modules)
        rows.append({"network": form, "params": cost.params, "head params": _params(head_modules),
                     "MACs": cost.macs, "head MACs": head_macs,
                     "head share of MACs": head_macs / cost.macs})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Inception-v3 factorisation


@_frame_cache
def factorisations(channels: int = 192, spatial: int = 35) -> pd.DataFrame:
    """Inception-v3's factorisations (Szegedy et al. 2016, Sec. 3), C → C → C channels on a
    ``spatial`` grid, convolutions without bias or BN: a 5×5 as two 3×3 (Fig. 1), and n×n as
    1×n then n×1 (Fig. 3) for n = 3 and the n = 7 of the 17×17 modules. Weights, MACs, measured
    receptive fields, and the savings."""
    def square(k: int) -> Callable[[int], nn.Module]:
        return lambda c: plain_conv(c, c, kernel_size=k, padding=k // 2)

    cases = (("5×5 → two 3×3", 5, square(5),
              lambda c: Factorized5x5(c, c, conv_block=plain_conv)),
             ("3×3 → 1×3 + 3×1", 3, square(3),
              lambda c: AsymmetricConv(c, c, 3, conv_block=plain_conv)),
             ("7×7 → 1×7 + 7×1", 7, square(7),
              lambda c: AsymmetricConv(c, c, 7, conv_block=plain_conv)))
    rows = []
    for case, k, original, factorised in cases:
        p0, m0 = _count(original, channels, spatial)
        p1, m1 = _count(factorised, channels, spatial)
        rows.append({"factorisation": case, "weights before": p0, "weights after": p1,
                     "weight ratio": p1 / p0, "weights saved": 1 - p1 / p0,
                     "MACs before": m0, "MACs after": m1, "MACs saved": 1 - m1 / m0,
                     "receptive field before": _rf_text(original, k),
                     "receptive field after": _rf_text(factorised, k)})
    return pd.DataFrame(rows)


@_frame_cache
def kernel_census(name: str = "inception_v3") -> pd.DataFrame:
    """How many convolutions of each kernel shape a registered model has (and their weights)."""
    model = meta_model(name)
    counts: dict[str, list[int]] = {}
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            kh, kw = m.kernel_size
            entry = counts.setdefault(f"{kh}×{kw}", [0, 0])
            entry[0] += 1
            entry[1] += m.weight.numel()
    df = pd.DataFrame([{"kernel": k, "convolutions": c, "weights": w}
                       for k, (c, w) in counts.items()])
    return df.sort_values(["convolutions", "kernel"], ascending=[False, True], ignore_index=True)


# ---------------------------------------------------------------------------------------------
# figure


def plot_layer_shares(tables: dict[str, pd.DataFrame], *, caption: str):
    """Share of parameters and of MACs per layer, one panel per :func:`layer_table` (layers
    without either, such as pooling, are left out)."""
    from ..analysis.plots import finish, label, new_figure

    fig, axes = new_figure(len(tables), width=5.4, height=3.9, squeeze=False)
    for ax, (title, df) in zip(axes, tables.items()):
        df = df[(df["params"] > 0) | (df["MACs"] > 0)]
        x = range(len(df))
        ax.bar([i - 0.2 for i in x], 100 * df["params share"], width=0.4, label="parameters")
        ax.bar([i + 0.2 for i in x], 100 * df["MACs share"], width=0.4, label="MACs")
        ax.set_xticks(list(x), df["layer"], rotation=45, ha="right")
        ax.legend(fontsize=8)
        label(ax, title=title, xlabel="layer", ylabel="share of the network (%)")
    return finish(fig, caption, suptitle="Where the parameters and the multiply-accumulates are")
