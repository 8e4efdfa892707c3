"""Command line: ``python -m cnnpapers {train,experiments,list-models,list-schedules,bench} ...``.

Every bad argument (unknown model, dataset, budget, schedule, benchmark, a malformed value) ends
with one line naming the valid choices and exit status 2; a missing dataset or a diverged run
with one line saying what to do and exit status 1. Run ``python -m cnnpapers train --help``
for the budgets.
"""

from __future__ import annotations

import argparse
import ast
import sys
from typing import Sequence

from .budgets import BUDGETS, get_budget
from .data import DATASETS, DatasetError
from .registry import list_models, model_info
from .schedules import SCHEDULES, get_schedule


class UsageError(ValueError):
    """A bad command-line argument (exit status 2)."""


def _budget_help() -> str:
    lines = ["budgets (how much of the paper's experiment a run gets):"]
    for b in BUDGETS.values():
        images = "all" if b.train_images is None else f"{b.train_images:,}"
        if b.epoch_fraction == 0:
            epochs = f"{b.max_epochs} epoch"
        else:
            cap = "" if b.max_epochs is None else f" (at most {b.max_epochs})"
            epochs = f"{b.epoch_fraction:.0%} of the schedule's epochs{cap}"
        tests = "all" if b.test_images is None else f"{b.test_images:,}"
        lines.append(f"  {b.name:<6} {b.description} ({b.hardware}):")
        lines.append(f"         {images} training / {tests} test images, {epochs}")
    lines += [
        "",
        "Schedules keep their shape under every budget: learning-rate drops happen at the same",
        "fraction of training. --epochs and --train-images override the budget's numbers.",
        "Results (not smoke) are cached under results/<budget>/; checkpoints go to runs/.",
    ]
    return "\n".join(lines)


def _model_arg(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE (e.g. growth_rate=12), got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from .bench import BENCHMARKS, add_fast_path_options

    parser = argparse.ArgumentParser(
        prog="python -m cnnpapers",
        description="Models, training and benchmarks of the CNN-papers book.",
        epilog=_budget_help(), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train a registered model on a dataset at a budget",
                       description="Train a registered model with its paper's schedule, cached "
                                   "under results/ with provenance.",
                       epilog=_budget_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--model", required=True, help="registered variant (see list-models)")
    t.add_argument("--dataset", default="fashion-mnist", help=f"one of {', '.join(DATASETS)}")
    t.add_argument("--budget", default="smoke", help=f"one of {', '.join(BUDGETS)} (see below)")
    t.add_argument("--schedule", default=None,
                   help="paper schedule (see list-schedules; default: the model's for the dataset)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--epochs", type=_positive, default=None, help="override the budget's epochs")
    t.add_argument("--train-images", type=_positive, default=None,
                   help="override the budget's training-set size")
    t.add_argument("--test-images", type=_positive, default=None)
    t.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="augmentation (default: the schedule's)")
    t.add_argument("--ten-crop", action="store_true", help="also report 10-crop test error")
    t.add_argument("--model-arg", type=_model_arg, action="append", default=[],
                   metavar="NAME=VALUE",
                   help="override a hyper-parameter of the variant (repeatable)")
    t.add_argument("--experiment", default=None, help="result name (default: train/MODEL/DATASET)")
    t.add_argument("--resume", action="store_true", help="continue from this run's last checkpoint")
    t.add_argument("--force", action="store_true", help="retrain even if a cached result exists")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    t.add_argument("--download", action="store_true", help="download CIFAR/SVHN via torchvision")
    t.add_argument("--data-root", default=None, help="folder holding CIFAR/SVHN ($CNNPAPERS_DATA)")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    t.add_argument("--log-every", type=_positive, default=None, metavar="N",
                   help="print a line every N batches")
    add_fast_path_options(t)

    e = sub.add_parser("experiments", help="list or run the chapters' registered experiments",
                       description="Every training run the book's chapters need, as registered in "
                                   "cnnpapers/experiments/. `run` trains what is not cached yet "
                                   "(no Jupyter needed), so a GPU machine can precompute a budget.")
    esub = e.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (("list", "list experiments and whether a result is stored"),
                         ("run", "train every experiment that has no stored result")):
        a = esub.add_parser(action, help=text)
        a.add_argument("--budget", default="cpu", help=f"one of {', '.join(BUDGETS)}")
        a.add_argument("--chapter", default=None, help="only this chapter's experiments")
        a.add_argument("--name", default=None, metavar="GLOB",
                       help="only experiments whose name matches, e.g. '*/densenet_bc_100_k12/seed0'")
        if action == "run":
            a.add_argument("--device", default=None, help="override the configs' device (auto)")
            a.add_argument("--force", action="store_true", help="retrain even if cached")
            a.add_argument("--no-progress", action="store_true", help="no progress bars")

    lm = sub.add_parser("list-models", help="list registered model variants")
    lm.add_argument("pattern", nargs="?", default=None, help="glob, e.g. 'densenet*'")
    lm.add_argument("--category", default=None, help="a category of the survey's taxonomy")

    sub.add_parser("list-schedules", help="list the paper training schedules")

    b = sub.add_parser("bench", help="run a named benchmark",
                       description="Named benchmarks; each writes a result with provenance.")
    bsub = b.add_subparsers(dest="benchmark", required=True, metavar="NAME")
    for bench in BENCHMARKS.values():
        bench.configure(bsub.add_parser(bench.name, help=bench.help, description=bench.help))
    return parser


def _check_names(args: argparse.Namespace) -> None:
    """Turn unknown names into UsageErrors before anything is loaded."""
    if getattr(args, "budget", None) is not None:
        try:
            get_budget(args.budget)
        except ValueError as err:
            raise UsageError(str(err)) from None
    for attr, check in (("model", model_info), ("schedule", get_schedule)):
        if getattr(args, attr, None) is not None:
            try:
                check(getattr(args, attr))
            except ValueError as err:
                raise UsageError(str(err)) from None
    dataset = getattr(args, "dataset", None)
    if dataset is not None and dataset not in DATASETS:
        raise UsageError(f"unknown dataset {dataset!r}; choose one of {list(DATASETS)}")


def _train(args: argparse.Namespace) -> int:
    from .train import TrainConfig, experiment_name, run_experiment
    from . import results

    try:
        config = TrainConfig(
            model=args.model, dataset=args.dataset, budget=args.budget, seed=args.seed,
            schedule=args.schedule, device=args.device, model_kwargs=dict(args.model_arg),
            augment=args.augment, epochs=args.epochs, train_images=args.train_images,
            test_images=args.test_images, ten_crop=args.ten_crop, bf16=args.bf16,
            channels_last=args.channels_last, compile=args.compile, cuda_graphs=args.cuda_graphs,
            data_root=args.data_root, download=args.download,
        )
    except ValueError as err:
        raise UsageError(str(err)) from None
    experiment = args.experiment or experiment_name(config)
    progress = False if args.no_progress else "auto"
    result = run_experiment(experiment, config, resume=args.resume, force=args.force or None,
                            progress=progress, log=lambda line: print(line, flush=True),
                            log_every=args.log_every or 0)
    m = result.metrics
    print(f"{config.model} on {config.dataset} at budget {config.budget}: test accuracy "
          f"{m['test_accuracy']:.2%} (error {m['test_error']:.2%}) after {m['epochs']} epochs, "
          f"{m['wall_time_s']:.0f} s, {m['images_per_s']:.1f} images/s")
    if "test_error_10crop" in m:
        print(f"10-crop test error {m['test_error_10crop']:.2%}")
    if config.budget not in results.UNCACHED_BUDGETS:
        print(f"result: {results.result_path(experiment, result.config)} ({result.caption})")
    return 0


def _experiments(args: argparse.Namespace) -> int:
    from . import experiments

    try:
        todo = experiments.experiments(args.budget, args.chapter, args.name)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if args.action == "list":
        for exp in todo:
            stored = "stored" if experiments.lookup(exp) is not None else "missing"
            print(f"{stored:<8} {exp.name:<60} {exp.config.model}")
        return 0
    experiments.run_all(args.budget, args.chapter, device=args.device, force=args.force or None,
                        progress=False if args.no_progress else "auto", name=args.name)
    return 0


def _list_models(args: argparse.Namespace) -> int:
    try:
        names = list_models(args.pattern, category=args.category)
    except ValueError as err:
        raise UsageError(str(err)) from None
    for name in names:
        card = model_info(name)
        print(f"{name:<32} {card.category.value:<28} {card.paper.cite()}")
    return 0


def _list_schedules(_: argparse.Namespace) -> int:
    for name in SCHEDULES:
        s = get_schedule(name)
        print(s.describe())
        print(f"    source: {s.source}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from .bench import BenchInputError, get_benchmark

    try:
        get_benchmark(args.benchmark).run(args)
    except BenchInputError as err:
        raise UsageError(str(err)) from None
    return 0


COMMANDS = {"train": _train, "experiments": _experiments, "list-models": _list_models, "list-schedules": _list_schedules,
            "bench": _bench}


def main(argv: Sequence[str] | None = None) -> int:
    from .train import NonFiniteLossError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _check_names(args)
        return COMMANDS[args.command](args)
    except UsageError as err:
        parser.exit(2, f"{parser.prog} {args.command}: error: {err}\n")
    except (DatasetError, NonFiniteLossError) as err:
        parser.exit(1, f"{parser.prog} {args.command}: error: {err}\n")
    finally:
        _leave_process_group()


def _leave_process_group() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
