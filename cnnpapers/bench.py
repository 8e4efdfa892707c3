"""Named benchmarks, run as ``python -m cnnpapers bench NAME [options]``.

Each benchmark registers itself with :func:`register_benchmark`: a name, a one-line help, a
function adding its options to an ``argparse`` parser, and a function that runs it and returns a
:class:`cnnpapers.results.Result` (written under ``results/<budget>/bench/...`` with provenance,
except at the ``smoke`` budget). Benchmarks always measure afresh (``force=True``).

* ``train-speed``: images/s of :func:`cnnpapers.train.fit` with its fast path against a plain eager
  fp32 PyTorch loop (``DataLoader`` over a ``TensorDataset``, NCHW) on the same model, data, batch
  size and optimiser, side by side in one process, with the ratio (:func:`compare_loops`).
* ``fast-path-parity``: the same short training run with the plain path and with the fast path,
  and the plain path once more with the next seed; the fast path leaves the learning curve
  unchanged "within noise" when its gaps to the plain run are no larger than the noise margins
  of :func:`parity_gaps`.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Iterator

import torch
import torch.nn.functional as F

from . import results
from .augment import normalize
from .budgets import BUDGETS, get_budget
from .data import TensorDataset
from .provenance import device_name
from .registry import create_model, list_models, model_info
from .schedules import Schedule
from .train import (
    Callback, FastPath, TrainConfig, TrainState, fit, load_splits, resolve_device,
    resolve_fast_path, train,
)


@dataclass(frozen=True)
class Benchmark:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], results.Result]


BENCHMARKS: dict[str, Benchmark] = {}


def register_benchmark(name: str, help: str, configure: Callable[[argparse.ArgumentParser], None]):
    """Decorator: register ``run(args) -> Result`` as the benchmark ``name``."""
    def wrap(run: Callable[[argparse.Namespace], results.Result]):
        if name in BENCHMARKS:
            raise ValueError(f"benchmark {name!r} is registered twice")
        BENCHMARKS[name] = Benchmark(name, help, configure, run)
        return run
    return wrap


def get_benchmark(name: str) -> Benchmark:
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise ValueError(
            f"unknown benchmark {name!r}; choose one of {sorted(BENCHMARKS)}") from None


def default_model() -> str:
    """DenseNet-BC-100 k=12 (the issue's reference model) once registered, else LeNet-5."""
    return "densenet_bc_100_k12" if list_models("densenet_bc_100_k12") else "lenet5"


def add_fast_path_options(parser: argparse.ArgumentParser) -> None:
    """The fast-path switches: ``--[no-]bf16``, ``--[no-]channels-last``, ``--[no-]compile``,
    ``--cuda-graphs``."""
    bool_opt = argparse.BooleanOptionalAction
    parser.add_argument("--bf16", action=bool_opt, default=None,
                        help="bf16 autocast (default: where the device computes bf16 natively)")
    parser.add_argument("--channels-last", action=bool_opt, default=None,
                        help="NHWC memory layout (default: on)")
    parser.add_argument("--compile", action=bool_opt, default=None, help="torch.compile the model")
    parser.add_argument("--cuda-graphs", action="store_true",
                        help="replay steps as CUDA graphs (implies --compile; GPU only)")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None,
                        help="registered model (default: densenet_bc_100_k12)")
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--budget", default="cpu", choices=list(BUDGETS),
                        help="sets the default size; smoke results are not stored")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    add_fast_path_options(parser)


# --------------------------------------------------------------------------- train-speed


def _configure_speed(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=None,
                        help="timed steps per loop (default by budget: smoke 2, cpu 8, gpu 200)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat the comparison this many times; report the medians")


def _plain_steps(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
                 schedule: Schedule, batch_size: int, device: torch.device,
                 seed: int) -> Iterator[int]:
    """The textbook loop, one step per ``next()``: DataLoader over float tensors, eager fp32, NCHW.

    Yields the number of images of the step; epochs repeat forever.
    """
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(images, labels), batch_size=batch_size, shuffle=True,
        drop_last=True, generator=torch.Generator().manual_seed(seed),
    )
    model.to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=schedule.lr, momentum=schedule.momentum,
                          nesterov=schedule.nesterov, weight_decay=schedule.weight_decay)
    while True:
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            loss.item()  # the textbook loop logs its loss every step (and so waits for the GPU)
            yield len(y)


class _Interleaved(Callback):
    """After each of fit's steps, one step of the plain loop; both timed step by step.

    Alternating single steps makes the two loops share every burst of load a shared CPU sees.
    The first epoch warms up; a step that spans an epoch boundary (evaluation) is not counted.
    """

    def __init__(self, plain: Iterator[int]):
        self.plain, self.ours, self.theirs = plain, [], []
        self.last: float | None = None

    def on_batch_end(self, state: TrainState) -> None:
        start = time.perf_counter()
        if self.last is not None:
            self.ours.append(start - self.last)
        next(self.plain)
        self.last = time.perf_counter()
        self.theirs.append(self.last - start)

    def on_epoch_end(self, state: TrainState) -> None:
        self.last = None
        if state.epoch + 1 < state.epochs:
            self.ours, self.theirs = [], []


def _timed_epoch(steps: Iterator[int], n: int, device: torch.device) -> float:
    """Images/s of ``n`` consecutive steps after ``n`` warm-up steps (GPU: whole-run timing)."""
    for _ in range(n):
        next(steps)
    start, images = time.perf_counter(), sum(next(steps) for _ in range(n))
    torch.cuda.synchronize(device)
    return images / (time.perf_counter() - start)


def compare_loops(new_model: Callable[[], torch.nn.Module], train_set: TensorDataset,
                  test_set: TensorDataset, schedule: Schedule, device: torch.device,
                  fast: FastPath, seed: int) -> tuple[float, float]:
    """(plain, ours) images/s over one timed epoch each, after one warm-up epoch.

    CPU: the loops alternate step by step and each speed is its median step. GPU (a dedicated
    machine): each loop runs on its own and its speed is the timed epoch's total.
    """
    plain_images = normalize(train_set.images, train_set.mean, train_set.std)
    plain = _plain_steps(new_model(), plain_images, train_set.labels, schedule,
                         schedule.batch_size, device, seed)
    if device.type == "cuda":
        theirs = _timed_epoch(plain, len(train_set) // schedule.batch_size, device)
        history = fit(new_model(), train_set, test_set, schedule, epochs=2, seed=seed,
                      device=device, fast=fast, progress=False)
        return theirs, history.images_per_s[-1]
    clock = _Interleaved(plain)
    fit(new_model(), train_set, test_set, schedule, epochs=2, seed=seed, device=device, fast=fast,
        progress=False, callbacks=[clock])
    per_step = schedule.batch_size
    return per_step / statistics.median(clock.theirs), per_step / statistics.median(clock.ours)


@register_benchmark("train-speed", "images/s of our training loop vs a plain eager fp32 loop",
                    _configure_speed)
def train_speed(args: argparse.Namespace) -> results.Result:
    # each timed step is measured from the end of the one before it, so an epoch needs two
    check_counts(args, batch_size=1, steps=2, rounds=1)
    model_name = args.model or default_model()
    budget = get_budget(args.budget)
    steps = args.steps or budget.pick(smoke=2, cpu=8, gpu=200)
    device = resolve_device(args.device)
    fast = resolve_fast_path(device, bf16=args.bf16, channels_last=args.channels_last,
                             compile=args.compile, cuda_graphs=args.cuda_graphs)
    cfg = TrainConfig(model_name, args.dataset, args.budget, args.seed, device=args.device,
                      train_images=steps * args.batch_size, test_images=args.batch_size)
    schedule = cfg.resolved_schedule().with_changes(batch_size=args.batch_size)
    train_set, test_set = load_splits(cfg, model_info(model_name).min_input_size)
    config = {"budget": args.budget, "seed": args.seed, "model": model_name,
              "dataset": args.dataset, "batch_size": args.batch_size, "steps": steps,
              "rounds": args.rounds, "fast_path": asdict(fast), "schedule": schedule.name}

    def new_model() -> torch.nn.Module:
        torch.manual_seed(args.seed)
        return create_model(model_name, num_classes=train_set.num_classes,
                            in_channels=train_set.shape[0])

    def compute() -> dict[str, Any]:
        rounds = [compare_loops(new_model, train_set, test_set, schedule, device, fast, args.seed)
                  for _ in range(args.rounds)]
        plain, ours = [r[0] for r in rounds], [r[1] for r in rounds]
        p, o = statistics.median(plain), statistics.median(ours)
        return {"metrics": {"plain_images_per_s": p, "ours_images_per_s": o, "ratio": o / p,
                            "plain_rounds": plain, "ours_rounds": ours,
                            "threads": torch.get_num_threads(),
                            "device_name": device_name(device)}}

    result = results.cached(f"bench/train-speed/{model_name}/{args.dataset}", config, compute,
                            device=str(device), force=True)
    m = result.metrics
    print(f"train-speed: {model_name} on {args.dataset} {tuple(train_set.shape)}, batch "
          f"{args.batch_size}, {steps} timed steps x {args.rounds} rounds, {m['device_name']}")
    print(f"  {'plain eager fp32 loop (DataLoader)':<44}{m['plain_images_per_s']:>10.1f} images/s")
    print(f"  {'cnnpapers fit (' + fast.label + ')':<44}{m['ours_images_per_s']:>10.1f} images/s")
    print(f"  {'ratio':<44}{m['ratio']:>10.2f}x")
    return result


# --------------------------------------------------------------------------- fast-path parity


def _configure_parity(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs of each run (default by budget: smoke 1, cpu 3, gpu 2)")
    parser.add_argument("--train-images", type=int, default=None,
                        help="training images (default by budget: smoke 128, cpu 3000, gpu 20000)")
    parser.add_argument("--test-images", type=int, default=None,
                        help="test images (default by budget: smoke 128, cpu 2000, gpu all)")


PARITY_KEYS = ("test_error", "train_loss")


def curve_gap(a: dict[str, list[float]], b: dict[str, list[float]], key: str) -> float:
    """The largest per-epoch difference of two learning curves in ``key``."""
    return max(abs(x - y) for x, y in zip(a[key], b[key]))


def binomial_margin(error: float, n: int) -> float:
    """Two standard errors of the difference of two error rates near ``error``, each measured on
    ``n`` images (as if on independent sets: conservative for one shared test set)."""
    return 2 * math.sqrt(2 * error * (1 - error) / n)


def parity_gaps(curves: dict[str, dict[str, list[float]]], test_images: int) -> dict[str, Any]:
    """Largest per-epoch gaps of the ``fast`` run to the ``plain`` run, in test error and training
    loss, against their noise margins; ``within_noise`` when no gap exceeds its margin.

    The training-loss margin is the gap of the ``plain, next seed`` run. The test-error margin is
    that run's gap too, but never below :func:`binomial_margin` at the plain run's final error:
    one seed pair is a single draw of the noise, and may come out close by chance.
    """
    plain, fast, reseeded = curves["plain"], curves["fast"], curves["plain, next seed"]
    out: dict[str, Any] = {}
    for key in PARITY_KEYS:
        out[f"{key}_gap"] = curve_gap(plain, fast, key)
        out[f"seed_{key}_gap"] = curve_gap(plain, reseeded, key)
    out["train_loss_margin"] = out["seed_train_loss_gap"]
    out["test_error_margin"] = max(out["seed_test_error_gap"],
                                   binomial_margin(plain["test_error"][-1], test_images))
    out["within_noise"] = all(out[f"{key}_gap"] <= out[f"{key}_margin"] for key in PARITY_KEYS)
    return out


@register_benchmark("fast-path-parity", "the same short run with the plain and the fast path",
                    _configure_parity)
def fast_path_parity(args: argparse.Namespace) -> results.Result:
    check_counts(args, epochs=1, train_images=1, test_images=1)
    model_name = args.model or default_model()
    device = resolve_device(args.device)
    fast = resolve_fast_path(device, bf16=args.bf16, channels_last=args.channels_last,
                             compile=args.compile, cuda_graphs=args.cuda_graphs)
    budget = get_budget(args.budget)  # a short run at every budget: three runs follow
    common = dict(model=model_name, dataset=args.dataset, budget=args.budget, seed=args.seed,
                  device=args.device,
                  epochs=args.epochs or budget.pick(smoke=1, cpu=3, gpu=2),
                  train_images=args.train_images or budget.pick(smoke=128, cpu=3000, gpu=20000),
                  test_images=args.test_images or budget.pick(smoke=128, cpu=2000, gpu=None))
    plain_cfg = TrainConfig(**common, bf16=False, channels_last=False, compile=False)
    batch = plain_cfg.resolved_schedule().batch_size
    if common["train_images"] < batch:
        raise BenchInputError(f"{common['train_images']} training images are fewer than one batch "
                              f"of {batch}; pass --train-images N with N >= {batch}")
    fast_cfg = TrainConfig(**common, bf16=fast.bf16, channels_last=fast.channels_last,
                           compile=fast.compile, cuda_graphs=fast.cuda_graphs)
    config = {**plain_cfg.as_record(), "fast_path": asdict(fast)}

    def compute() -> dict[str, Any]:
        runs = {"plain": train(plain_cfg, progress=False), "fast": train(fast_cfg, progress=False),
                "plain, next seed": train(replace(plain_cfg, seed=args.seed + 1), progress=False)}
        curves = {name: history.curves() for name, history in runs.items()}
        speedup = runs["fast"].metrics()["images_per_s"] / runs["plain"].metrics()["images_per_s"]
        return {"metrics": {**{name: {**h.metrics(), **h.run} for name, h in runs.items()},
                            **parity_gaps(curves, runs["plain"].run["test_images"]),
                            "speedup": speedup, "device_name": device_name(device)},
                "curves": curves}

    result = results.cached(f"bench/fast-path-parity/{model_name}/{args.dataset}", config, compute,
                            device=str(device), force=True)
    print(f"fast-path-parity: {model_name} on {args.dataset}, {result.metrics['device_name']}; "
          f"fast path: {fast.label}")
    names = list(result.curves)
    print(f"  {'epoch':>5}" + "".join(f"{'test err, ' + n:>30}" for n in names))
    for i, e in enumerate(result.curves["plain"]["epoch"]):
        print(f"  {e:>5}" + "".join(f"{result.curves[n]['test_error'][i]:>30.2%}" for n in names))
    m = result.metrics
    print(f"  largest gap, fast vs plain: test error {m['test_error_gap']:.2%} (margin "
          f"{m['test_error_margin']:.2%}), training loss {m['train_loss_gap']:.4f} (margin "
          f"{m['train_loss_margin']:.4f})")
    print(f"  largest gap, next seed vs plain: test error {m['seed_test_error_gap']:.2%}, "
          f"training loss {m['seed_train_loss_gap']:.4f}")
    print(f"  within noise: {'yes' if m['within_noise'] else 'NO'}; fast path speed-up "
          f"{m['speedup']:.2f}x")
    return result


# --------------------------------------------------------------------------- memory and torchvision


@dataclass(frozen=True)
class Variant:
    """One model to measure: ours (``cnnpapers``) or torchvision's, naive or memory-efficient.

    A module-level value, so :func:`cnnpapers.analysis.memory.process_peak_rss` can pickle it.
    """

    source: str  # "cnnpapers" or "torchvision"
    model: str
    memory_efficient: bool
    num_classes: int

    @property
    def label(self) -> str:
        form = "memory-efficient" if self.memory_efficient else "naive"
        return f"{'torchvision ' if self.source == 'torchvision' else ''}{self.model}, {form}"


def build_variant(variant: Variant) -> torch.nn.Module:
    """The variant's model, freshly initialised (weights are loaded afterwards where shared)."""
    if variant.source == "torchvision":
        import torchvision

        return torchvision.models.get_model(variant.model, num_classes=variant.num_classes,
                                            memory_efficient=variant.memory_efficient)
    return create_model(variant.model, num_classes=variant.num_classes,
                        memory_efficient=variant.memory_efficient)


class BenchInputError(ValueError):
    """A benchmark option the benchmark cannot use; raised before anything is measured."""


def check_counts(args: argparse.Namespace, **least: int) -> None:
    """One clear error, naming the option as it was typed, for a count below its least value
    (``TrainConfig`` would refuse it too, but by its own field name, e.g. ``train_images``)."""
    for option, minimum in least.items():
        value = getattr(args, option)
        if value is not None and value < minimum:
            flag = "--" + option.replace("_", "-")
            raise BenchInputError(f"{flag} must be at least {minimum}, got {value}; pass {flag} N "
                                  f"with N >= {minimum}")


def check_sizes(batch_size: int, image_size: int, model: str) -> None:
    """One clear error for a batch or image size the model cannot take."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise BenchInputError(f"batch size must be a positive integer, got {batch_size!r}; "
                              f"pass --batch-size N with N >= 1")
    least = model_info(model).min_input_size
    if not isinstance(image_size, int) or image_size < least:
        raise BenchInputError(f"{model} needs images of at least {least}x{least}, got "
                              f"{image_size!r}; pass --image-size N with N >= {least}")


def train_step(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    """One eager fp32 training step (forward, cross-entropy, backward, SGD with lr 0, so repeated
    steps see the same weights)."""
    opt = torch.optim.SGD(model.parameters(), lr=0.0)

    def step() -> None:
        model.train()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return step


def inference_step(model: torch.nn.Module, x: torch.Tensor) -> Callable[[], None]:
    """One eval-mode forward without autograd."""
    def step() -> None:
        model.eval()
        with torch.no_grad():
            model(x)
    return step


def interleaved_times(steps: dict[str, Callable[[], None]], device: torch.device, *,
                      warmup: int, rounds: int) -> dict[str, list[float]]:
    """Seconds per call of every step, the steps taking turns round by round so that all of them
    share every burst of load a shared machine sees (timed by ``throughput.time_call``)."""
    from .analysis.throughput import time_call

    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(warmup):
        for step in steps.values():
            step()
    for _ in range(rounds):
        for name, step in steps.items():
            times[name] += time_call(step, device=device, warmup=0, repeats=1)
    return times


def peak_memory(variant: Variant, model: torch.nn.Module, x: torch.Tensor, *, train: bool,
                rss: bool) -> dict[str, Any]:
    """Memory of one pass of ``model`` on ``x``: on CUDA the allocator's peak above the baseline;
    on CPU the bytes saved for backward (counted on the meta device; training only) and, if
    ``rss``, a fresh process's peak RSS increase (training only)."""
    from .analysis import memory

    if x.device.type == "cuda":
        model.train(train)
        with torch.set_grad_enabled(train):
            peak = memory.cuda_peak_memory(model, x, backward=train)
        return {"cuda_peak_bytes": peak["cuda_increase_bytes"]}
    if not train:
        return {}
    with torch.device("meta"):
        meta_model = build_variant(variant).train()
        saved = memory.saved_tensor_bytes(meta_model, torch.empty(x.shape))
    out: dict[str, Any] = {"saved_bytes": saved.bytes}
    if rss:
        out["rss_peak_bytes"] = memory.process_peak_rss(
            build_variant, variant, tuple(x.shape[1:]), batch_size=len(x))["rss_increase_bytes"]
    return out


def measure_variants(variants: list[Variant], *, batch_size: int, image_size: int,
                     device: torch.device, modes: tuple[str, ...], warmup: int, rounds: int,
                     rss: bool, seed: int) -> dict[str, dict[str, Any]]:
    """Per variant label: median s/step and images/s per mode (modes interleaved across variants
    in one process), the per-round times, and peak memory (see :func:`peak_memory`).

    Every variant gets the first one's weights (ours load torchvision's ``state_dict`` strictly).
    """
    torch.manual_seed(seed)
    models = {v.label: build_variant(v) for v in variants}
    reference = next(iter(models.values())).state_dict()
    for model in models.values():
        model.load_state_dict(reference)
        model.to(device)
    x = torch.randn(batch_size, 3, image_size, image_size, device=device)
    y = torch.randint(variants[0].num_classes, (batch_size,), device=device)
    out: dict[str, dict[str, Any]] = {v.label: {} for v in variants}
    for mode in modes:
        steps = {name: (train_step(m, x, y) if mode == "train" else inference_step(m, x))
                 for name, m in models.items()}
        times = interleaved_times(steps, device, warmup=warmup, rounds=rounds)
        for name, t in times.items():
            median = statistics.median(t)
            out[name].update({f"{mode}_s_per_step": median, f"{mode}_rounds_s": t,
                              f"{mode}_images_per_s": batch_size / median})
    for v in variants:
        for mode in modes:
            mem = peak_memory(v, models[v.label], x, train=mode == "train", rss=rss)
            out[v.label].update({f"{mode}_{k}": b for k, b in mem.items()})
    return out


def ratios(numerator: dict[str, Any], denominator: dict[str, Any]) -> dict[str, float]:
    """numerator/denominator for every numeric measurement the two have in common."""
    return {k: numerator[k] / denominator[k] for k in numerator
            if k in denominator and isinstance(numerator[k], (int, float))
            and not isinstance(numerator[k], bool) and denominator[k]}


def _configure_sizes(parser: argparse.ArgumentParser, model: str) -> None:
    parser.add_argument("--model", default=model, help=f"registered model (default: {model})")
    parser.add_argument("--budget", default="cpu", choices=list(BUDGETS),
                        help="sets the default sizes; smoke results are not stored")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=None, help="default by budget")
    parser.add_argument("--image-size", type=int, default=None, help="default by budget")
    parser.add_argument("--rounds", type=int, default=None,
                        help="timed interleaved rounds; medians are reported (default by budget)")
    parser.add_argument("--rss", action=argparse.BooleanOptionalAction, default=None,
                        help="CPU: also a fresh process's peak RSS (default: off at smoke)")


def _plan(args: argparse.Namespace, *, batch: tuple[int, int, int], image: tuple[int, int, int]
          ) -> dict[str, Any]:
    """Sizes from the options, else the budget's (smoke, cpu, gpu) defaults."""
    b = get_budget(args.budget)

    def given_or(value: int | None, smoke: int, cpu: int, gpu: int) -> int:
        return b.pick(smoke=smoke, cpu=cpu, gpu=gpu) if value is None else value

    plan = {"batch_size": given_or(args.batch_size, *batch),
            "image_size": given_or(args.image_size, *image),
            "rounds": given_or(args.rounds, 1, 3, 20),
            "warmup": b.pick(smoke=0, cpu=1, gpu=5),
            "rss": b.name != "smoke" if args.rss is None else args.rss}
    if plan["rounds"] < 1:
        raise BenchInputError(f"rounds must be >= 1, got {plan['rounds']}; pass --rounds N, N >= 1")
    check_sizes(plan["batch_size"], plan["image_size"], args.model)
    return plan


def _memory_line(m: dict[str, Any], prefix: str) -> str:
    keys = [k for k in ("cuda_peak_bytes", "saved_bytes", "rss_peak_bytes")
            if f"{prefix}{k}" in m]
    return ", ".join(f"{k.replace('_bytes', '')} {m[prefix + k] / 2**20:.1f} MiB" for k in keys)


def densenet_memory(model: str, budget: str, device: str | torch.device = "auto", *,
                    seed: int = 0, batch_size: int | None = None, image_size: int | None = None,
                    rounds: int | None = None, rss: bool | None = None) -> results.Result:
    """Naive vs memory-efficient ``model``: training-step time (interleaved) and peak memory,
    with the ratios efficient/naive (GPU target: memory <= 0.40 at time <= 1.15)."""
    args = argparse.Namespace(model=model, budget=budget, batch_size=batch_size,
                              image_size=image_size, rounds=rounds, rss=rss)
    plan = _plan(args, batch=(2, 16, 64), image=(32, 32, 32))
    dev = resolve_device(device)
    card = model_info(model)
    naive, efficient = (Variant("cnnpapers", model, flag, card.num_classes)
                        for flag in (False, True))
    config = {"budget": budget, "seed": seed, "model": model, **plan,
              "device_name": device_name(dev)}

    def compute() -> dict[str, Any]:
        m = measure_variants([naive, efficient], device=dev, modes=("train",), seed=seed, **plan)
        return {"metrics": {"naive": m[naive.label], "efficient": m[efficient.label],
                            "efficient_over_naive": ratios(m[efficient.label], m[naive.label]),
                            "device_name": device_name(dev)}}

    return results.cached(f"bench/densenet-memory/{model}", config, compute, device=str(dev),
                          force=True)


def vs_torchvision(model: str, budget: str, device: str | torch.device = "auto", *,
                   seed: int = 0, batch_size: int | None = None, image_size: int | None = None,
                   rounds: int | None = None, rss: bool | None = None) -> results.Result:
    """Ours vs torchvision's same architecture, memory_efficient False and True, same weights:
    training and inference images/s (interleaved rounds, medians) and peak memory, with the
    ratios ours/torchvision per setting."""
    card = model_info(model)
    if card.torchvision is None:
        raise BenchInputError(f"{model} has no torchvision twin; pick a model whose card names "
                              f"one, e.g. --model densenet121")
    args = argparse.Namespace(model=model, budget=budget, batch_size=batch_size,
                              image_size=image_size, rounds=rounds, rss=rss)
    plan = _plan(args, batch=(2, 8, 64), image=(64, 224, 224))
    dev = resolve_device(device)
    pairs = {flag: (Variant("cnnpapers", model, flag, card.num_classes),
                    Variant("torchvision", card.torchvision, flag, card.num_classes))
             for flag in (False, True)}
    variants = [v for pair in pairs.values() for v in reversed(pair)]  # torchvision's weights
    config = {"budget": budget, "seed": seed, "model": model, "torchvision": card.torchvision,
              **plan, "device_name": device_name(dev)}

    def compute() -> dict[str, Any]:
        m = measure_variants(variants, device=dev, modes=("train", "inference"), seed=seed,
                             **plan)
        return {"metrics": {
            "variants": m, "device_name": device_name(dev),
            "ours_over_torchvision": {
                f"memory_efficient={flag}": ratios(m[ours.label], m[theirs.label])
                for flag, (ours, theirs) in pairs.items()}}}

    return results.cached(f"bench/vs-torchvision/{model}", config, compute, device=str(dev),
                          force=True)


def _sizes_line(result: results.Result) -> str:
    c = result.config
    return (f"batch {c['batch_size']} at {c['image_size']}x{c['image_size']}, {c['rounds']} "
            f"interleaved rounds (median), budget {c['budget']}, {result.metrics['device_name']}")


@register_benchmark("densenet-memory", "naive vs memory-efficient DenseNet: memory and step time",
                    lambda p: _configure_sizes(p, "densenet_bc_100_k12"))
def densenet_memory_bench(args: argparse.Namespace) -> results.Result:
    result = densenet_memory(args.model, args.budget, args.device, seed=args.seed,
                             batch_size=args.batch_size, image_size=args.image_size,
                             rounds=args.rounds, rss=args.rss)
    m = result.metrics
    print(f"densenet-memory: {args.model}, {_sizes_line(result)}")
    for form in ("naive", "efficient"):
        print(f"  {form:<10} {m[form]['train_s_per_step'] * 1e3:>9.1f} ms/step; "
              f"{_memory_line(m[form], 'train_')}")
    r = m["efficient_over_naive"]
    memory = {k: v for k, v in r.items() if k.endswith("_bytes")}
    print(f"  efficient/naive: time {r['train_s_per_step']:.2f}x (target <= 1.15 on GPU); "
          + ", ".join(f"{k[6:-6]} {v:.2f}x" for k, v in memory.items())
          + " (target <= 0.40 on GPU)")
    return result


@register_benchmark("vs-torchvision", "ours vs torchvision DenseNet: images/s and peak memory",
                    lambda p: _configure_sizes(p, "densenet121"))
def vs_torchvision_bench(args: argparse.Namespace) -> results.Result:
    result = vs_torchvision(args.model, args.budget, args.device, seed=args.seed,
                            batch_size=args.batch_size, image_size=args.image_size,
                            rounds=args.rounds, rss=args.rss)
    m = result.metrics
    print(f"vs-torchvision: {args.model}, {_sizes_line(result)}")
    for name, v in m["variants"].items():
        print(f"  {name:<44} train {v['train_images_per_s']:>8.1f} images/s, inference "
              f"{v['inference_images_per_s']:>8.1f} images/s; {_memory_line(v, 'train_')}")
    for setting, r in m["ours_over_torchvision"].items():
        print(f"  ours/torchvision ({setting}): train {r['train_images_per_s']:.2f}x, "
              f"inference {r['inference_images_per_s']:.2f}x images/s"
              + "".join(f", {k} {v:.2f}x" for k, v in r.items() if k.endswith("_bytes")))
    return result


# --------------------------------------------------------------------------- all


def _configure_all(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--budget", default="cpu", choices=list(BUDGETS))
    parser.add_argument("--device", default="auto")


@register_benchmark("all", "every other benchmark with its defaults for the budget",
                    _configure_all)
def run_all(args: argparse.Namespace) -> results.Result:
    """Each benchmark in turn; one that fails does not stop the rest, but the run then fails."""
    done: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for bench in [b for name, b in BENCHMARKS.items() if name != "all"]:
        parser = argparse.ArgumentParser(prog=bench.name)
        bench.configure(parser)
        bench_args = parser.parse_args(["--budget", args.budget, "--device", args.device])
        try:
            done[bench.name] = bench.run(bench_args).experiment
        except Exception as err:  # noqa: BLE001 - reported below, and the run fails
            failed[bench.name] = f"{type(err).__name__}: {err}"
            print(f"{bench.name} failed: {failed[bench.name]}")
    if failed:
        raise RuntimeError(f"benchmarks failed: {failed}")
    config = {"budget": args.budget, "seed": 0, "benchmarks": sorted(done)}
    return results.cached("bench/all", config, lambda: {"metrics": {"experiments": done}},
                          device=str(resolve_device(args.device)), force=True)
