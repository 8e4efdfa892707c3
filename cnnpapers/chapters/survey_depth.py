"""The chapter ``survey_depth``: the survey's "Depth based CNNs" (note 001) — ResNet's basic block,
the degradation problem, gradient flow, and highway networks.

The runs are declared in :mod:`cnnpapers.experiments.survey_depth`; this module turns their
results into tables, figures and the statistics that the claims (:mod:`cnnpapers.claims.
survey_depth`) judge. Quoted numbers come from the model cards (``card.reported``) and are
labelled as quotes wherever they are shown.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import augment as A
from .. import experiments
from ..analysis.cost import model_cost
from ..analysis.gradflow import compare_gradient_flow
from ..analysis.hooks import forward_with_hooks
from ..analysis.plots import finish, label, new_figure
from ..analysis.seedruns import Difference, difference
from ..budgets import get_budget
from ..data import load_dataset
from ..experiments.survey_depth import ARCHS, CHAPTER, CPU_SECONDS_PER_IMAGE, Arch, plan
from ..models.highway import _HighwayConv
from ..models.resnet import BasicBlock, PlainBlock, ZeroPadShortcut, conv1x1
from ..registry import create_model, model_info
from ..results import Result
from ..schedules import get_schedule
from ..train import derive_seed

Runs = dict[str, list[Result]]  # architecture key -> its results, one per seed

# The smallest difference in final error read as a difference; the margin is larger where the
# seeds' spread or the sampling error of the images measured says so (analysis.seedruns).
MIN_GAP = 0.01


# ---------------------------------------------------------------------------------------------
# The residual block of the note (note 001, "Residual Block": torchvision's BasicBlock)


def block_signature_table() -> pd.DataFrame:
    """The constructor arguments of the note's ``BasicBlock`` (torchvision's) beside ours."""
    import torchvision.models.resnet as tv

    def params(cls) -> dict[str, str]:
        sig = inspect.signature(cls.__init__)
        return {n: ("—" if p.default is p.empty else repr(p.default))
                for n, p in sig.parameters.items() if n != "self"}

    note, ours = params(tv.BasicBlock), params(BasicBlock)
    names = list(note) + [n for n in ours if n not in note]
    return pd.DataFrame([{"argument": n, "note 001 / torchvision default": note.get(n, "(absent)"),
                          "cnnpapers default": ours.get(n, "(absent)")} for n in names])


@dataclass(frozen=True)
class BlockParity:
    same_state_dict_keys: bool
    max_abs_difference: float  # eval-mode outputs, after loading torchvision's weights into ours
    arguments_in_order: bool  # the note's arguments are ours, in the note's order


def block_parity(inplanes: int = 16, planes: int = 32, stride: int = 2,
                 seed: int = 0) -> BlockParity:
    """Build torchvision's ``BasicBlock`` (the note's code) and ours with a projection shortcut,
    load torchvision's random weights into ours strictly, and compare the outputs."""
    import torchvision.models.resnet as tv

    def projection() -> nn.Module:
        return nn.Sequential(conv1x1(inplanes, planes, stride), nn.BatchNorm2d(planes))

    torch.manual_seed(seed)
    theirs = tv.BasicBlock(inplanes, planes, stride, projection())
    ours = BasicBlock(inplanes, planes, stride, projection())
    with torch.no_grad():  # non-trivial BN statistics, so eval mode is a real test
        for m in theirs.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, inplanes, 8, 8, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        diff = (ours.eval()(x) - theirs.eval()(x)).abs().max().item()
    note_args = list(inspect.signature(tv.BasicBlock.__init__).parameters)
    our_args = list(inspect.signature(BasicBlock.__init__).parameters)
    return BlockParity(set(ours.state_dict()) == set(theirs.state_dict()), diff,
                       our_args[:len(note_args)] == note_args)


def block_shapes(channels: int = 16, size: int = 28, batch: int = 2) -> pd.DataFrame:
    """Output shape and parameters of the block in the forms the CIFAR nets use, on one tensor."""
    wide = 2 * channels
    forms = [
        ("BasicBlock, identity shortcut (Eq. 1)", BasicBlock(channels, channels)),
        ("BasicBlock, stride 2, zero-padding shortcut (option A)",
         BasicBlock(channels, wide, 2, ZeroPadShortcut(channels, wide, 2))),
        ("BasicBlock, stride 2, 1x1 projection shortcut (Eq. 2, option B)",
         BasicBlock(channels, wide, 2, nn.Sequential(conv1x1(channels, wide, 2),
                                                     nn.BatchNorm2d(wide)))),
        ("PlainBlock (no shortcut), stride 2", PlainBlock(channels, wide, 2)),
    ]
    x = torch.randn(batch, channels, size, size)
    rows = []
    for name, block in forms:
        with torch.no_grad():
            y = block.eval()(x)
        rows.append({"block": name, "input (N, C, H, W)": str(tuple(x.shape)),
                     "output (N, C, H, W)": str(tuple(y.shape)),
                     "parameters": sum(p.numel() for p in block.parameters())})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Runs and their curves


def collect(budget: str, *, device: str | None = None, run: bool = True,
            keys: Iterable[str] | None = None) -> Runs | None:
    """The chapter's results by architecture key (trained now if ``run``, else only looked up:
    ``None`` when one is not stored)."""
    wanted = set(keys) if keys is not None else set(ARCHS)
    out: Runs = {}
    for e in experiments.experiments(budget, CHAPTER):
        key = e.name.split("/")[1]
        if key not in wanted:
            continue
        result = experiments.run(e, device=device) if run else experiments.lookup(e)
        if result is None:
            return None
        out.setdefault(key, []).append(result)
    return out


def optimiser_steps(runs: Runs) -> int:
    """Optimiser steps of each run (they all share the plan)."""
    m = next(iter(runs.values()))[0].metrics
    return m["epochs"] * (m["train_images"] // m["batch_size"])


def setup_table(runs: Runs) -> pd.DataFrame:
    """What the runs really got (from their stored metrics): schedule, data, epochs, steps, seeds."""
    m = next(iter(runs.values()))[0].metrics
    seeds = sorted({r.config["seed"] for results in runs.values() for r in results})
    return pd.DataFrame([
        ("schedule", get_schedule(m["schedule"]).describe()),
        ("augmentation", m["augmentation"]),
        ("training images", f"{m['train_images']:,}"),
        ("test images", f"{m['test_images']:,}"),
        ("epochs", str(m["epochs"])),
        ("optimiser steps", f"{optimiser_steps(runs):,} at batch {m['batch_size']}"),
        ("seeds", ", ".join(map(str, seeds))),
    ], columns=["setting", "value"])


def cpu_minutes(keys: Iterable[str] = tuple(ARCHS), speedup: float = 1.6) -> float:
    """Estimated minutes of the ``cpu`` plan's runs on two idle cores (see
    :data:`~cnnpapers.experiments.survey_depth.CPU_SECONDS_PER_IMAGE`)."""
    p = plan("cpu")
    seconds = sum(len(p.seeds) * p.epochs * (p.train_images * CPU_SECONDS_PER_IMAGE[k][0]
                                             + p.test_images * CPU_SECONDS_PER_IMAGE[k][1])
                  for k in keys)
    return seconds / speedup / 60


def final_table(runs: Runs, keys: Sequence[str]) -> pd.DataFrame:
    """Final training and test error (%) of each architecture: mean over seeds, and the spread."""
    rows = []
    for key in keys:
        train = np.array(final_values(runs, key, "train_error")) * 100
        test = np.array(final_values(runs, key, "test_error")) * 100
        rows.append({"net": key, "model": ARCHS[key].model, "depth": ARCHS[key].depth,
                     "parameters": runs[key][0].metrics["parameters"], "seeds": len(train),
                     "final training error (%)": train.mean(),
                     "training error spread (max-min, %)": np.ptp(train),
                     "final test error (%)": test.mean(),
                     "test error spread (max-min, %)": np.ptp(test)})
    return pd.DataFrame(rows)


def final_values(runs: Runs, key: str, column: str) -> list[float]:
    """The last epoch's ``column`` (``train_error`` or ``test_error``) of every seed of ``key``."""
    return [r.metrics[column] for r in runs[key]]


def gap(runs: Runs, first: str, second: str, column: str = "train_error") -> Difference:
    """``mean(first) − mean(second)`` of a final error, with its noise margin (seeds, and the
    sampling error of an error rate on that many training or test images)."""
    images = runs[first][0].metrics["train_images" if column == "train_error" else "test_images"]
    return difference(final_values(runs, first, column), final_values(runs, second, column),
                      min_margin=MIN_GAP, n=images)


def describe_gap(first: str, second: str, d: Difference, column: str = "train_error") -> str:
    what = column.replace("_", " ")
    return f"{first} − {second} final {what}: {d.diff * 100:+.2f} points ({d.noise()})"


# ---------------------------------------------------------------------------------------------
# Gradient flow


def probe_images(budget: str) -> int:
    """Images in the batch of the initialisation probes: fewer at ``smoke``, which only checks
    that the page runs."""
    return get_budget(budget).pick(smoke=32, cpu=128, gpu=128)


def probe_batch(n: int = 128, dataset: str = "fashion-mnist") -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` class-balanced training images, normalised as the training engine feeds them."""
    data = load_dataset(dataset, "train").subset(n, seed=0)
    return A.normalize(data.images, data.mean, data.std), data.labels


def build(arch: Arch | str, seed: int = 0, num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """The architecture as the engine initialises it for ``seed``."""
    arch = ARCHS[arch] if isinstance(arch, str) else arch
    torch.manual_seed(derive_seed(seed, "init"))
    return create_model(arch.model, num_classes=num_classes, in_channels=in_channels,
                        **arch.model_kwargs)


@functools.lru_cache(maxsize=4)
def _gradient_flow_at_init(keys: tuple[str, ...], n: int, seed: int) -> pd.DataFrame:
    # float64, so the probe's digits do not depend on which fp32 kernels the CPU happens to run;
    # train mode: BN on batch statistics
    x, y = probe_batch(n)
    models = {k: build(k, seed).double().train() for k in keys}
    return compare_gradient_flow(models, x.double(), y)


def gradient_flow_at_init(keys: Sequence[str], n: int = 128, seed: int = 0) -> pd.DataFrame:
    """Per-layer gradient norms of freshly initialised nets on one batch of ``n`` images."""
    return _gradient_flow_at_init(tuple(keys), n, seed).copy()


def gradient_spread(frame: pd.DataFrame, by: Sequence[str] = ("model",)) -> pd.DataFrame:
    """How unevenly the gradient reaches the layers: the geometric mean of ‖∂L/∂W‖ over the
    input-side third of the weighted layers divided by that over the output-side third (the
    classifier excluded). ``orders`` = log10 of that ratio: > 0, larger gradients near the input
    (exploding towards it); < 0, smaller (vanishing)."""
    rows = []
    for group, part in frame.groupby(list(by), sort=False):
        part = part.sort_values("depth")
        norms = part["weight_grad_norm"].to_numpy()[:-1]  # drop the classifier (last layer)
        k = max(1, len(norms) // 3)
        first, last = np.exp(np.log(norms[:k]).mean()), np.exp(np.log(norms[-k:]).mean())
        keys = group if isinstance(group, tuple) else (group,)
        rows.append({**dict(zip(by, keys)), "layers": len(norms), "input-side third": first,
                     "output-side third": last, "ratio": first / last,
                     "orders": math.log10(first / last)})
    return pd.DataFrame(rows)


def output_scale(frame: pd.DataFrame) -> pd.Series:
    """Standard deviation of each model's classifier output (its last weighted layer) in a
    :func:`gradient_flow_at_init` frame: how much of the input reaches the logits."""
    last = frame.sort_values("depth").groupby("model", sort=False).tail(1)
    return last.set_index("model")["act_std"]


def probe_frame(runs: Runs, keys: Sequence[str]) -> pd.DataFrame:
    """The ``gradient_flow`` probe of every run, with ``model`` (the key) and ``seed``."""
    frames = []
    for key in keys:
        for r in runs[key]:
            part = pd.DataFrame(r.metrics["probes"]["gradient_flow"])
            part.insert(0, "model", key)
            part.insert(1, "seed", r.config["seed"])
            frames.append(part)
    return pd.concat(frames, ignore_index=True)


def plot_spread_during_training(spread: pd.DataFrame, *, caption: str):
    """``orders`` of :func:`gradient_spread` against the optimiser step, one line per net (mean
    over seeds)."""
    fig, ax = new_figure(width=7.0, height=4.0)
    for model, part in spread.groupby("model", sort=False):
        mean = part.groupby("step")["orders"].mean()
        ax.plot(mean.index, mean.values, marker="o", label=model)
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.legend(title="net", fontsize=8)
    label(ax, title="Gradient spread during training",
          xlabel="optimiser step",
          ylabel="log10(‖∂L/∂W‖ input-side third / output-side third)")
    return finish(fig, caption)


# ---------------------------------------------------------------------------------------------
# Highway networks


def highway_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The highway layers of a :class:`~cnnpapers.models.highway.HighwayNet`, by module name."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, _HighwayConv)]


def gate_equation_error(model: nn.Module, x: torch.Tensor) -> float:
    """Largest difference, over every highway layer of ``model`` on the activations the batch
    ``x`` brings to it, between the layer's output and Eq. (3) written out,
    ``y = H(x)·T(x) + x·(1 − T(x))`` with ``H = ReLU(conv)`` and ``T = σ(conv + b_T)``."""
    errors: list[float] = []

    def check(layer: nn.Module, args: tuple, out: torch.Tensor) -> None:
        (inp,) = args
        h, t = torch.relu(layer.transform(inp)), torch.sigmoid(layer.gate(inp))
        errors.append((out - (h * t + inp * (1 - t))).abs().max().item())

    hooks = [m.register_forward_hook(check) for _, m in highway_layers(model)]
    forward_with_hooks(model, x, hooks, eval_mode=False)
    return max(errors)


def gate_statistics(model: nn.Module, x: torch.Tensor) -> pd.DataFrame:
    """Per highway layer on the batch ``x``: mean transform gate T, the share of saturated gates
    (T < 0.05 or T > 0.95, where σ' < 0.05), and the product of the mean carry (1 − T) from the
    stage's first highway layer up to this one — the share of the stage's input a sample carries
    ungated, where a ResNet's identity shortcut carries all of it."""
    gates: dict[str, torch.Tensor] = {}
    layers = highway_layers(model)
    forward_with_hooks(model, x, [m.gate.register_forward_hook(
        lambda mod, args, out, name=n: gates.__setitem__(name, torch.sigmoid(out.detach())))
        for n, m in layers], eval_mode=False)
    rows, carried = [], {}
    for name, _ in layers:
        stage = int(re.match(r"stages\.(\d+)\.", name)[1])
        t = gates[name]
        carried[stage] = carried.get(stage, 1.0) * (1 - t.mean().item())
        rows.append({"layer": name, "stage": stage + 1, "mean T": t.mean().item(),
                     "saturated share": ((t < 0.05) | (t > 0.95)).float().mean().item(),
                     "carry product in stage": carried[stage]})
    return pd.DataFrame(rows)


def gate_summary(stats: pd.DataFrame) -> pd.DataFrame:
    """:func:`gate_statistics` per stage: layers, mean T, saturated share, and the carry product
    through the whole stage."""
    g = stats.groupby("stage", sort=True)
    return pd.DataFrame({"highway layers": g.size(), "mean T": g["mean T"].mean(),
                         "saturated share": g["saturated share"].mean(),
                         "carry product through the stage": g["carry product in stage"].last(),
                         }).reset_index()


def gate_gradient_ratio(probe: pd.DataFrame) -> pd.DataFrame:
    """‖∂L/∂W_T‖ / ‖∂L/∂W_H‖ of each highway layer (gate against transform weights) at each probed
    step, and its median over the layers: how fast the sigmoid gates learn next to the layer
    they gate."""
    gate = probe[probe["layer"].str.endswith(".gate")].copy()
    transform = probe[probe["layer"].str.endswith(".transform")].copy()
    gate["unit"] = gate["layer"].str.removesuffix(".gate")
    transform["unit"] = transform["layer"].str.removesuffix(".transform")
    both = gate.merge(transform, on=["model", "seed", "step", "unit"],
                      suffixes=("_gate", "_transform"))
    both["ratio"] = both["weight_grad_norm_gate"] / both["weight_grad_norm_transform"]
    return (both.groupby(["model", "seed", "step"])["ratio"].median()
            .rename("median gate/transform gradient ratio").reset_index())


def cost_table(keys: Sequence[str], input_size: tuple[int, int, int] = (1, 28, 28),
               num_classes: int = 10) -> pd.DataFrame:
    """Parameters, multiply-accumulates and depth of the chapter's nets at ``input_size``."""
    rows = []
    for key in keys:
        arch = ARCHS[key]
        with torch.device("meta"):
            model = create_model(arch.model, num_classes=num_classes,
                                 in_channels=input_size[0], **arch.model_kwargs)
        cost = model_cost(model, input_size, name=key)
        weighted = sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())
        rows.append({"net": key, "model": arch.model, "depth (paper's count)": arch.depth,
                     "weighted layers": weighted, "parameters": cost.params,
                     "MMACs per image": cost.macs / 1e6})
    return pd.DataFrame(rows)


def quoted_cifar_errors(names: Sequence[str] = ("highway_19", "resnet56_cifar",
                                                "resnet110_cifar")) -> pd.DataFrame:
    """The papers' CIFAR-10+ errors and parameter counts as printed on the model cards."""
    rows = []
    for name in names:
        rep = model_info(name).reported
        rows.append({"model": name, "parameters (M, quoted)": rep.params,
                     "C10+ error (%, quoted)": rep.errors["C10+"], "source": rep.source})
    return pd.DataFrame(rows)
