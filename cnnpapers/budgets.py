"""Compute budgets: how much of a paper's experiment a chapter runs.

Every notebook takes ``budget`` as a papermill parameter. A budget fixes how much data and how
many epochs a training run gets, and how large the sweeps and benchmarks are:

========  =====================================================================================
smoke     seconds per notebook on a 2-core CPU; what CI executes and ``pytest --nbval`` checks.
cpu       minutes to about an hour per chapter on a 2-core CPU; the default for the book.
gpu       minutes on one H100-class GPU; full training sets, shortened schedules.
paper     the paper's full schedule (hours to days on a GPU).
========  =====================================================================================

Schedules keep their *shape* under every budget: a learning-rate drop at 50 % and 75 % of
training stays at 50 % and 75 % of however many epochs the budget allows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Budget:
    name: str
    description: str
    hardware: str
    train_images: int | None  # training-set subset size; None = the whole set
    test_images: int | None
    epoch_fraction: float  # share of the paper's epochs ...
    max_epochs: int | None  # ... capped at this many

    def epochs(self, paper_epochs: int) -> int:
        """Epochs this budget trains for a schedule whose paper length is ``paper_epochs``."""
        n = max(1, math.ceil(paper_epochs * self.epoch_fraction))
        return n if self.max_epochs is None else min(n, self.max_epochs)

    def subset(self, available: int, split: str = "train") -> int:
        cap = self.train_images if split == "train" else self.test_images
        return available if cap is None else min(cap, available)

    def pick(self, *, smoke: T, cpu: T, gpu: T, paper: T | None = None) -> T:
        """Choose a size by budget, e.g. ``budget.pick(smoke=[16, 28], cpu=[16, 28, 40], ...)``.

        ``paper`` defaults to the ``gpu`` choice.
        """
        choice = {"smoke": smoke, "cpu": cpu, "gpu": gpu, "paper": gpu if paper is None else paper}
        return choice[self.name]


# Sizes measured for the book's reference run, DenseNet-BC-100 k=12 on Fashion-MNIST at batch 64
# (`python -m cnnpapers bench train-speed`): on the 2-core AMD EPYC (AVX2) it trains at about
# 25-30 images/s when the machine is otherwise idle and tests at about 3x that. ``cpu`` = 4 epochs
# of 10,000 images (40k training steps of one image) plus 4 x 5,000 test images is about 30 min
# idle and under an hour with the cores shared; ``smoke`` is 2 batches of 64, a few seconds.
BUDGETS: dict[str, Budget] = {
    b.name: b
    for b in [
        Budget("smoke", "seconds per notebook; checks that everything runs", "2-core CPU",
               train_images=128, test_images=128, epoch_fraction=0.0, max_epochs=1),
        Budget("cpu", "a real but shortened experiment, about an hour per chapter",
               "2-core CPU", train_images=10_000, test_images=5_000, epoch_fraction=0.1,
               max_epochs=4),
        Budget("gpu", "full training set, shortened schedule", "one H100-class GPU",
               train_images=None, test_images=None, epoch_fraction=0.2, max_epochs=60),
        Budget("paper", "the paper's full schedule", "one or more GPUs, hours to days",
               train_images=None, test_images=None, epoch_fraction=1.0, max_epochs=None),
    ]
}


def get_budget(name: str | Budget) -> Budget:
    if isinstance(name, Budget):
        return name
    try:
        return BUDGETS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown budget {name!r}; choose one of {list(BUDGETS)} "
            "(smoke: seconds on a CPU, cpu: about an hour on 2 cores, gpu: minutes on an H100, "
            "paper: the full schedule)"
        ) from None
