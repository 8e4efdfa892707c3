"""Named benchmarks, run as ``python -m cnnpapers bench NAME [options]``.

Each benchmark registers itself with :func:`register_benchmark`: a name, a one-line help, a
function adding its options to an ``argparse`` parser, and a function that runs it and returns a
:class:`cnnpapers.results.Result` (written under ``results/<budget>/bench/...`` with provenance,
except at the ``smoke`` budget). Benchmarks always measure afresh (``force=True``).

* ``train-speed``: images/s of :func:`cnnpapers.train.fit` with its fast path against a plain eager
  fp32 PyTorch loop (``DataLoader`` over a ``TensorDataset``, NCHW) on the same model, data, batch
  size and optimiser, side by side in one process, with the ratio (:func:`compare_loops`).
* ``fast-path-parity``: the same short training run with the plain path and with the fast path;
  the learning curves must agree within noise.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import asdict, dataclass
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
    switches = [k for k, v in asdict(fast).items() if v and k != "data_on_device"]
    on = ", ".join(switches) or "fp32 eager"
    print(f"train-speed: {model_name} on {args.dataset} {tuple(train_set.shape)}, batch "
          f"{args.batch_size}, {steps} timed steps x {args.rounds} rounds, {m['device_name']}")
    print(f"  {'plain eager fp32 loop (DataLoader)':<44}{m['plain_images_per_s']:>10.1f} images/s")
    print(f"  {'cnnpapers fit (' + on + ')':<44}{m['ours_images_per_s']:>10.1f} images/s")
    print(f"  {'ratio':<44}{m['ratio']:>10.2f}x")
    return result


# --------------------------------------------------------------------------- fast-path parity


def _configure_parity(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--train-images", type=int, default=None)
    parser.add_argument("--test-images", type=int, default=None)


@register_benchmark("fast-path-parity", "the same short run with the plain and the fast path",
                    _configure_parity)
def fast_path_parity(args: argparse.Namespace) -> results.Result:
    model_name = args.model or default_model()
    device = resolve_device(args.device)
    fast = resolve_fast_path(device, bf16=args.bf16, channels_last=args.channels_last,
                             compile=args.compile, cuda_graphs=args.cuda_graphs)
    common = dict(model=model_name, dataset=args.dataset, budget=args.budget, seed=args.seed,
                  device=args.device, epochs=args.epochs, train_images=args.train_images,
                  test_images=args.test_images)
    plain_cfg = TrainConfig(**common, bf16=False, channels_last=False, compile=False)
    fast_cfg = TrainConfig(**common, bf16=fast.bf16, channels_last=fast.channels_last,
                           compile=fast.compile, cuda_graphs=fast.cuda_graphs)
    config = {**plain_cfg.as_record(), "fast_path": asdict(fast)}

    def compute() -> dict[str, Any]:
        plain = train(plain_cfg, progress=False)
        quick = train(fast_cfg, progress=False)
        gap = [abs(a - b) for a, b in zip(plain.test_error, quick.test_error)]
        return {"metrics": {"plain": plain.metrics(), "fast": quick.metrics(),
                            "max_test_error_gap": max(gap),
                            "speedup": (quick.metrics()["images_per_s"]
                                        / plain.metrics()["images_per_s"])},
                "curves": {"plain": plain.curves(), "fast": quick.curves()}}

    result = results.cached(f"bench/fast-path-parity/{model_name}/{args.dataset}", config, compute,
                            device=str(device), force=True)
    p, f = result.curves["plain"], result.curves["fast"]
    print(f"fast-path-parity: {model_name} on {args.dataset}; fast path {asdict(fast)}")
    print(f"  {'epoch':>5} {'plain test err':>15} {'fast test err':>15} {'plain loss':>11} "
          f"{'fast loss':>11}")
    for i, e in enumerate(p["epoch"]):
        print(f"  {e:>5} {p['test_error'][i]:>15.2%} {f['test_error'][i]:>15.2%} "
              f"{p['train_loss'][i]:>11.4f} {f['train_loss'][i]:>11.4f}")
    print(f"  speed-up {result.metrics['speedup']:.2f}x; largest test-error gap "
          f"{result.metrics['max_test_error_gap']:.2%}")
    return result
