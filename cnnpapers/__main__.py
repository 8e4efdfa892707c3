"""Command line: ``python -m cnnpapers {train,experiments,list-models,list-schedules,bench} ...``.

A mistake ends in an error line on stderr that says what to do, never a traceback:

* exit status 2, a usage mistake, found before any data loads: an unknown model, dataset, budget,
  schedule or benchmark (with the nearest names), a malformed value, a ``--model-arg`` the model
  does not take or of the wrong type, a device this machine lacks (``--device cuda`` without a
  GPU, ``--cuda-graphs`` on a CPU), fewer training images than one batch;
* exit status 1, a problem of the machine or the files: a missing dataset, a results or runs
  folder that cannot be written (found before training), a checkpoint that cannot be resumed, a
  diverged run;
* exit status 130, Ctrl-C: the line gives the command that carries on.

CONTRIBUTING.md ("Bad input and what it gets") lists them. Run ``python -m cnnpapers train
--help`` for the budgets.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, NoReturn, Sequence

from .budgets import BUDGETS, get_budget
from .data import DATASETS, DatasetError
from .registry import (
    count_parameters, did_you_mean, list_models, model_info, parse_hyper_parameters,
)
from .schedules import SCHEDULES, get_schedule

if TYPE_CHECKING:
    from .train import TrainConfig

PROG = "python -m cnnpapers"
# Hyper-parameters of every variant that a run takes from its dataset.
SET_BY_DATASET = ("num_classes", "in_channels")


class UsageError(ValueError):
    """A bad command-line argument (exit status 2)."""


class RunError(RuntimeError):
    """A problem outside the command line, e.g. a folder that cannot be written (exit status 1)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training; ``resumable`` when a checkpoint of the run exists to resume."""

    def __init__(self, resumable: bool):
        super().__init__()
        self.resumable = resumable


class _Parser(argparse.ArgumentParser):
    """argparse whose mistakes are one line (the usage block is what ``--help`` is for), and
    whose invalid choices come with the nearest valid ones."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        # argparse's own hook for choices (where Python 3.14's suggest_on_error suggests too)
        try:
            super()._check_value(action, value)
        except argparse.ArgumentError as err:
            hint = did_you_mean(str(value), map(str, action.choices))
            if not hint:
                raise
            raise argparse.ArgumentError(action, f"{err.message}.{hint}") from None


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


def _model_arg(text: str) -> tuple[str, str]:
    """NAME=VALUE, split; the value is typed later, as the model takes it (see _model_kwargs)."""
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE (e.g. growth_rate=12), got {text!r}")
    return key, value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value:g}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from .bench import BENCHMARKS, add_fast_path_options

    parser = _Parser(
        prog=PROG,
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
                   help="override a hyper-parameter of the variant (repeatable), typed as the "
                        "model takes it: shortcuts=false, block_config=6,12,24,16, attention=se")
    t.add_argument("--experiment", default=None, help="result name (default: train/MODEL/DATASET)")
    t.add_argument("--resume", action="store_true", help="continue from this run's last checkpoint")
    t.add_argument("--continue-lr-scale", type=_positive_float, default=None, metavar="F",
                   help="go on from the plain run's last checkpoint (e.g. after a NaN loss) with "
                        "the learning rate times F, as a run and result of its own")
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
    """Turn unknown names into UsageErrors, with the nearest known names, before anything loads."""
    for attr, check, choices in (("budget", get_budget, BUDGETS), ("model", model_info, ()),
                                 ("schedule", get_schedule, SCHEDULES)):
        name = getattr(args, attr, None)
        if name is not None:
            try:
                check(name)
            except ValueError as err:  # model_info's message has its suggestions already
                raise UsageError(_with_hint(str(err), name, choices)) from None
    dataset = getattr(args, "dataset", None)
    if dataset is not None and dataset not in DATASETS:
        raise UsageError(_with_hint(f"unknown dataset {dataset!r}; choose one of {list(DATASETS)}",
                                    dataset, DATASETS))


def _with_hint(message: str, name: str, choices: Iterable[str]) -> str:
    """``message``, closed by a full stop, then "Did you mean ...?" if a choice is close."""
    hint = did_you_mean(name, choices)
    return f"{message.rstrip('.')}.{hint}" if hint else message


def _check_device(args: argparse.Namespace) -> None:
    """A device this machine lacks is a usage mistake (the fix is another --device), caught here
    rather than when the model moves to it after the data has loaded."""
    from .train import resolve_device

    if getattr(args, "device", None) is None:
        return
    try:
        device = resolve_device(args.device)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if getattr(args, "cuda_graphs", False) and device.type != "cuda":
        raise UsageError(f"--cuda-graphs needs a CUDA device and this run is on {device}; "
                         f"drop --cuda-graphs, or run on a GPU machine")


def _model_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The --model-arg values typed as the model's factory takes them, then tried on the meta
    device, so that a value the model refuses (a depth it has no layout for) fails before any
    data loads."""
    texts = dict(args.model_arg)
    for name in SET_BY_DATASET:
        if name in texts:
            raise UsageError(f"--model-arg {name} is taken from the dataset; drop it")
    try:
        kwargs = parse_hyper_parameters(args.model, texts)
        count_parameters(args.model, **kwargs)
    except (ValueError, TypeError) as err:
        raise UsageError(f"--model-arg: {err}") from None
    return kwargs


def _train_config(args: argparse.Namespace) -> TrainConfig:
    from .train import TrainConfig

    try:
        config = TrainConfig(
            model=args.model, dataset=args.dataset, budget=args.budget, seed=args.seed,
            schedule=args.schedule, device=args.device, model_kwargs=_model_kwargs(args),
            augment=args.augment, epochs=args.epochs, train_images=args.train_images,
            test_images=args.test_images, ten_crop=args.ten_crop, bf16=args.bf16,
            channels_last=args.channels_last, compile=args.compile, cuda_graphs=args.cuda_graphs,
            data_root=args.data_root, download=args.download,
        )
        _check_one_batch(config)
    except ValueError as err:
        raise UsageError(str(err)) from None
    return config


def _check_one_batch(config: TrainConfig) -> None:
    """Training drops the last partial batch, so fewer images than one batch would train nothing
    (schedules.steps_per_epoch says so too, but only once the data has loaded)."""
    schedule = config.resolved_schedule()
    images = config.train_images or get_budget(config.budget).train_images
    if images is not None and images < schedule.batch_size:
        given = (f"--train-images {images} is" if config.train_images
                 else f"budget {config.budget}'s {images} training images are")
        raise UsageError(f"{given} fewer than one batch of {schedule.batch_size} (schedule "
                         f"{schedule.name}); pass --train-images {schedule.batch_size} or more")


def _trains(experiment: str, record: dict[str, Any], force: bool) -> bool:
    """Whether running ``experiment`` trains (and so writes) rather than serving a stored result."""
    from . import results

    if force or os.environ.get(results.FORCE_ENV, "") not in ("", "0"):
        return True
    with warnings.catch_warnings():  # results.cached reports a damaged file as it replaces it
        warnings.simplefilter("ignore")
        try:
            return results.lookup(experiment, record) is None
        except OSError:  # e.g. results/ is a file: _check_writable says so
            return True


def _check_writable(experiment: str, config: TrainConfig, record: dict[str, Any]) -> None:
    """The folders a run writes, its checkpoint's and (unless the budget stores no results) its
    result's, must be writable now, or a read-only results/ would fail after all the training."""
    from . import results
    from .train import RUNS_DIR_ENV, run_dir_for

    folders = {run_dir_for(experiment, config): RUNS_DIR_ENV}
    if config.budget not in results.UNCACHED_BUDGETS:
        folders[results.result_path(experiment, record).parent] = results.RESULTS_DIR_ENV
    for folder, env in folders.items():
        # the nearest folder that exists decides: the others would be created in it
        existing = next(p for p in (folder, *folder.parents) if p.exists())
        if not (existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)):
            raise RunError(f"cannot write {folder}: {existing} is not a writable folder; make it "
                           f"writable, or set {env} to a folder that is")


def _checkpoints(folder: Path) -> dict[Path, int]:
    """The checkpoints of the runs below ``folder`` (``runs/<budget>/<experiment>``) and when each
    was written: one that is new or rewritten means the run finished an epoch."""
    return {p: p.stat().st_mtime_ns for p in folder.glob("*/checkpoint.pt")}


def _train(args: argparse.Namespace) -> int:
    from .train import experiment_name, run_dir_for, run_experiment
    from . import results

    config = _train_config(args)
    experiment = args.experiment or experiment_name(config)
    record = config.as_record()
    try:
        results.result_path(experiment, record)
    except ValueError as err:
        raise UsageError(f"--experiment: {err}") from None
    if _trains(experiment, record, args.force):
        _check_writable(experiment, config, record)
    progress = False if args.no_progress else "auto"
    runs = run_dir_for(experiment, config).parent  # every run of the experiment, continuations too
    before = _checkpoints(runs)
    try:
        result = run_experiment(experiment, config, resume=args.resume,
                                continue_lr_scale=args.continue_lr_scale,
                                force=args.force or None, progress=progress,
                                log=lambda line: print(line, flush=True),
                                log_every=args.log_every or 0)
    except KeyboardInterrupt:
        written = any(before.get(p) != t for p, t in _checkpoints(runs).items())
        raise Interrupted(args.resume or written) from None
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
    for exp in todo:
        record = experiments.experiment_record(exp)
        if _trains(exp.name, record, args.force):
            _check_writable(exp.name, exp.config, record)
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
    from .train import CheckpointError, NonFiniteLossError

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    prefix = f"{PROG} {args.command}"
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warning_line(prefix)
            # one line per problem, however often the library meets it (append: after the
            # filters libraries set for their own warnings)
            warnings.filterwarnings("once", category=UserWarning, append=True)
            _check_names(args)
            _check_device(args)
            return COMMANDS[args.command](args)
    except UsageError as err:
        parser.exit(2, f"{prefix}: error: {err}\n")
    except (RunError, DatasetError, CheckpointError, NonFiniteLossError) as err:
        parser.exit(1, f"{prefix}: error: {err}\n")
    except KeyboardInterrupt as stop:
        resumable = isinstance(stop, Interrupted) and stop.resumable
        parser.exit(130, f"{prefix}: interrupted; {_how_to_continue(args, argv, resumable)}\n")
    finally:
        _leave_process_group()


def _warning_line(prefix: str) -> Callable[..., None]:
    """A ``warnings.showwarning`` printing ``prefix: warning: message`` (e.g. for a damaged stored
    result about to be replaced): where in the library the warning was raised means nothing to
    someone at the command line."""
    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"{prefix}: warning: {message}", file=sys.stderr, flush=True)
    return show


def _how_to_continue(args: argparse.Namespace, argv: list[str], resumable: bool) -> str:
    """After Ctrl-C, the command that carries on: ``train`` resumes from its checkpoint (the last
    finished epoch) if it has one; ``experiments run`` skips the experiments already stored."""
    again = [*PROG.split(), *argv]
    if args.command == "train" and resumable:
        resume = [] if args.resume else ["--resume"]
        return f"continue from the last finished epoch with: {shlex.join(again + resume)}"
    if args.command == "train":
        return f"no epoch had finished, so start again with: {shlex.join(again)}"
    if args.command == "experiments":
        return f"train the experiments not stored yet with: {shlex.join(again)}"
    return "nothing was stored"


def _leave_process_group() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
