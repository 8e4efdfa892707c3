"""Training runs of the opening chapter: LeNet-5 on Fashion-MNIST, one run per seed.

LeNet-5 is tiny (60,850 parameters, 0.4 M multiply-adds at 32×32), so even the ``cpu`` budget
affords three seeds of its subset (10,000 training images, 4 epochs): the spread between them is
the run-to-run noise that later chapters must beat before calling one net better than another.
"""

from __future__ import annotations

from ..budgets import get_budget
from ..train import TrainConfig
from . import Experiment, group

CHAPTER = "opening"
MODEL = "lenet5"
DATASET = "fashion-mnist"


def seeds(budget: str) -> tuple[int, ...]:
    return get_budget(budget).pick(smoke=(0,), cpu=(0, 1, 2), gpu=(0, 1, 2))


@group(CHAPTER)
def _runs(budget: str) -> list[Experiment]:
    return [Experiment(f"{CHAPTER}/{MODEL}/seed{seed}",
                       TrainConfig(MODEL, dataset=DATASET, budget=budget, seed=seed))
            for seed in seeds(budget)]
