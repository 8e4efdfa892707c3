"""The chapter ``densenet_memory``: DenseNet's memory use and its backward pass (notes 003, 004).

Note 004 ("DenseNet特别耗费显存吗?") says the memory hunger is an implementation artefact: when
every concatenation allocates a new tensor, an L-layer block keeps L(L+1)/2 layer outputs (layer
ℓ's output is stored L-ℓ+1 times); a buffer shared by all concatenations, re-filled in backward,
makes it linear (Pleiss et al. 2017). ``cnnpapers``' DenseNet implements both
(``memory_efficient=False/True``) with the same parameters, outputs and gradients.

Here: the depth sweep of saved-activation bytes (:mod:`cnnpapers.analysis.memory`, on the
``meta`` device), the copy count behind L(L+1)/2 read off the storages a block's layers read,
note 004's backpropagation-through-concatenation formula against autograd, the naive and the
memory-efficient block side by side, and the time the recomputation costs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import provenance, results
from ..analysis import memory
from ..analysis.throughput import measure_throughput
from ..budgets import get_budget
from ..models.densenet import DenseNet
from ..registry import create_model

BATCH = 64  # the paper's CIFAR mini-batch: the batch every saved-bytes number here is for
CIFAR_INPUT = (3, 32, 32)
VARIANTS = ("naive", "memory-efficient")


def _memo(fn):
    """Cache a function returning a DataFrame (its inputs are plain values); callers get a copy,
    so a chapter and its claims share one computation without sharing mutable state."""
    cached = functools.cache(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return cached(*args, **kwargs).copy()

    return wrapper


# ---------------------------------------------------------------------------------------------
# the depth sweep


def plain_densenet(depth: int, memory_efficient: bool, growth_rate: int = 12) -> nn.Module:
    """The CIFAR DenseNet of Table 2 (no bottleneck, θ = 1, k = 12) at any depth L = 3n + 4.

    Module-level so that :func:`cnnpapers.analysis.memory.process_peak_rss` can pickle it.
    """
    return create_model("densenet_40_k12", network_depth=depth, growth_rate=growth_rate,
                        memory_efficient=memory_efficient)


def builders() -> dict[str, functools.partial]:
    return {v: functools.partial(plain_densenet, memory_efficient=v != "naive") for v in VARIANTS}


def sweep_depths(budget: str) -> tuple[int, ...]:
    """Depths L of the saved-bytes sweep; counting runs on the meta device, so only the number
    of models built bounds it."""
    return get_budget(budget).pick(smoke=(16, 28, 40, 52), cpu=(40, 70, 100, 130, 160, 190, 250),
                                   gpu=(40, 70, 100, 130, 160, 190, 250, 310, 400))


def saved_sweep(budget: str) -> pd.DataFrame:
    """Saved-tensor bytes of the naive and memory-efficient DenseNet at every depth of the
    budget's sweep (batch 64, 32x32, training mode). Stored in the results cache at non-smoke
    budgets so the claims ledger reads it instead of counting again; counting is deterministic,
    so the seed is fixed."""
    depths = sweep_depths(budget)
    config = {"budget": budget, "seed": 0, "depths": list(depths), "batch_size": BATCH,
              "input_size": list(CIFAR_INPUT)}

    def compute():
        frame = memory.compare_memory(builders(), depths, input_size=CIFAR_INPUT,
                                      batch_size=BATCH, sweep_name="depth")
        return {"metrics": {"rows": frame.to_dict("records")}}

    return rows_frame(results.cached("densenet_memory/saved_sweep", config, compute,
                                     device="meta"))


def saved_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per depth: layers per block, parameters, saved MiB of both variants, their ratio."""
    table = memory.memory_table(frame, "saved_mib", "depth")[list(VARIANTS)]
    table.columns = [f"{v} (MiB saved)" for v in VARIANTS]
    params = frame.drop_duplicates("depth").set_index("depth")["params"]
    table.insert(0, "params", params)
    table.insert(0, "layers per block", [(d - 4) // 3 for d in table.index])
    table["naive / efficient"] = table.iloc[:, -2] / table.iloc[:, -1]
    # object columns keep integers printed as integers in a Markdown table of floats
    return table.reset_index().astype({"depth": object, "layers per block": object,
                                       "params": object})


def growth_fits(frame: pd.DataFrame, column: str = "saved_mib") -> pd.DataFrame:
    """Quadratic and linear least-squares fits of ``column`` against depth, per variant."""
    fits = memory.growth_table(frame, column, "depth")
    return fits[["model", "growth", "a2", "a1", "a0", "quadratic_r2", "b1", "b0", "linear_r2",
                 "quadratic_share"]]


# ---------------------------------------------------------------------------------------------
# L(L+1)/2: copies of each layer's output


@dataclass(frozen=True)
class ConcatStorage:
    """The storages a block's layers read their concatenated input from, in units of one layer's
    output (N·k·H·W values): ``units`` in total, ``copies[j]`` = how many of them hold x_j."""

    num_layers: int
    memory_efficient: bool
    storages: int
    units: float
    copies: tuple[int, ...]
    saved_for_backward: int  # how many of those storages autograd's saved-tensor hooks saw


def concat_storage(num_layers: int, memory_efficient: bool, growth_rate: int = 12,
                   batch_size: int = 2, size: int = 8) -> ConcatStorage:
    """Where the inputs [x_0, ..., x_{ℓ-1}] of a block's layers live, found with hooks.

    The block has k0 = k input maps, so x_0 is one unit like every layer's output and the
    note's count applies unchanged. A pre-hook on each layer's first BN records the storage its
    input is a view of; a storage with c channels starting at channel 0 holds x_0..x_{c/k - 1}.
    Runs on the meta device: shapes and storages, no arithmetic.
    """
    with torch.device("meta"):
        model = DenseNet(block_config=(num_layers,), growth_rate=growth_rate,
                         num_init_features=growth_rate, bottleneck=False, stem="cifar",
                         memory_efficient=memory_efficient).train()
        x = torch.empty(batch_size, 3, size, size)
    block = model.dense_blocks()[0]
    read: dict[int, tuple[int, int]] = {}  # storage → (bytes, channels of the widest view read)

    def remember(module, args):
        t = args[0]
        key = t.untyped_storage()._cdata
        nbytes = t.untyped_storage().nbytes()
        read[key] = (nbytes, max(read.get(key, (0, 0))[1], t.shape[1]))

    saved: set[int] = set()

    def pack(t):
        saved.add(t.untyped_storage()._cdata)
        return t

    handles = [layer.norm1.register_forward_pre_hook(remember) for layer in block.values()]
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = model(x)
    finally:
        for handle in handles:
            handle.remove()
    unit = batch_size * growth_rate * size * size * x.element_size()
    copies = [0] * (num_layers + 1)
    for nbytes, channels in read.values():
        for j in range(channels // growth_rate):
            copies[j] += 1
    del out
    return ConcatStorage(num_layers, memory_efficient, len(read),
                         sum(b for b, _ in read.values()) / unit, tuple(copies),
                         len(set(read) & saved))


@_memo
def copies_table(max_layers: int = 12) -> pd.DataFrame:
    """For L = 1..max_layers: units of concatenated input held by the naive and the
    memory-efficient block, beside L(L+1)/2 (note 004) and L + 1 (one shared buffer)."""
    rows = []
    for n in range(1, max_layers + 1):
        naive, eff = concat_storage(n, False), concat_storage(n, True)
        rows.append({"L": n, "naive: storages": naive.storages, "naive: units": naive.units,
                     "L(L+1)/2": n * (n + 1) // 2,
                     "naive: saved for backward": naive.saved_for_backward,
                     "efficient: storages": eff.storages, "efficient: units": eff.units,
                     "L + 1": n + 1})
    frame = pd.DataFrame(rows)
    frame["agrees"] = ((frame["naive: units"] == frame["L(L+1)/2"])
                       & (frame["efficient: units"] == frame["L + 1"]))
    return frame


@_memo
def copies_per_layer(num_layers: int = 5) -> pd.DataFrame:
    """How many stored copies of each layer's output there are: note 004's L - l + 1."""
    naive, eff = concat_storage(num_layers, False), concat_storage(num_layers, True)
    rows = [{"source": f"x{j} (layer l = {j + 1} in the note's count)",
             "copies, naive": naive.copies[j], "L - l + 1": num_layers - j,
             "copies, memory-efficient": eff.copies[j]} for j in range(num_layers)]
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# note 004: backpropagation through + and through concatenation


# float64 round-off of the gradient and equivalence checks: a difference below it is rounding,
# whose exact size depends on which kernels the CPU runs, so it is shown only as the bound.
ROUNDOFF = 1e-12


def roundoff_text(x: float) -> str:
    """A float64 difference as the book prints it: the bound when it is round-off, else 1 digit."""
    return f"< {ROUNDOFF:.0e}" if abs(x) < ROUNDOFF else f"{x:.1e}"


def show_roundoff(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its ``max |a − b|`` difference columns as :func:`roundoff_text`."""
    return frame.assign(**{c: frame[c].map(roundoff_text) for c in frame.columns
                           if c.startswith("max |")})


@_memo
def concat_backprop_check(n: int = 6, batch_size: int = 3, seed: int = 0) -> pd.DataFrame:
    """Note 004's formulas on l1 → o1 = W·l1 → o → l2 = tanh(V·o) → L = ½‖l2‖², in float64.

    ResNet:   o = o1 + l1,       ∂o/∂l1 = W + 1,         ∂L/∂l1 = (W + 1)ᵀ ∂L/∂o
    DenseNet: o = o1 cat l1,     ∂o/∂l1 = W cat 1,       ∂L/∂l1 = Wᵀ (∂L/∂o)[:n] + (∂L/∂o)[n:]

    For each, the Jacobian autograd computes against the note's (W + 1 or W stacked on the
    identity), and autograd's ∂L/∂l1 against the formula applied to autograd's ∂L/∂o.
    """
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(n, n, generator=g, dtype=torch.float64)
    l1 = torch.randn(batch_size, n, generator=g, dtype=torch.float64)
    eye = torch.eye(n, dtype=torch.float64)
    cases = {
        "ResNet: o = o1 + l1": (lambda a: a @ W.T + a, W + eye, "(W + 1)ᵀ ∂L/∂o"),
        "DenseNet: o = o1 cat l1": (lambda a: torch.cat([a @ W.T, a], 1), torch.cat([W, eye]),
                                    "Wᵀ (∂L/∂o)[:n] + (∂L/∂o)[n:], i.e. (W cat 1)ᵀ ∂L/∂o"),
    }
    rows = []
    for case, (combine, jacobian, formula) in cases.items():
        V = torch.randn(n, jacobian.shape[0], generator=g, dtype=torch.float64)
        x = l1.clone().requires_grad_()
        o = combine(x)
        o.retain_grad()
        l2 = torch.tanh(o @ V.T)
        (0.5 * l2.pow(2).sum()).backward()
        measured_jacobian = torch.autograd.functional.jacobian(lambda a: combine(a[None])[0],
                                                               l1[0])
        rows.append({"case": case, "formula for ∂L/∂l1": formula,
                     "max |∂o/∂l1 − note's Jacobian|":
                         (measured_jacobian - jacobian).abs().max().item(),
                     "max |autograd − formula|": (x.grad - o.grad @ jacobian).abs().max().item()})
    return pd.DataFrame(rows)


@_memo
def block_gradient_check(num_layers: int = 5, growth_rate: int = 4, k0: int = 8,
                         seed: int = 0) -> pd.DataFrame:
    """On a real dense block (float64, train mode): the gradient autograd gives each feature map
    x_j equals the sum, over every reader of x_j (the layers after it and the block's output
    concatenation), of the slice of that reader's input gradient that belongs to x_j.

    This is the DenseNet case of note 004's formula applied to a whole block: concatenation
    passes each input its own slice of the upstream gradient, and a map read by several layers
    collects the sum.
    """
    torch.manual_seed(seed)
    model = DenseNet(block_config=(num_layers,), growth_rate=growth_rate, num_init_features=k0,
                     bottleneck=False, stem="cifar").double().train()
    block = model.dense_blocks()[0]
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    keep: dict[tuple[str, int], torch.Tensor] = {}

    def retain(key, which):
        def hook(module, args, out=None):
            t = args[0] if which == "input" else out
            t.retain_grad()
            keep[key] = t
        return hook

    handles = [block.register_forward_pre_hook(retain(("source", 0), "input")),
               block.register_forward_hook(retain(("input", num_layers + 1), "output"))]
    for ell, layer in enumerate(block.values(), start=1):
        handles += [layer.register_forward_pre_hook(retain(("input", ell), "input")),
                    layer.register_forward_hook(retain(("source", ell), "output"))]
    try:
        out = model(x)
        weights = torch.randn(out.shape, dtype=torch.float64)
        (out * weights).sum().backward()
    finally:
        for handle in handles:
            handle.remove()
    slices = block.feature_slices()
    rows = []
    for j, s in enumerate(slices):
        readers = range(j + 1, num_layers + 2)  # layers j+1..L, then the block output
        summed = sum(keep[("input", r)].grad[:, s] for r in readers)
        autograd = keep[("source", j)].grad
        rows.append({"feature map": f"x{j}", "readers": len(readers),
                     "‖∂L/∂x_j‖": autograd.norm().item(),
                     "max |autograd − Σ reader slices|": (autograd - summed).abs().max().item()})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# naive and memory-efficient: the same network


@_memo
def equivalence_check(depth: int = 22, batch_size: int = 2, size: int = 8,
                      seed: int = 0) -> pd.DataFrame:
    """The naive and the memory-efficient DenseNet with the same weights, one training step's
    forward and backward in float64: largest differences of outputs, input gradients, parameter
    gradients and BN running statistics (zero up to rounding means the same network)."""
    torch.manual_seed(seed)
    naive = plain_densenet(depth, False).double().train()
    efficient = plain_densenet(depth, True).double().train()
    efficient.load_state_dict(naive.state_dict())
    x = torch.randn(batch_size, 3, size, size, dtype=torch.float64)
    upstream = torch.randn(batch_size, naive.classifier.out_features, dtype=torch.float64)
    out, grads = {}, {}
    for name, model in (("naive", naive), ("memory-efficient", efficient)):
        inp = x.clone().requires_grad_()
        y = model(inp)
        (y * upstream).sum().backward()
        out[name], grads[name] = y.detach(), inp.grad
    diff = {
        "outputs": (out["naive"] - out["memory-efficient"]).abs().max().item(),
        "input gradient": (grads["naive"] - grads["memory-efficient"]).abs().max().item(),
        "parameter gradients": max((a.grad - b.grad).abs().max().item() for a, b in
                                   zip(naive.parameters(), efficient.parameters())),
        "BN running statistics": max((a - b).abs().max().item() for a, b in
                                     zip(naive.buffers(), efficient.buffers())
                                     if a.is_floating_point()),
    }
    return pd.DataFrame({"compared": list(diff), "max |naive − memory-efficient|": list(diff.values())})


# ---------------------------------------------------------------------------------------------
# measured on this machine: peak memory and step time (cached at non-smoke budgets)


def rss_plan(budget: str) -> dict:
    """Depths and batch of the process-peak measurement; none at ``smoke``, where starting a
    fresh interpreter per point (several seconds each) would dominate the chapter."""
    b = get_budget(budget)
    return {"depths": b.pick(smoke=[], cpu=[16, 28, 40, 52], gpu=[16, 28, 40, 52]),
            "batch_size": b.pick(smoke=2, cpu=32, gpu=32)}


def process_peak(budget: str, seed: int = 0) -> results.Result:
    """Peak RSS of a fresh process running one training forward and backward on the CPU."""
    plan = rss_plan(budget)
    if not plan["depths"]:
        raise ValueError(f"no process-peak measurement is planned at budget {budget!r}")
    config = {"budget": budget, "seed": seed, "measure": "rss", "input_size": list(CIFAR_INPUT),
              **plan}

    def compute():
        frame = memory.compare_memory(builders(), plan["depths"], input_size=CIFAR_INPUT,
                                      batch_size=plan["batch_size"], measures=("rss",))
        return {"metrics": {"rows": frame.to_dict("records")}}

    return results.cached("densenet_memory/process_peak_rss", config, compute, device="cpu")


def cuda_depths(budget: str) -> tuple[int, ...]:
    """The sweep's depths up to L = 190: the naive L = 250 net alone saves 42 GiB at batch 64,
    L = 400 108 GiB, more than an H100 holds."""
    return tuple(d for d in sweep_depths(budget) if d <= 190)


def _cuda_config(budget: str, device: str, seed: int) -> dict:
    return {"budget": budget, "seed": seed, "measure": "cuda",
            "depths": list(cuda_depths(budget)), "batch_size": BATCH,
            "input_size": list(CIFAR_INPUT), "device_name": provenance.device_name(device)}


def cuda_peak(budget: str, device: str, seed: int = 0) -> results.Result:
    """CUDA peak memory (above the model and input) of one training step over the depth sweep."""
    depths = cuda_depths(budget)
    config = _cuda_config(budget, device, seed)

    def compute():
        frame = memory.compare_memory(builders(), depths, input_size=CIFAR_INPUT,
                                      batch_size=BATCH, measures=("saved", "cuda"),
                                      cuda_device=device)
        return {"metrics": {"rows": frame.to_dict("records")}}

    return results.cached("densenet_memory/cuda_peak", config, compute, device=device)


def lookup_cuda_peak(budget: str, device: str, seed: int = 0) -> results.Result | None:
    """The CUDA sweep if this process or the results cache already has it (nothing is run)."""
    return results.lookup("densenet_memory/cuda_peak", _cuda_config(budget, device, seed))


def rows_frame(result: results.Result) -> pd.DataFrame:
    return pd.DataFrame(result.metrics["rows"])


def timing_plan(budget: str) -> dict:
    b = get_budget(budget)
    return {
        "ours": {"model": "densenet_bc_100_k12", "input_size": list(CIFAR_INPUT),
                 "batch_size": b.pick(smoke=2, cpu=64, gpu=64)},
        "torchvision": {"model": "densenet121",
                        "input_size": [3, *[b.pick(smoke=32, cpu=64, gpu=224)] * 2],
                        "batch_size": b.pick(smoke=2, cpu=16, gpu=64)},
        "warmup": b.pick(smoke=0, cpu=2, gpu=5),  # smoke only exercises the code
        "repeats": b.pick(smoke=1, cpu=5, gpu=20),
    }


def _timing_models(which: str, name: str) -> dict[str, nn.Module]:
    import torchvision

    torch.manual_seed(0)
    if which == "ours":
        return {f"{name}, {v}": create_model(name, memory_efficient=v != "naive")
                for v in VARIANTS}
    return {f"torchvision {name}, memory_efficient={flag}":
            torchvision.models.get_model(name, memory_efficient=flag) for flag in (False, True)}


def step_times(budget: str, device: str, seed: int = 0) -> results.Result:
    """Training-step time (forward, loss, backward, SGD step) of the naive and memory-efficient
    forms of our DenseNet-BC (L=100, k=12) and of torchvision's DenseNet-121 (which recomputes
    BN-ReLU-Conv1x1 by checkpointing)."""
    plan = timing_plan(budget)
    config = {"budget": budget, "seed": seed, "device": device,
              "device_name": provenance.device_name(device), **plan}

    def compute():
        rows = []
        for which in ("ours", "torchvision"):
            spec = plan[which]
            for label, model in _timing_models(which, spec["model"]).items():
                t = measure_throughput(model, spec["input_size"], batch_size=spec["batch_size"],
                                       mode="train", device=device, warmup=plan["warmup"],
                                       repeats=plan["repeats"])
                rows.append({"model": label, "input": "×".join(map(str, spec["input_size"])),
                             **t.row()})
                del model
        return {"metrics": {"rows": rows}}

    return results.cached("densenet_memory/step_time", config, compute, device=device)


def step_time_table(result: results.Result) -> pd.DataFrame:
    """ms per training step and images/s, with each memory-efficient form's time relative to its
    naive twin."""
    frame = rows_frame(result)[["model", "input", "batch_size", "ms_per_batch", "images_per_s",
                                "repeats"]]
    # rows come in (naive, memory-efficient) pairs, as step_times measures them
    naive = frame["ms_per_batch"].to_numpy()[::2].repeat(2)
    frame["time vs naive"] = frame["ms_per_batch"].to_numpy() / naive
    return frame


def reference_saved_bytes(budget: str) -> pd.DataFrame:
    """Saved-tensor bytes of torchvision's DenseNet-121 with memory_efficient False/True and of
    our DenseNet-121 naive/efficient, at the timing table's input (meta device)."""
    import torchvision

    spec = timing_plan(budget)["torchvision"]
    shape = (spec["batch_size"], *spec["input_size"])
    rows = []
    for label, build in (
        ("torchvision densenet121", lambda flag: torchvision.models.densenet121(
            memory_efficient=flag)),
        ("cnnpapers densenet121", lambda flag: create_model("densenet121",
                                                            memory_efficient=flag)),
    ):
        for flag in (False, True):
            with torch.device("meta"):
                model, x = build(flag).train(), torch.empty(shape)
            rows.append({"model": label, "memory_efficient": flag,
                         "input": "×".join(map(str, shape)),
                         "saved MiB": memory.saved_tensor_bytes(model, x).mib})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# note 003: fewer parameters, more memory


PARAMS_VS_MEMORY = ("densenet_bc_100_k12", "resnet110_cifar", "preact_resnet164_cifar")


@_memo
def params_vs_memory(names: tuple[str, ...] = PARAMS_VS_MEMORY) -> pd.DataFrame:
    """Parameters and saved MiB (batch 64, 32x32, training) of small-parameter CIFAR nets, the
    DenseNet in both forms."""
    rows = []
    for name in names:
        forms = (False, True) if name.startswith("densenet") else (None,)
        for flag in forms:
            overrides = {} if flag is None else {"memory_efficient": flag}
            with torch.device("meta"):
                model = create_model(name, **overrides).train()
                x = torch.empty(BATCH, *CIFAR_INPUT)
            label = name if flag is None else f"{name} ({'memory-efficient' if flag else 'naive'})"
            rows.append({"model": label, "params": sum(p.numel() for p in model.parameters()),
                         "saved MiB": memory.saved_tensor_bytes(model, x).mib})
    return pd.DataFrame(rows)


def log_log_slope(frame: pd.DataFrame, variant: str, column: str = "saved_mib") -> float:
    """Slope of log(memory) against log(depth): about 2 for quadratic, 1 for linear growth."""
    part = frame[frame["model"] == variant]
    return float(np.polyfit(np.log(part["depth"]), np.log(part[column]), 1)[0])

