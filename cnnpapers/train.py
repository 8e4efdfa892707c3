"""The training engine every chapter's experiments run on.

Three levels, from the top:

* :func:`run_experiment` — a named, cached experiment: ``results/<budget>/<name>/<hash>.json``
  holds its metrics, learning curves, configuration and provenance (:mod:`cnnpapers.results`).
* :func:`train` — one run described by a :class:`TrainConfig` (model and dataset by name, budget,
  seed, schedule, fast-path switches): loads the data, builds the model, calls :func:`fit`.
* :func:`fit` — the loop itself, for any ``nn.Module`` (a chapter's custom module too), with
  :class:`Callback` hooks after every batch and epoch (e.g. gradient-flow probes).

The loop keeps the whole dataset as a uint8 tensor on the training device, draws an epoch's
shuffle and augmentation from generators seeded by ``(seed, epoch)``, and sets the learning rate
every step from the paper's schedule (:mod:`cnnpapers.schedules`). After every epoch it writes a
checkpoint atomically, so a killed run resumed with ``resume=True`` ends with exactly the numbers
of an uninterrupted one (CPU, same seed). A non-finite loss stops the run with
:class:`NonFiniteLossError` and leaves the last good checkpoint in place, from which
``run_experiment(..., continue_lr_scale=0.5)`` (``--continue-lr-scale 0.5``) goes on at half the
learning rate, as a run of its own. Under ``torchrun`` the same loop runs with
``DistributedDataParallel``: the global batch is the schedule's, split over the processes, and
every process sees the same augmented images a single process would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from . import augment as A
from . import provenance, results
from .budgets import Budget, get_budget
from .data import DATASETS, TensorDataset, load_dataset
from .registry import _variant, create_model, model_info  # _variant: hyper-parameter names
from .schedules import Schedule, default_schedule, get_schedule, steps_per_epoch

RUNS_DIR_ENV = "CNNPAPERS_RUNS"
CPU_BF16_ENV = "CNNPAPERS_CPU_BF16"
# The budget whose runs must print the same numbers on every machine (CI compares them).
PORTABLE_BUDGET = "smoke"
AUX_LOSS_WEIGHT = 0.3  # Szegedy et al. 2015, Sec. 5: auxiliary losses "with a discount weight 0.3"
CHECKPOINT_FORMAT = 1


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the message names the last good checkpoint."""


# --------------------------------------------------------------------------- devices, fast path


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: this process's GPU (``LOCAL_RANK`` under torchrun) if there is one, else CPU.

    Otherwise a device name (``cpu``, ``cuda``, ``cuda:N``, any case); a CUDA device must exist on
    this machine. A name torch does not know or a missing GPU is a ``ValueError`` naming the fix.
    """
    if str(device) != "auto":
        try:
            device = torch.device(str(device).lower())
        except RuntimeError:  # "gpu", "tpu", "cuda:x": torch lists all its backends' names
            raise ValueError(f"unknown device {str(device)!r}; use --device auto, cpu, cuda or "
                             f"cuda:N") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("no CUDA device here; use --device cpu or auto")
        if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
            raise ValueError(f"no CUDA device {device.index} here (this machine has "
                             f"{torch.cuda.device_count()}); use --device auto, cuda, or cuda:N "
                             f"with N < {torch.cuda.device_count()}")
        if device.type == "cuda" and device.index is None:  # so it equals tensors' cuda:N
            device = torch.device("cuda", torch.cuda.current_device())
        return device
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def cpu_has_native_bf16() -> bool:
    """True when the CPU computes bf16 natively (AVX-512 BF16 or AMX), where bf16 autocast pays.

    On AVX2-only CPUs PyTorch emulates bf16 convolutions, which is several times *slower* than
    fp32, so the fast path must not use it there. ``$CNNPAPERS_CPU_BF16=1`` (or ``0``) overrides
    the detection, so one machine can run the suite as either kind of CPU would.
    """
    forced = os.environ.get(CPU_BF16_ENV, "")
    if forced in ("0", "1"):
        return forced == "1"
    if forced:
        raise ValueError(f"${CPU_BF16_ENV} must be 0 or 1 (or unset to detect), got {forced!r}")
    return _cpu_flags_have_bf16()


@functools.cache
def _cpu_flags_have_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))


@dataclass(frozen=True)
class FastPath:
    """Which speed-ups a run uses; each switch leaves the loss curve unchanged within noise.

    ``bf16``: autocast to bfloat16; ``channels_last``: NHWC memory layout; ``compile``:
    ``torch.compile`` of the model; ``cuda_graphs``: replay the compiled step as CUDA graphs
    (``mode="reduce-overhead"``); ``data_on_device``: keep the dataset in GPU memory.
    """

    bf16: bool = False
    channels_last: bool = False
    compile: bool = False
    cuda_graphs: bool = False
    data_on_device: bool = True

    @classmethod
    def plain(cls) -> "FastPath":
        """Eager fp32, contiguous NCHW: the reference every speed-up is measured against."""
        return cls()

    @property
    def label(self) -> str:
        """The speed-ups that are on, e.g. 'bf16, channels_last' (where the data lives is not
        one: on a CPU it is always on the device)."""
        on = [k for k, v in asdict(self).items() if v and k != "data_on_device"]
        return ", ".join(on) or "fp32 eager"


def resolve_fast_path(
    device: torch.device, *, bf16: bool | None = None, channels_last: bool | None = None,
    compile: bool | None = None, cuda_graphs: bool = False, data_on_device: bool | None = None,
) -> FastPath:
    """Fill the ``None`` switches with what is fast on ``device``.

    CUDA: bf16 (where supported), channels_last, data on the GPU. CPU: channels_last, and bf16
    only where the CPU computes it natively (:func:`cpu_has_native_bf16`). Measured on the 2-core
    AVX2 EPYC with DenseNet-BC-100 k=12 at batch 64: channels_last trains 1.1-1.2x faster than
    NCHW, bf16 autocast 6-10x *slower* (emulated). ``compile`` and ``cuda_graphs`` are opt-in: on
    that CPU ``torch.compile`` gained nothing after 4-20 minutes of compilation.
    """
    cuda = device.type == "cuda"
    native_bf16 = torch.cuda.is_bf16_supported() if cuda else cpu_has_native_bf16()
    bf16 = native_bf16 if bf16 is None else bf16
    channels_last = True if channels_last is None else channels_last
    if cuda_graphs and not cuda:
        raise ValueError("cuda_graphs needs a CUDA device")
    compile = bool(compile) or cuda_graphs
    data_on_device = True if data_on_device is None else data_on_device
    return FastPath(bf16, channels_last, compile, cuda_graphs, data_on_device or not cuda)


# --------------------------------------------------------------------------- distributed


@dataclass(frozen=True)
class _Dist:
    rank: int = 0
    world: int = 1

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def all_sum(self, values: torch.Tensor) -> torch.Tensor:
        if self.enabled:
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


def _distributed(device: torch.device) -> _Dist:
    """Join the process group torchrun describes in the environment (once per process)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 and not dist.is_initialized():
        return _Dist()
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return _Dist(dist.get_rank(), dist.get_world_size())


# --------------------------------------------------------------------------- seeds


def derive_seed(seed: int, *keys: object) -> int:
    """A 63-bit seed for one random stream of a run, e.g. ``derive_seed(seed, "shuffle", epoch)``.

    Streams are independent of each other and of how many epochs ran before, which is what makes
    a resumed run draw exactly what an uninterrupted one would.
    """
    digest = hashlib.sha256("/".join(map(str, (seed, *keys))).encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def _generator(seed: int, *keys: object) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(seed, *keys))


# --------------------------------------------------------------------------- history, callbacks


@dataclass
class History:
    """Per-epoch curves of a run; ``wall_time_s`` is cumulative, ``lr`` the epoch's last step's."""

    epoch: list[int] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_error: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_error: list[float] = field(default_factory=list)
    images_per_s: list[float] = field(default_factory=list)
    wall_time_s: list[float] = field(default_factory=list)
    test_error_10crop: float | None = None
    test_loss_10crop: float | None = None
    run: dict[str, Any] = field(default_factory=dict)  # what ran; filled by :func:`train`
    # wall time of the sessions before this one (a resumed run's), up to their last checkpoint
    earlier_sessions_s: float = 0.0
    # the checkpoint of another run this one went on from: {"checkpoint", "epoch", "lr_scale"}
    continued_from: dict[str, Any] | None = None

    CURVES = ("epoch", "lr", "train_loss", "train_error", "test_loss", "test_error",
              "images_per_s", "wall_time_s")

    def curves(self) -> dict[str, list]:
        return {k: list(getattr(self, k)) for k in self.CURVES}

    def metrics(self) -> dict[str, Any]:
        """Final numbers: the last epoch's errors (in [0, 1]) and losses, time and speed."""
        if not self.epoch:
            return {"epochs": 0}
        out: dict[str, Any] = {
            "epochs": self.epoch[-1], "train_loss": self.train_loss[-1],
            "train_error": self.train_error[-1], "test_loss": self.test_loss[-1],
            "test_error": self.test_error[-1], "test_accuracy": 1 - self.test_error[-1],
            "best_test_error": min(self.test_error), "wall_time_s": self.wall_time_s[-1],
            "images_per_s": sum(self.images_per_s) / len(self.images_per_s),
        }
        if self.test_error_10crop is not None:
            out["test_error_10crop"] = self.test_error_10crop
            out["test_loss_10crop"] = self.test_loss_10crop
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "History":
        return cls(**{k: data[k] for k in (f.name for f in dataclasses.fields(cls)) if k in data})


@dataclass
class TrainState:
    """What a :class:`Callback` sees. ``model`` is the bare module (not the DDP/compile wrapper);
    in ``on_batch_end`` its parameters' ``.grad`` still hold this batch's gradients."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: Schedule
    epochs: int
    steps_per_epoch: int
    history: History
    epoch: int = 0  # 0-based epoch in progress (on_epoch_end: the one just finished)
    step: int = 0  # 0-based step within the epoch
    loss: torch.Tensor | None = None  # this batch's loss (detached)
    rank: int = 0
    world_size: int = 1

    @property
    def global_step(self) -> int:
        return self.epoch * self.steps_per_epoch + self.step


class Callback:
    """Hooks into :func:`fit`; override the ones you need.

    ``on_batch_end`` runs after the optimiser step of every batch (gradients still populated),
    ``on_epoch_end`` after the epoch's evaluation and before its checkpoint is written.
    """

    def on_train_begin(self, state: TrainState) -> None: ...

    def on_batch_end(self, state: TrainState) -> None: ...

    def on_epoch_end(self, state: TrainState) -> None: ...

    def on_train_end(self, state: TrainState) -> None: ...


def _overrides(cb: Callback, hook: str) -> bool:
    return getattr(type(cb), hook) is not getattr(Callback, hook)


# --------------------------------------------------------------------------- checkpoints


class CheckpointError(ValueError):
    """A checkpoint to resume or continue from is missing, damaged, or another run's; the message
    says what to do."""


def _atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` through :func:`cnnpapers.results.atomic_write`: a killed write leaves the
    previous checkpoint intact."""
    results.atomic_write(path, lambda fh: torch.save(obj, fh))


def _read_checkpoint(path: Path, device: torch.device) -> dict[str, Any]:
    """The checkpoint at ``path``; a :class:`CheckpointError` naming the file if it cannot be."""
    try:
        ckpt = torch.load(path, map_location=device, weights_only=False)
    except FileNotFoundError:
        raise CheckpointError(f"there is no checkpoint at {path}") from None
    except Exception as err:  # torch.load fails in many ways on a truncated or foreign file
        raise CheckpointError(
            f"checkpoint {path} is damaged and cannot be read ({type(err).__name__}: {err}). "
            f"Delete it, or start over without resume (which replaces it)") from err
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        found = ckpt.get("format") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{path} is not a cnnpapers checkpoint (format {found!r})")
    return ckpt


def _load_checkpoint(path: Path, meta: dict[str, Any], device: torch.device,
                     ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    """The checkpoint at ``path`` if it was written by a run with ``meta`` (but for ``ignore``)."""
    ckpt = _read_checkpoint(path, device)
    differ = sorted(k for k in set(meta) | set(ckpt["meta"])
                    if k not in ignore and meta.get(k) != ckpt["meta"].get(k))
    if differ:
        raise CheckpointError(
            f"checkpoint {path} was written by a different run (differs in {differ}); resume with "
            f"the same settings, or start over without resume (the checkpoint is then replaced)"
        )
    return ckpt


# --------------------------------------------------------------------------- losses, inputs


def classification_loss(outputs: torch.Tensor | Sequence[torch.Tensor],
                        labels: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy (with ``label_smoothing``, the schedule's); a tuple ``(main, *aux)`` adds
    the auxiliary heads' losses times 0.3."""
    def ce(logits: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, labels, label_smoothing=label_smoothing)

    if isinstance(outputs, torch.Tensor):
        return ce(outputs)
    main, *aux = outputs
    return ce(main) + AUX_LOSS_WEIGHT * sum(ce(a) for a in aux)


def _logits(outputs: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    return outputs if isinstance(outputs, torch.Tensor) else outputs[0]


class _Inputs:
    """Turns uint8 images of one split into normalised float batches on the training device."""

    def __init__(self, data: TensorDataset, device: torch.device, fast: FastPath):
        store = device if fast.data_on_device else torch.device("cpu")
        self.images, self.labels = data.images.to(store), data.labels.to(store)
        self.mean, self.std = data.mean, data.std
        self.device, self.fast = device, fast
        self.copy_batches = self.images.device.type == "cpu" and device.type != "cpu"

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, idx: torch.Tensor, aug: A.Augmentation | None = None,
              choice: A.Draw | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.images[idx], self.labels[idx]
        if self.copy_batches:
            x = x.pin_memory().to(self.device, non_blocking=True)
            y = y.to(self.device, non_blocking=True)
        if aug is not None and aug.active:
            x = A.crop_flip(x, aug.padding, choice)
        return self.prepare(x), y

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        x = A.normalize(x, self.mean, self.std)
        return x.contiguous(memory_format=torch.channels_last) if self.fast.channels_last else x


def _autocast(device: torch.device, fast: FastPath):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=fast.bf16)


# --------------------------------------------------------------------------- evaluation


@torch.no_grad()
def _evaluate(model: nn.Module, inputs: _Inputs, *, batch_size: int, ten_crop_padding: int | None,
              ddp: _Dist) -> tuple[float, float]:
    """Mean loss and error over this process's share of ``inputs``, summed over all processes.

    With ``ten_crop_padding`` the softmax is averaged over the ten views of each image padded by
    that many pixels, and the loss is the negative log of the averaged probability.
    """
    was_training = model.training
    model.eval()
    dev = inputs.device
    sums = torch.zeros(2, dtype=torch.float64, device=dev)  # summed loss, mistakes
    share = torch.arange(ddp.rank, len(inputs), ddp.world, device=inputs.images.device)
    for start in range(0, len(share), batch_size):
        idx = share[start:start + batch_size]
        x, y = inputs.images[idx].to(dev), inputs.labels[idx].to(dev)
        if ten_crop_padding:  # all ten views of the batch in one forward pass
            x = A.ten_crop(F.pad(x, (ten_crop_padding,) * 4), x.shape[-1]).flatten(0, 1)
        with _autocast(dev, inputs.fast):
            logits = _logits(model(inputs.prepare(x))).float()
        # log of the views' mean softmax, computed stably in log space
        log_probs = logits.log_softmax(1).view(-1, len(y), logits.shape[1])
        log_probs = torch.logsumexp(log_probs, 0) - math.log(len(log_probs))
        loss = F.nll_loss(log_probs, y, reduction="sum")
        sums += torch.stack([loss.double(), (log_probs.argmax(1) != y).sum().double()])
    model.train(was_training)
    loss, wrong = ddp.all_sum(sums).tolist()
    return loss / len(inputs), wrong / len(inputs)  # the shares partition the whole split


def evaluate(model: nn.Module, test_set: TensorDataset, *, batch_size: int = 256,
             ten_crop: bool = False, crop_padding: int = 4, device: str | torch.device = "auto",
             fast: FastPath | None = None) -> dict[str, float]:
    """Test loss and error of ``model`` on ``test_set`` (already padded to the model's input size).

    ``ten_crop``: average the softmax over ten views (Huang et al. 2017, Table 3, following
    Krizhevsky et al. 2012): the four corner and the centre crops, and their mirror images, taken
    from the image zero-padded by ``crop_padding`` pixels, so the centre view is the image itself
    and the corners are the shifts training augmentation shows.
    """
    dev = resolve_device(device)
    fast = fast or FastPath.plain()
    model.to(dev)
    loss, error = _evaluate(model, _Inputs(test_set, dev, fast), batch_size=batch_size,
                            ten_crop_padding=crop_padding if ten_crop else None, ddp=_Dist())
    return {"loss": loss, "error": error}


# --------------------------------------------------------------------------- the loop


def fit(
    model: nn.Module,
    train_set: TensorDataset,
    test_set: TensorDataset,
    schedule: Schedule | str,
    epochs: int | None = None,
    *,
    batch_size: int | None = None,
    seed: int = 0,
    device: str | torch.device = "auto",
    augment: bool | str | None = None,
    fast: FastPath | None = None,
    callbacks: Iterable[Callback] = (),
    checkpoint: str | Path | None = None,
    resume: bool = False,
    continue_from: str | Path | None = None,
    lr_scale: float = 1.0,
    ten_crop: bool = False,
    loss_fn: Callable[..., torch.Tensor] | None = None,
    eval_batch_size: int = 250,
    progress: bool | str = "auto",
    log: Callable[[str], None] | None = None,
    log_every: int = 0,
) -> History:
    """Train ``model`` on ``train_set`` with ``schedule`` for ``epochs`` (default: the schedule's).

    ``train_set``/``test_set`` are uint8 :class:`~cnnpapers.data.TensorDataset` splits already at
    the model's input size (see :func:`cnnpapers.augment.pad_to`). ``augment``: ``None`` uses the
    schedule's augmentation, ``False`` none, ``True`` the schedule's (C10+ if it has none), or a
    name from :mod:`cnnpapers.augment`. ``fast`` defaults to :func:`resolve_fast_path` for the
    device. ``checkpoint`` is written atomically after every epoch; with ``resume`` training
    continues from it (a :class:`CheckpointError` if there is none). ``lr_scale`` multiplies the
    schedule's learning rate; ``continue_from`` names another run's checkpoint to start from
    (weights, optimiser state, epoch, history), e.g. the last good one of a run whose loss became
    NaN, to go on at a lower learning rate (``resume`` prefers this run's own checkpoint, once it
    has one). ``ten_crop`` adds a final 10-crop test evaluation. ``progress`` shows tqdm
    bars (``"auto"``: when stderr is a terminal); ``log`` receives a text line per epoch and, with
    ``log_every=N``, every N batches.
    """
    schedule = get_schedule(schedule)
    dev = resolve_device(device)
    if not lr_scale > 0:
        raise ValueError(f"lr_scale must be positive, got {lr_scale!r}")
    ckpt = Path(checkpoint) if checkpoint is not None else None
    own = resume and ckpt is not None and ckpt.exists()
    if resume and not own and continue_from is None:
        raise CheckpointError(f"nothing to resume: there is no checkpoint at {ckpt}; train "
                              f"without resume to start from epoch 1")
    loop = _Loop(model, train_set, test_set, schedule, dev, fast or resolve_fast_path(dev),
                 epochs=schedule.epochs if epochs is None else epochs,
                 batch=schedule.batch_size if batch_size is None else batch_size,
                 seed=seed, aug=_augmentation(augment, schedule),
                 loss_fn=loss_fn or functools.partial(
                     classification_loss, label_smoothing=schedule.label_smoothing),
                 eval_batch_size=eval_batch_size, log=log, log_every=log_every,
                 lr_scale=lr_scale)
    if own:
        loop.restore(ckpt)
    elif continue_from is not None:
        loop.restore(Path(continue_from), continuing=True)
    return loop.run(list(callbacks), ckpt, progress, ten_crop)


class _Loop:
    """The state of one :func:`fit` call; each method is one stage of training."""

    def __init__(self, model: nn.Module, train_set: TensorDataset, test_set: TensorDataset,
                 schedule: Schedule, dev: torch.device, fast: FastPath, *, epochs: int, batch: int,
                 seed: int, aug: A.Augmentation, loss_fn: Callable[..., torch.Tensor],
                 eval_batch_size: int, log: Callable[[str], None] | None, log_every: int,
                 lr_scale: float):
        self.session_start = time.perf_counter()
        self.ddp = _distributed(dev)
        if batch % self.ddp.world:
            raise ValueError(f"batch size {batch} does not split over {self.ddp.world} processes")
        self.schedule, self.dev, self.fast = schedule, dev, fast
        self.epochs, self.batch, self.seed, self.aug = epochs, batch, seed, aug
        self.loss_fn, self.eval_batch_size = loss_fn, eval_batch_size
        self.log, self.log_every = log, log_every
        self.steps = steps_per_epoch(len(train_set), batch)
        self.model = model.to(dev)
        if fast.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.SGD(
            self.model.parameters(), lr=schedule.lr, momentum=schedule.momentum,
            nesterov=schedule.nesterov, weight_decay=schedule.weight_decay,
        )
        self.train_inputs = _Inputs(train_set, dev, fast)
        self.test_inputs = _Inputs(test_set, dev, fast)
        self.history, self.start_epoch = History(), 0
        self.lr_scale = lr_scale
        self.last_checkpoint: Path | None = None  # the one to go back to if the loss diverges
        self.meta = {"epochs": epochs, "batch_size": batch, "seed": seed,
                     "schedule": asdict(schedule), "train_images": len(train_set),
                     "augment": aug.name}
        if lr_scale != 1:  # only then, so checkpoints written before the option still match
            self.meta["lr_scale"] = lr_scale
        self.net = self._wrap()

    def _wrap(self) -> nn.Module:
        """DDP around the bare model, ``torch.compile`` around that."""
        net: nn.Module = self.model
        if self.ddp.enabled:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.dev.index] if self.dev.type == "cuda" else None
            net = DistributedDataParallel(net, device_ids=ids)
        if self.fast.compile:
            net = torch.compile(net, mode="reduce-overhead" if self.fast.cuda_graphs else None)
        return net

    def restore(self, path: Path, continuing: bool = False) -> None:
        """Start from the checkpoint at ``path``: this run's own, or (``continuing``) that of a
        run with the same settings but the learning-rate scale."""
        ckpt = _load_checkpoint(path, self.meta, self.dev,
                                ignore=("lr_scale",) if continuing else ())
        if continuing and ckpt["epoch"] >= self.epochs:
            raise CheckpointError(f"checkpoint {path} is after the last epoch ({self.epochs}): "
                                  f"there is nothing left to continue")
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.history = History.from_dict(ckpt["history"])
        self.start_epoch = ckpt["epoch"]
        self.last_checkpoint = path
        # a checkpoint from before elapsed_s was stored: its epochs' time is what is known
        epochs_time = self.history.wall_time_s[-1] if self.history.wall_time_s else 0.0
        self.history.earlier_sessions_s = ckpt.get("elapsed_s", epochs_time)
        if continuing:
            self.history.continued_from = {"checkpoint": str(path), "epoch": self.start_epoch,
                                           "lr_scale": self.lr_scale}
            _say(self.log, self.ddp, f"continuing from {path} after epoch {self.start_epoch}/"
                                     f"{self.epochs} with the learning rate x{self.lr_scale:g}")
        else:
            _say(self.log, self.ddp,
                 f"resumed from {path} after epoch {self.start_epoch}/{self.epochs}")

    def run(self, callbacks: list[Callback], ckpt: Path | None, progress: bool | str,
            ten_crop: bool) -> History:
        state = TrainState(self.model, self.optimizer, self.schedule, self.epochs, self.steps,
                           self.history, self.start_epoch, rank=self.ddp.rank,
                           world_size=self.ddp.world)
        for cb in callbacks:
            cb.on_train_begin(state)
        bars = _Bars(progress if self.ddp.main else False, self.epochs, self.start_epoch)
        for epoch in range(self.start_epoch, self.epochs):
            state.epoch = epoch
            self._epoch(epoch, state, callbacks, ckpt, bars)
        bars.close()
        if ten_crop:
            self.history.test_loss_10crop, self.history.test_error_10crop = _evaluate(
                self.model, self.test_inputs, batch_size=max(1, self.eval_batch_size // 10),
                ten_crop_padding=self.aug.padding or 4, ddp=self.ddp)
        for cb in callbacks:
            cb.on_train_end(state)
        return self.history

    def _epoch(self, epoch: int, state: TrainState, callbacks: list[Callback], ckpt: Path | None,
               bars: "_Bars") -> None:
        start = time.perf_counter()
        batch_hooks = [cb for cb in callbacks if _overrides(cb, "on_batch_end")]
        loss, error, images, lr = self._train_epoch(epoch, state, batch_hooks, bars)
        train_time = time.perf_counter() - start
        _sync_buffers(self.model, self.ddp)
        evaluator = self.model if self.ddp.enabled or self.fast.cuda_graphs else self.net
        test_loss, test_error = _evaluate(evaluator, self.test_inputs,
                                          batch_size=self.eval_batch_size, ten_crop_padding=None,
                                          ddp=self.ddp)
        self._check_finite("test", test_loss, epoch, self.steps - 1, lr)
        h = self.history
        h.epoch.append(epoch + 1)
        h.lr.append(lr)
        h.train_loss.append(loss)
        h.train_error.append(error)
        h.test_loss.append(test_loss)
        h.test_error.append(test_error)
        h.images_per_s.append(images / train_time)
        h.wall_time_s.append((h.wall_time_s[-1] if h.wall_time_s else 0.0)
                             + time.perf_counter() - start)
        state.step, state.loss = self.steps - 1, None
        for cb in callbacks:
            cb.on_epoch_end(state)
        if ckpt is not None:
            if self.ddp.main:
                _atomic_save({"format": CHECKPOINT_FORMAT, "epoch": epoch + 1, "meta": self.meta,
                              "model": self.model.state_dict(),
                              "optimizer": self.optimizer.state_dict(), "history": asdict(h),
                              "elapsed_s": self._elapsed()}, ckpt)
            self.last_checkpoint = ckpt
        self.ddp.barrier()
        bars.epoch_done(h)
        _say(self.log, self.ddp, _epoch_line(h, self.epochs), bars)

    def _elapsed(self) -> float:
        """Wall time of this run so far, over all its sessions (a resume adds up)."""
        return self.history.earlier_sessions_s + time.perf_counter() - self.session_start

    def _epoch_plan(self, epoch: int) -> tuple[torch.Tensor, A.Draw]:
        """This epoch's shuffle and augmentation, from generators seeded by ``(seed, epoch)``."""
        torch.manual_seed(derive_seed(self.seed, "torch", epoch))  # dropout, other module RNG
        n, store = len(self.train_inputs), self.train_inputs.images.device
        order = torch.randperm(n, generator=_generator(self.seed, "shuffle", epoch))
        choices = A.draw(self.aug, n, _generator(self.seed, "augment", epoch))
        return order.to(store), choices.to(store)

    def _train_epoch(self, epoch: int, state: TrainState, batch_hooks: list[Callback],
                     bars: "_Bars") -> tuple[float, float, float, float]:
        """One pass over the training set; returns mean loss, error, images seen (all processes)
        and the last learning rate."""
        order, choices = self._epoch_plan(epoch)
        self.net.train()
        sums = torch.zeros(2, dtype=torch.float64, device=self.dev)  # summed loss, mistakes
        sync_every = 1 if self.dev.type == "cpu" else 25  # a host sync stalls a GPU
        local = self.batch // self.ddp.world
        bar = bars.epoch(epoch, self.steps)
        for step in range(self.steps):
            lr = self.lr_scale * self.schedule.lr_at(epoch * self.steps + step,
                                                     self.epochs * self.steps)
            lo = step * self.batch + self.ddp.rank * local  # this process's share of the batch
            x, y = self.train_inputs.batch(order[lo:lo + local], self.aug, choices[lo:lo + local])
            loss, wrong = self._step(x, y, lr)
            sums += torch.stack([loss.double() * len(y), wrong.double()])
            if batch_hooks:
                state.step, state.loss = step, loss
                for cb in batch_hooks:
                    cb.on_batch_end(state)
            if (step + 1) % sync_every == 0 or step + 1 == self.steps:
                total, bad = self.ddp.all_sum(sums.clone()).tolist()
                count = (step + 1) * self.batch  # images so far, over all processes
                self._check_finite("training", total, epoch, step, lr)
                bar.update(step + 1, total / count, 1 - bad / count)
                if self.log_every and (step + 1) % self.log_every == 0:
                    _say(self.log, self.ddp, f"epoch {epoch + 1}/{self.epochs} batch {step + 1}/"
                                             f"{self.steps} loss {total / count:.4f} acc "
                                             f"{1 - bad / count:.2%}")
        bar.close()
        return total / count, bad / count, count, lr

    def _step(self, x: torch.Tensor, y: torch.Tensor,
              lr: float) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimiser step at learning rate ``lr``; returns the (detached) loss and mistakes."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        if self.fast.cuda_graphs:
            torch.compiler.cudagraph_mark_step_begin()
        self.optimizer.zero_grad(set_to_none=True)
        with _autocast(self.dev, self.fast):
            outputs = self.net(x)
            loss = self.loss_fn(outputs, y)
        loss.backward()
        self.optimizer.step()
        return loss.detach(), (_logits(outputs).argmax(1) != y).sum()

    def _check_finite(self, what: str, loss: float, epoch: int, step: int, lr: float) -> None:
        if math.isfinite(loss):
            return
        stopped = (f"{what} loss became {loss} in epoch {epoch + 1} (by batch {step + 1}/"
                   f"{self.steps}, lr {lr:g}); training stopped.")
        if self.last_checkpoint is None:
            why = "Checkpoints are off" if self.history.epoch else "No epoch finished"
            raise NonFiniteLossError(f"{stopped} {why}, so there is no checkpoint to go back to. "
                                     f"Try a lower learning rate, or turn bf16 off.")
        scale = self.lr_scale / 2
        raise NonFiniteLossError(
            f"{stopped} The last good checkpoint, after epoch {self.history.epoch[-1]}, is kept "
            f"at {self.last_checkpoint}. To go on from it with the learning rate x{scale:g}, run "
            f"again with `--continue-lr-scale {scale:g}` (Python: `run_experiment(..., "
            f"continue_lr_scale={scale:g})`, or `fit(..., "
            f"continue_from=\"{self.last_checkpoint}\", lr_scale={scale:g})`); or turn bf16 off."
        )


def _augmentation(augment: bool | str | None, schedule: Schedule) -> A.Augmentation:
    if augment is None:
        return A.get_augmentation(schedule.augmentation)
    if augment is True:
        has_one = schedule.augmentation != "none"
        return A.get_augmentation(schedule.augmentation if has_one else "c10+")
    if augment is False:
        return A.get_augmentation("none")
    return A.get_augmentation(augment)


def _sync_buffers(model: nn.Module, ddp: _Dist) -> None:
    """Give every process rank 0's BatchNorm statistics (each saw only its share of the batch)."""
    if ddp.enabled:
        for buf in model.buffers():
            dist.broadcast(buf, 0)


def _epoch_line(h: History, epochs: int) -> str:
    return (f"epoch {h.epoch[-1]}/{epochs}: train loss {h.train_loss[-1]:.4f} err "
            f"{h.train_error[-1]:.2%} | test loss {h.test_loss[-1]:.4f} err {h.test_error[-1]:.2%}"
            f" | lr {h.lr[-1]:g} | {h.images_per_s[-1]:.1f} img/s | {h.wall_time_s[-1]:.0f} s")


def _say(log: Callable[[str], None] | None, ddp: _Dist, line: str,
         bars: "_Bars | None" = None) -> None:
    if log is None or not ddp.main:
        return
    if bars is not None and bars.active:
        from tqdm import tqdm

        tqdm.write(line)
    else:
        log(line)


class _Bars:
    """tqdm bars: one over epochs, one over the batches of the current epoch."""

    def __init__(self, progress: bool | str, epochs: int, start: int):
        self.active = sys.stderr.isatty() if progress == "auto" else bool(progress)
        self.outer = None
        if self.active:
            from tqdm import tqdm

            self.outer = tqdm(total=epochs, initial=start, desc="epochs", unit="epoch",
                              dynamic_ncols=True)

    def epoch(self, epoch: int, steps: int) -> "_Bars._Inner":
        return self._Inner(self.active, epoch, steps)

    def epoch_done(self, h: History) -> None:
        if self.outer is not None:
            self.outer.set_postfix(test_acc=f"{1 - h.test_error[-1]:.2%}", refresh=False)
            self.outer.update(1)

    def close(self) -> None:
        if self.outer is not None:
            self.outer.close()

    class _Inner:
        def __init__(self, active: bool, epoch: int, steps: int):
            self.bar = None
            if active:
                from tqdm import tqdm

                self.bar = tqdm(total=steps, desc=f"epoch {epoch + 1}", unit="batch", leave=False,
                                dynamic_ncols=True)

        def update(self, done: int, loss: float, acc: float) -> None:
            if self.bar is not None:
                self.bar.set_postfix(loss=f"{loss:.4f}", acc=f"{acc:.2%}", refresh=False)
                self.bar.update(done - self.bar.n)

        def close(self) -> None:
            if self.bar is not None:
                self.bar.refresh()  # show the epoch's final loss/accuracy before clearing the bar
                self.bar.close()


# --------------------------------------------------------------------------- configured runs


@dataclass
class TrainConfig:
    """One training run, by names. ``None`` fields take the budget's/schedule's/device's defaults.

    ``epochs``/``train_images``/``test_images`` override the budget; ``schedule`` defaults to the
    model's paper schedule for the dataset (:func:`cnnpapers.schedules.default_schedule`);
    ``model_kwargs`` override the variant's hyper-parameters; the fast-path switches are
    described in :class:`FastPath`.
    """

    model: str
    dataset: str = "fashion-mnist"
    budget: str = "smoke"
    seed: int = 0
    schedule: str | None = None
    device: str = "auto"
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    augment: bool | str | None = None
    epochs: int | None = None
    train_images: int | None = None
    test_images: int | None = None
    ten_crop: bool = False
    bf16: bool | None = None
    channels_last: bool | None = None
    compile: bool | None = None
    cuda_graphs: bool = False
    data_on_device: bool | None = None
    data_root: str | None = None
    download: bool = False

    # fields that change where data comes from or how fast it runs, not what is computed
    _NOT_HASHED = ("device", "data_root", "download", "data_on_device")

    def __post_init__(self) -> None:
        get_budget(self.budget)
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose one of {list(DATASETS)}")
        model_info(self.model)  # unknown model: ValueError naming list_models()
        valid = _variant(self.model).hyper_parameters()
        unknown = sorted(set(self.model_kwargs) - set(valid))
        if unknown:
            raise ValueError(f"{self.model} has no hyper-parameter {unknown}; valid ones: {valid}")
        if self.schedule is not None:
            get_schedule(self.schedule)
        for name in ("epochs", "train_images", "test_images"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

    def resolved_schedule(self) -> Schedule:
        if self.schedule is not None:
            return get_schedule(self.schedule)
        return default_schedule(self.model, self.dataset)

    def epochs_for(self, schedule: Schedule) -> int:
        return self.epochs or get_budget(self.budget).epochs(schedule.epochs)

    def as_record(self, probes: Iterable[str] = ()) -> dict[str, Any]:
        """The JSON-able configuration that names this run's result (and its checkpoint).

        ``probes`` (names of analyses stored with the result) join the record only when present,
        so a result stored without probes keeps its hash."""
        record = {k: v for k, v in asdict(self).items() if k not in self._NOT_HASHED}
        record["schedule"] = self.resolved_schedule().name
        if probes:
            record["probes"] = sorted(probes)
        return record


def runs_root() -> Path:
    return Path(os.environ.get(RUNS_DIR_ENV, provenance.REPO_ROOT / "runs"))


def load_splits(config: TrainConfig, min_input_size: int) -> tuple[TensorDataset, TensorDataset]:
    """The budget's class-balanced subsets (data seed 0, so every run seed sees the same images),
    zero-padded to ``min_input_size``."""
    budget: Budget = get_budget(config.budget)
    splits = []
    for split, override in (("train", config.train_images), ("test", config.test_images)):
        data = load_dataset(config.dataset, split, root=config.data_root, download=config.download)
        n = override or budget.subset(len(data), split)
        data = data.subset(min(n, len(data)), seed=0)
        data.images = A.pad_to(data.images, min_input_size, config.model)
        splits.append(data)
    return splits[0], splits[1]


def _model_kwargs(config: TrainConfig, schedule: Schedule, aug: A.Augmentation) -> dict[str, Any]:
    """The config's overrides, plus the schedule's dropout when training without augmentation
    (DenseNet: 0.2 on C10/C100/SVHN) if the variant has a ``drop_rate`` hyper-parameter."""
    kwargs = dict(config.model_kwargs)
    if (not aug.active and schedule.dropout and "drop_rate" not in kwargs
            and "drop_rate" in _variant(config.model).hyper_parameters()):
        kwargs["drop_rate"] = schedule.dropout
    return kwargs


def _fast_path_request(config: TrainConfig) -> dict[str, Any]:
    """The config's fast-path switches for :func:`resolve_fast_path`.

    At the portable budget the switches left unset are off (fp32, NCHW, eager) rather than what is
    fastest here: bf16 autocast and channels_last pick different kernels on different CPUs, and
    smoke numbers must not depend on which CPU ran them. Switches set explicitly are kept.
    """
    request = {"bf16": config.bf16, "channels_last": config.channels_last,
               "compile": config.compile, "cuda_graphs": config.cuda_graphs,
               "data_on_device": config.data_on_device}
    if config.budget == PORTABLE_BUDGET:
        request.update({k: False for k in ("bf16", "channels_last", "compile")
                        if request[k] is None})
    return request


@contextlib.contextmanager
def _deterministic(on: bool) -> Iterator[None]:
    """Deterministic algorithms while ``on`` (restoring the process's setting afterwards), so a
    run repeats bit for bit on one machine."""
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(on or before)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)


def train(
    config: TrainConfig,
    *,
    run_dir: str | Path | None = None,
    resume: bool = False,
    continue_from: str | Path | None = None,
    lr_scale: float = 1.0,
    callbacks: Iterable[Callback] = (),
    progress: bool | str = "auto",
    log: Callable[[str], None] | None = None,
    log_every: int = 0,
) -> History:
    """Run ``config`` and return its history; ``history.run`` says what ran (model size, fast
    path, data sizes, schedule). The checkpoint is ``run_dir/checkpoint.pt`` (none if ``run_dir``
    is ``None``); ``resume``, ``continue_from`` and ``lr_scale`` are :func:`fit`'s."""
    device = resolve_device(config.device)
    schedule = config.resolved_schedule()
    epochs = config.epochs_for(schedule)
    aug = _augmentation(config.augment, schedule)
    card = model_info(config.model)
    train_set, test_set = load_splits(config, card.min_input_size)
    fast = resolve_fast_path(device, **_fast_path_request(config))
    kwargs = _model_kwargs(config, schedule, aug)
    torch.manual_seed(derive_seed(config.seed, "init"))
    model = create_model(config.model, num_classes=train_set.num_classes,
                         in_channels=train_set.shape[0], **kwargs)
    with _deterministic(config.budget == PORTABLE_BUDGET):
        history = fit(
            model, train_set, test_set, schedule, epochs, seed=config.seed, device=device,
            augment=aug.name, fast=fast, callbacks=callbacks, ten_crop=config.ten_crop,
            checkpoint=None if run_dir is None else Path(run_dir) / "checkpoint.pt",
            resume=resume, continue_from=continue_from, lr_scale=lr_scale,
            progress=progress, log=log, log_every=log_every,
        )
    history.run = {
        "parameters": sum(p.numel() for p in model.parameters()),
        "model_kwargs": kwargs, "schedule": schedule.name, "epochs": epochs,
        "batch_size": schedule.batch_size, "augmentation": aug.name,
        "train_images": len(train_set), "test_images": len(test_set),
        "input_size": list(train_set.shape), "fast_path": asdict(fast), "device": str(device),
    }
    return history


def experiment_name(config: TrainConfig) -> str:
    return f"train/{config.model}/{config.dataset}"


CONFIG_FILE = "config.json"  # beside a checkpoint: the settings that wrote it


def run_dir_for(experiment: str, config: TrainConfig,
                continued: Mapping[str, Any] | None = None) -> Path:
    """Where a configured run keeps its checkpoint: ``runs/<budget>/<experiment>/<hash>/``
    (``continued``: of its continuation, see :func:`run_experiment`)."""
    return runs_root() / config.budget / experiment / results.config_hash(
        _run_record(config, continued))


def _run_record(config: TrainConfig, continued: Mapping[str, Any] | None,
                probes: Iterable[str] = ()) -> dict[str, Any]:
    """The configuration that names a run: a continuation differs from the plain run by
    ``"continued": {"from_epoch", "lr_scale"}``, so neither is ever taken for the other."""
    record = config.as_record(probes)
    if continued is not None:
        record["continued"] = dict(continued)
    return record


def run_experiment(
    experiment: str | None,
    config: TrainConfig,
    *,
    resume: bool = False,
    continue_lr_scale: float | None = None,
    force: bool | None = None,
    callbacks: Iterable[Callback] = (),
    progress: bool | str = "auto",
    log: Callable[[str], None] | None = None,
    log_every: int = 0,
    probes: Mapping[str, Callback] | None = None,
) -> results.Result:
    """Train ``config`` once and cache the result under ``results/<budget>/<experiment>/``.

    A stored result with the same configuration is returned without training (``force`` or
    ``$CNNPAPERS_FORCE=1`` retrains); ``smoke`` results are never stored. The checkpoint lives in
    :func:`run_dir_for`, so ``resume=True`` continues an interrupted run; without a checkpoint of
    this configuration it raises a :class:`CheckpointError` naming the experiment's checkpoints
    under other settings. The result's ``wall_time_s`` adds up every session of a resumed run.

    ``continue_lr_scale=f`` goes on from the last checkpoint of the plain run of ``config`` (e.g.
    the last good one after its loss became NaN) with the learning rate times ``f``. That is
    another run: its configuration gains ``"continued": {"from_epoch": E, "lr_scale": f}`` (a new
    hash, a checkpoint of its own, which ``resume`` uses) and its provenance names the checkpoint.

    Under torchrun only rank 0 writes the result. ``probes`` are callbacks with a ``result()``
    method whose findings are stored as ``metrics["probes"][name]`` (see
    :mod:`cnnpapers.experiments`); a resumed run's probes see only the steps after the resume.
    """
    experiment = experiment or experiment_name(config)
    probes = dict(probes or {})
    device = resolve_device(config.device)
    main = _distributed(device).main
    base = run_dir_for(experiment, config) / "checkpoint.pt"
    continued = None
    if continue_lr_scale is not None:
        if not continue_lr_scale > 0:
            raise ValueError(f"continue_lr_scale must be positive, got {continue_lr_scale!r}")
        if not base.exists():
            raise _missing_checkpoint(experiment, config, base, "continue from")
        continued = {"from_epoch": _read_checkpoint(base, torch.device("cpu"))["epoch"],
                     "lr_scale": continue_lr_scale}
    record = _run_record(config, continued, probes)
    run_dir = run_dir_for(experiment, config, continued)

    def compute() -> dict[str, Any]:
        if resume and continued is None and not (run_dir / "checkpoint.pt").exists():
            raise _missing_checkpoint(experiment, config, run_dir / "checkpoint.pt", "resume")
        if main:  # so that a resume with other settings can say how they differ
            text = json.dumps(_run_record(config, continued), indent=1, sort_keys=True,
                              default=str)
            results.atomic_write(run_dir / CONFIG_FILE, lambda fh: fh.write(text.encode()))
        history = train(config, run_dir=run_dir, resume=resume,
                        continue_from=base if continued else None,
                        lr_scale=continue_lr_scale or 1.0,
                        callbacks=[*callbacks, *probes.values()],
                        progress=progress, log=log, log_every=log_every)
        metrics = {**history.metrics(), **history.run}
        if probes:
            metrics["probes"] = {name: probe.result() for name, probe in probes.items()}
        return {"metrics": metrics, "curves": history.curves(),
                "provenance": _session_provenance(history)}

    if main:
        return results.cached(experiment, record, compute, device=str(device), force=force)
    out = compute()
    return results.Result(experiment, record, out["metrics"], out["curves"], {})


def _session_provenance(history: History) -> dict[str, Any]:
    """What a result's provenance adds about a run that did not start from scratch: the time of
    the sessions before (:func:`cnnpapers.results.cached` adds it to ``wall_time_s``) and the
    checkpoint of another run it continued."""
    prov: dict[str, Any] = {}
    if history.earlier_sessions_s:
        prov["earlier_sessions_s"] = round(history.earlier_sessions_s, 2)
    if history.continued_from is not None:
        prov["continued_from"] = history.continued_from
    return prov


def _missing_checkpoint(experiment: str, config: TrainConfig, path: Path,
                        action: str) -> CheckpointError:
    """The error for a resume (or continuation) without a checkpoint: it names the experiment's
    checkpoints under other settings, and how each differs, so the user can pick one."""
    mine = config.as_record()
    others = [p for p in sorted(path.parent.parent.glob("*/checkpoint.pt")) if p != path]
    if others:
        lines = "\n".join(f"  {p} ({_how_settings_differ(mine, p.parent / CONFIG_FILE)})"
                          for p in others)
        found = (f"Checkpoints of {experiment} with other settings:\n{lines}\nRun with the "
                 f"settings of one of them, or")
    else:
        found = f"{experiment} has no checkpoint at budget {config.budget} at all;"
    return CheckpointError(f"nothing to {action}: there is no checkpoint of this configuration "
                           f"at {path}. {found} train without resume to start from epoch 1.")


def _how_settings_differ(mine: dict[str, Any], config_file: Path) -> str:
    try:
        theirs = json.loads(config_file.read_text())
    except (OSError, ValueError):
        return "its settings were not recorded"
    differ = [f"{k}={theirs.get(k)!r} there, {mine.get(k)!r} here"
              for k in sorted(set(mine) | set(theirs)) if mine.get(k) != theirs.get(k)]
    return "; ".join(differ) or "same settings"
