"""DenseNet weight reuse: the heatmap of the DenseNet paper's Fig. 5 (notes 000 "深层实验", 003).

Inside a dense block, layer ℓ's first convolution reads the concatenation [x_0, x_1, ..., x_{ℓ-1}]
(x_0 = the block input with k_0 maps, x_s = layer s's k new maps). Its weight ``W`` therefore
splits along the input-channel axis into one slice per *source* s. The paper colours pixel
(s, ℓ) by "the average L1 norm (normalized by number of input feature-maps) of the weights
connecting convolutional layer s to ℓ"; we compute

    value(s, ℓ) = mean |W[:, channels of x_s, ...]|

the mean absolute weight over the slice (the L1 norm of the slice divided by its number of
entries: input maps of the source x output maps x kernel area), so sources with k_0 and k maps,
and targets with different kernels, are comparable. With bottlenecks (DenseNet-B/BC) the layer
that reads the concatenation is the 1x1 conv (``conv1``). The transition layer after the block
(its 1x1 conv), and after the last block the classifier, read all L+1 sources and are one more
target column, as in the paper.

Works on any DenseNet with torchvision's module names — ``features.denseblockN.denselayerM.conv1``,
``features.transitionN.conv``, ``classifier`` — i.e. torchvision's and ``cnnpapers``'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn

from .plots import finish, label, new_figure

_BLOCK = re.compile(r"(?:^|\.)denseblock(\d+)$")


@dataclass(frozen=True)
class _Block:
    number: int
    readers: list[nn.Module]  # conv1 of layers 1..L
    next_reader: nn.Module  # transition conv, or the classifier after the last block
    next_name: str  # "transition" or "classifier"


def _first(module: nn.Module, kind: type[nn.Module]) -> nn.Module:
    for m in module.modules():
        if isinstance(m, kind):
            return m
    raise ValueError(f"{type(module).__name__} contains no {kind.__name__}")


def _dense_blocks(model: nn.Module) -> list[_Block]:
    modules = dict(model.named_modules())
    found = sorted((int(m.group(1)), name) for name in modules if (m := _BLOCK.search(name)))
    if not found:
        raise ValueError(f"{type(model).__name__} has no module named like 'features.denseblock1'; "
                         "weight_reuse needs a DenseNet with torchvision's module names")
    blocks = []
    for i, (number, name) in enumerate(found):
        layers = list(modules[name].children())
        readers = [layer.conv1 if hasattr(layer, "conv1") else _first(layer, nn.Conv2d)
                   for layer in layers]
        if i + 1 < len(found):
            prefix = name[: -len(f"denseblock{number}")]
            transition = modules.get(f"{prefix}transition{number}")
            if transition is None:
                raise ValueError(f"no transition{number} after {name}")
            blocks.append(_Block(number, readers, _first(transition, nn.Conv2d), "transition"))
        else:
            head = getattr(model, "classifier", None)
            head = head if isinstance(head, nn.Linear) else [m for m in model.modules()
                                                             if isinstance(m, nn.Linear)][-1]
            blocks.append(_Block(number, readers, head, "classifier"))
    return blocks


def _in_channels(module: nn.Module) -> int:
    return module.in_features if isinstance(module, nn.Linear) else module.in_channels


def source_slices(block: _Block) -> list[slice]:
    """Channels of x_0, x_1, ..., x_L in the concatenation, from the readers' input widths."""
    widths = [_in_channels(r) for r in block.readers] + [_in_channels(block.next_reader)]
    if any(b <= a for a, b in zip(widths, widths[1:])):
        raise ValueError(f"dense block {block.number}: input widths {widths} do not grow layer by "
                         "layer; is this a DenseNet?")
    bounds = [0] + widths
    return [slice(a, b) for a, b in zip(bounds, bounds[1:])]


@dataclass(frozen=True)
class WeightReuse:
    """Tidy ``frame`` with columns block, source, target, target_name, value (see module doc).

    ``source`` is 0 for the block input and s for layer s; ``target`` is ℓ = 1..L for the layers
    and L+1 for the transition/classifier, whose ``target_name`` is "transition"/"classifier"
    (layers are named "1".."L"). Only pairs with source < target exist.
    """

    frame: pd.DataFrame

    @property
    def blocks(self) -> list[int]:
        return sorted(self.frame["block"].unique().tolist())

    def matrix(self, block: int) -> pd.DataFrame:
        """Sources (rows, 0 = block input) x targets (columns "1".."L", then the extra target)."""
        part = self.frame[self.frame["block"] == block]
        order = part.sort_values("target")["target_name"].unique()
        mat = part.pivot(index="source", columns="target_name", values="value")
        return mat.reindex(columns=order).sort_index()


def weight_reuse(model: nn.Module) -> WeightReuse:
    """Mean |w| that each layer (and transition/classifier) gives each earlier source, per block."""
    rows = []
    for block in _dense_blocks(model):
        slices = source_slices(block)
        targets = block.readers + [block.next_reader]
        names = [str(i) for i in range(1, len(block.readers) + 1)] + [block.next_name]
        for t, (reader, name) in enumerate(zip(targets, names), start=1):
            weight = reader.weight.detach().float().abs()
            for s in range(t):  # target ℓ reads sources 0..ℓ-1
                rows.append({"block": block.number, "source": s, "target": t,
                             "target_name": name, "value": weight[:, slices[s]].mean().item()})
    return WeightReuse(pd.DataFrame(rows, columns=["block", "source", "target", "target_name",
                                                   "value"]))


def plot_weight_reuse(reuse: WeightReuse, *, caption: str, normalise: bool = True):
    """One triangular heatmap per dense block, as in the paper's Fig. 5.

    Source layer s on the vertical axis (0 = block input, top row), target layer ℓ on the
    horizontal axis, the transition/classifier as the last column, framed. ``normalise`` divides
    each block by its largest value (colours compare within a block, as in the paper's 0-1 bar).
    """
    blocks = reuse.blocks
    fig, axes = new_figure(len(blocks), width=4.2, height=4.0, squeeze=False)
    for ax, block in zip(axes, blocks):
        mat = reuse.matrix(block)
        values = mat.to_numpy(dtype=float)
        if normalise:
            values = values / np.nanmax(values)
        image = ax.imshow(np.ma.masked_invalid(values), cmap="jet", aspect="auto",
                          vmin=0 if normalise else None, vmax=1 if normalise else None)
        ax.set_xticks(range(mat.shape[1]), [c[0].upper() if not c.isdigit() else c
                                            for c in mat.columns], fontsize=7)
        ax.set_yticks(range(mat.shape[0]), [str(s) for s in mat.index], fontsize=7)
        ax.grid(False)
        last = mat.shape[1] - 1
        ax.add_patch(_frame(last, mat.shape[0]))
        label(ax, title=f"Dense block ({block})", xlabel="target layer ℓ (last: "
              f"{mat.columns[-1]})", ylabel="source layer s (0 = block input)")
        fig.colorbar(image, ax=ax, shrink=0.8,
                     label="mean |w| / block max" if normalise else "mean |w|")
    return finish(fig, caption, suptitle="Average absolute weight from source s to target ℓ")


def _frame(column: int, rows: int):
    from matplotlib.patches import Rectangle

    return Rectangle((column - 0.5, -0.5), 1, rows, fill=False, edgecolor="black", linewidth=1.5)


def set_reuse_weights(model: nn.Module, value: Callable[[int, int, int], float]) -> None:
    """Fill each reader's slice for (block, source s, target ℓ) with ``±value(block, s, ℓ)``.

    Signs alternate along the output-channel axis so that only the *absolute* weight is constant;
    used by the tests (a tiny DenseNet whose heatmap is known exactly) and handy for checking a
    new DenseNet implementation against this instrument.
    """
    with torch.no_grad():
        for block in _dense_blocks(model):
            slices = source_slices(block)
            for t, reader in enumerate(block.readers + [block.next_reader], start=1):
                w = reader.weight
                sign = torch.ones(w.shape[0], dtype=w.dtype, device=w.device)
                sign[1::2] = -1
                sign = sign.view(-1, *([1] * (w.dim() - 1)))
                for s in range(t):
                    w[:, slices[s]] = sign * value(block.number, s, t)
