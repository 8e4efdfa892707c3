"""Training schedules of the papers, as data.

A :class:`Schedule` is what a paper's "Training" paragraph says: optimiser, learning rate and its
drops, momentum, weight decay, batch size, length, augmentation and dropout. Drops are stored as
*fractions* of training (DenseNet's "divided by 10 at 50 % and 75 % of the epochs" is
``milestones=(0.5, 0.75)``), so a compute budget that shortens a run keeps the schedule's shape:
the learning rate falls at the same share of however many steps the budget allows.

Every schedule quotes its source in ``source``; where a paper leaves a setting open and we take it
from the authors' released code, or where the schedule is ours, ``source`` says so.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, replace

AUGMENTATIONS = ("none", "c10+", "fashion-mnist")
# "step": the papers' piecewise-constant rate, divided by ``1/gamma`` at each milestone.
# "one-cycle": linear warm-up from 0 to ``lr`` over ``warmup_fraction`` of training, then a
# half cosine down to 0 (Smith & Topin 2017; Loshchilov & Hutter 2017), our short recipe.
SHAPES = ("step", "one-cycle")


@dataclass(frozen=True)
class Schedule:
    """One paper's optimisation recipe; ``epochs`` is the paper's full length."""

    name: str
    optimizer: str
    lr: float
    momentum: float
    nesterov: bool
    weight_decay: float
    batch_size: int
    epochs: int
    milestones: tuple[float, ...]  # learning-rate drops, as fractions of all training steps
    gamma: float  # factor applied at each milestone
    augmentation: str  # one of AUGMENTATIONS: what the paper trained with
    source: str  # paper, section/table, and the quoted numbers
    dropout: float = 0.0  # rate the paper adds when training *without* augmentation
    dropout_note: str = ""
    warmup_lr: float | None = None  # constant learning rate before ...
    warmup_fraction: float = 0.0  # ... this share of training, then ``lr``
    paper: str | None = None  # bibliography key; None for our own schedules
    shape: str = "step"  # one of SHAPES
    label_smoothing: float = 0.0  # weight of the uniform target in the cross-entropy

    def __post_init__(self) -> None:
        if self.optimizer != "sgd":
            raise ValueError(f"{self.name}: only 'sgd' is implemented, got {self.optimizer!r}")
        if self.shape not in SHAPES:
            raise ValueError(f"{self.name}: shape must be one of {SHAPES}, got {self.shape!r}")
        if self.shape == "one-cycle" and (self.milestones or self.warmup_lr is not None):
            raise ValueError(f"{self.name}: a one-cycle schedule has no milestones and no "
                             "constant warm-up rate")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"{self.name}: label_smoothing must be in [0, 1)")
        ordered = list(self.milestones) == sorted(self.milestones)
        if not ordered or not all(0 < m < 1 for m in self.milestones):
            raise ValueError(f"{self.name}: milestones must be increasing fractions in (0, 1)")
        if self.augmentation not in AUGMENTATIONS:
            raise ValueError(f"{self.name}: augmentation must be one of {AUGMENTATIONS}")
        if not 0 <= self.warmup_fraction < (self.milestones[0] if self.milestones else 1):
            raise ValueError(f"{self.name}: warm-up must end before the first milestone")

    def milestone_steps(self, total_steps: int) -> list[int]:
        """Optimiser steps at which the learning rate is multiplied by ``gamma``."""
        return [round(m * total_steps) for m in self.milestones]

    def lr_at(self, step: int, total_steps: int) -> float:
        """Learning rate for optimiser step ``step`` (0-based) of a run of ``total_steps``."""
        if self.shape == "one-cycle":
            return self._one_cycle_lr(step, total_steps)
        if self.warmup_lr is not None and step < round(self.warmup_fraction * total_steps):
            return self.warmup_lr
        drops = sum(step >= s for s in self.milestone_steps(total_steps))
        return self.lr * self.gamma**drops

    def _one_cycle_lr(self, step: int, total_steps: int) -> float:
        warmup = round(self.warmup_fraction * total_steps)
        if step < warmup:
            return self.lr * (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return self.lr * 0.5 * (1 + math.cos(math.pi * progress))

    def milestone_epochs(self, epochs: int | None = None) -> list[float]:
        """Epochs at which the learning rate drops in a run of ``epochs`` (default: the paper's)."""
        n = self.epochs if epochs is None else epochs
        return [m * n for m in self.milestones]

    def with_changes(self, **changes) -> "Schedule":
        """A copy with fields replaced: ``get_schedule("wrn-cifar").with_changes(lr=0.05)``."""
        return replace(self, **changes)

    def describe(self) -> str:
        momentum = f"{'Nesterov ' if self.nesterov else ''}momentum {self.momentum:g}"
        if self.shape == "one-cycle":
            smoothing = (f", label smoothing {self.label_smoothing:g}"
                         if self.label_smoothing else "")
            return (f"{self.name}: SGD, {momentum}, weight decay {self.weight_decay:g}, batch "
                    f"{self.batch_size}, lr rising linearly to {self.lr:g} over the first "
                    f"{self.warmup_fraction:.0%}, then a half cosine to 0 over {self.epochs} "
                    f"epochs{smoothing}; augmentation {self.augmentation}")
        drops = ", ".join(f"{m:.0%}" for m in self.milestones)
        warm = (f"; lr {self.warmup_lr:g} for the first {self.warmup_fraction:.2%}"
                if self.warmup_lr is not None else "")
        return (f"{self.name}: SGD, {momentum}, weight decay {self.weight_decay:g}, batch "
                f"{self.batch_size}, lr {self.lr:g} x{self.gamma:g} at {drops} of "
                f"{self.epochs} epochs{warm}; augmentation {self.augmentation}")


def _iterations_to_epochs(iterations: int, batch_size: int, train_images: int) -> int:
    return round(iterations * batch_size / train_images)


# He et al. count iterations on a 45k/5k train/val split of CIFAR-10.
_RESNET_EPOCHS = _iterations_to_epochs(64_000, 128, 45_000)  # 182

_SCHEDULES: dict[str, Schedule] = {
    s.name: s
    for s in [
        Schedule(
            "densenet-cifar", "sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4,
            batch_size=64, epochs=300, milestones=(0.5, 0.75), gamma=0.1, augmentation="c10+",
            dropout=0.2,
            dropout_note="0.2 after every convolution but the first, on C10/C100/SVHN (no "
                         "augmentation) only",
            source="Huang et al. 2017, Sec. 4.2 (note 003, 训练): SGD, batch 64, 300 epochs on "
                   "CIFAR, lr 0.1 divided by 10 at 50% and 75% of the epochs, weight decay 1e-4, "
                   "Nesterov momentum 0.9 without dampening",
            paper="huang2017",
        ),
        Schedule(
            "densenet-svhn", "sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4,
            batch_size=64, epochs=40, milestones=(0.5, 0.75), gamma=0.1, augmentation="none",
            dropout=0.2,
            dropout_note="0.2 after every convolution but the first (SVHN is used without "
                         "augmentation)",
            source="Huang et al. 2017, Sec. 4.2 (note 003, 训练): as CIFAR but 40 epochs on SVHN",
            paper="huang2017",
        ),
        Schedule(
            "densenet-imagenet", "sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4,
            batch_size=256, epochs=90, milestones=(30 / 90, 60 / 90), gamma=0.1,
            augmentation="none",
            source="Huang et al. 2017, Sec. 4.2 (note 003, 训练): ImageNet batch 256, 90 epochs, "
                   "lr 0.1 divided by 10 at epochs 30 and 60 (DenseNet-161: batch 128, 100 "
                   "epochs, extra drop at 90); ImageNet augmentation is not a tensor recipe here",
            paper="huang2017",
        ),
        Schedule(
            "resnet-cifar", "sgd", lr=0.1, momentum=0.9, nesterov=False, weight_decay=1e-4,
            batch_size=128, epochs=_RESNET_EPOCHS, milestones=(32_000 / 64_000, 48_000 / 64_000),
            gamma=0.1, augmentation="c10+",
            dropout_note="no dropout",
            source="He et al. 2016, Sec. 4.2: weight decay 0.0001, momentum 0.9, batch 128, lr 0.1 "
                   "divided by 10 at 32k and 48k iterations, stop at 64k iterations on a 45k/5k "
                   "split (= 182 epochs of 45k images)",
            paper="he2016",
        ),
        Schedule(
            "resnet110-cifar", "sgd", lr=0.1, momentum=0.9, nesterov=False, weight_decay=1e-4,
            batch_size=128, epochs=_RESNET_EPOCHS, milestones=(32_000 / 64_000, 48_000 / 64_000),
            gamma=0.1,
            augmentation="c10+", warmup_lr=0.01, warmup_fraction=400 / 64_000,
            dropout_note="no dropout",
            source="He et al. 2016, Sec. 4.2, ResNet-110: as resnet-cifar, but lr 0.01 until the "
                   "training error is below 80% (about 400 iterations), then back to 0.1",
            paper="he2016",
        ),
        Schedule(
            "preact-resnet-cifar", "sgd", lr=0.1, momentum=0.9, nesterov=False, weight_decay=1e-4,
            batch_size=128, epochs=_RESNET_EPOCHS, milestones=(32_000 / 64_000, 48_000 / 64_000),
            gamma=0.1,
            augmentation="c10+", warmup_lr=0.01, warmup_fraction=400 / 64_000,
            dropout_note="no dropout",
            source="He et al. 2016b (Identity Mappings), Appendix: lr 0.1 divided by 10 at 32k "
                   "and 48k iterations, 64k in all, lr 0.01 for the first 400 iterations, batch "
                   "128, weight decay 0.0001, momentum 0.9",
            paper="he2016identity",
        ),
        Schedule(
            "resnext-cifar", "sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4,
            batch_size=128, epochs=300, milestones=(150 / 300, 225 / 300), gamma=0.1,
            augmentation="c10+",
            source="Xie et al. 2017, Sec. 5.3 (CIFAR): batch 128, weight decay 0.0005, lr 0.1, "
                   "momentum 0.9, 300 epochs, divided by 10 at epochs 150 and 225. Nesterov is "
                   "not stated in the paper; the released code (fb.resnet.torch base) uses it",
            paper="xie2017",
        ),
        Schedule(
            "wrn-cifar", "sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4,
            batch_size=128, epochs=200, milestones=(60 / 200, 120 / 200, 160 / 200), gamma=0.2,
            augmentation="c10+", dropout=0.3,
            dropout_note="0.3 between the two convolutions of a block in the WRN-d variants",
            source="Zagoruyko & Komodakis 2016, Sec. 3: SGD with Nesterov momentum 0.9, "
                   "dampening 0, lr 0.1, weight decay 0.0005, batch 128; lr x0.2 at epochs 60, "
                   "120 and 160 of 200",
            paper="zagoruyko2016",
        ),
        Schedule(
            "fashion-mnist", "sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4,
            batch_size=64, epochs=40, milestones=(0.5, 0.75), gamma=0.1,
            augmentation="fashion-mnist",
            source="ours, not from a paper: DenseNet's CIFAR recipe (SGD, Nesterov 0.9, weight "
                   "decay 1e-4, batch 64, lr 0.1 /10 at 50% and 75%) at DenseNet's SVHN length of "
                   "40 epochs, since 60k grey 28x28 images saturate far sooner than C10+",
        ),
        Schedule(
            "fashion-mnist-fast", "sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4,
            batch_size=128, epochs=15, milestones=(), gamma=1.0, augmentation="fashion-mnist",
            shape="one-cycle", warmup_fraction=0.1, label_smoothing=0.1,
            source="ours, not from a paper: the short recipe of the cpu and gpu budgets on "
                   "Fashion-MNIST. Departs from the papers' step schedules in four ways: a "
                   "one-cycle rate (linear warm-up over 10 % of the steps, then a half cosine to "
                   "0) in place of drops at 50 % and 75 %, label smoothing 0.1, weight decay 5e-4 "
                   "in place of 1e-4, and batch 128 (the fastest per image on 2 CPU cores); 15 "
                   "epochs of all 60,000 images in place of 300 of CIFAR's 50,000",
        ),
    ]
}

SCHEDULES = tuple(_SCHEDULES)


def get_schedule(name: str | Schedule) -> Schedule:
    """The schedule called ``name`` (see :data:`SCHEDULES`)."""
    if isinstance(name, Schedule):
        return name
    try:
        return _SCHEDULES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown schedule {name!r}; choose one of {list(SCHEDULES)}") from None


# model-name pattern -> its paper's CIFAR schedule; first match wins
_CIFAR_SCHEDULE_BY_MODEL = (
    ("densenet*", "densenet-cifar"),
    ("*preact*", "preact-resnet-cifar"),
    ("resnet110*", "resnet110-cifar"),
    ("resnet*", "resnet-cifar"),
    ("resnext*", "resnext-cifar"),
    ("wrn*", "wrn-cifar"),
    ("wide_resnet*", "wrn-cifar"),
)


def default_schedule(model: str, dataset: str) -> Schedule:
    """The schedule ``model`` is trained with on ``dataset`` when none is named.

    Fashion-MNIST always gets our ``fashion-mnist`` schedule and SVHN DenseNet's; on CIFAR a
    model whose paper gives a schedule gets it, any other model DenseNet's (the notes' reference).
    """
    if dataset == "fashion-mnist":
        return _SCHEDULES["fashion-mnist"]
    if dataset == "svhn":
        return _SCHEDULES["densenet-svhn"]
    for pattern, schedule in _CIFAR_SCHEDULE_BY_MODEL:
        if fnmatch.fnmatch(model, pattern):
            return _SCHEDULES[schedule]
    return _SCHEDULES["densenet-cifar"]


def steps_per_epoch(train_images: int, batch_size: int) -> int:
    """Optimiser steps in one epoch; the last partial batch is dropped (static shapes)."""
    if train_images < batch_size:
        raise ValueError(
            f"{train_images} training images are fewer than one batch of {batch_size}; use more "
            f"images (--train-images) or a smaller batch"
        )
    return train_images // batch_size


__all__ = ["AUGMENTATIONS", "SCHEDULES", "Schedule", "default_schedule", "get_schedule",
           "steps_per_epoch"]

