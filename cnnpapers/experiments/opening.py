"""Training runs of the opening chapter: LeNet-5 on Fashion-MNIST, one run per seed.

LeNet-5 is tiny (60,850 parameters, 0.4 M multiply-adds at 32×32), so even the ``cpu`` budget
trains three seeds on all 60,000 training images and tests on all 10,000, with the book's short
recipe (``fashion-mnist-fast``): the spread between the seeds is the run-to-run noise that later
chapters must beat before calling one net better than another. The runs train without the
recipe's shifts and flips: a net this small underfits (its training error stays at its test
error with them), and LeCun et al. trained LeNet-5 on undistorted images as well.
"""

from __future__ import annotations

from ..budgets import get_budget
from ..schedules import get_schedule
from ..train import TrainConfig
from . import Experiment, RunPlan, group

CHAPTER = "opening"
MODEL = "lenet5"
DATASET = "fashion-mnist"
SCHEDULE = "fashion-mnist-fast"


def plan(budget: str) -> RunPlan:
    """Smoke: the budget's few images, one seed. cpu and gpu: the whole data set, all the recipe's
    epochs, three seeds (measured: 20-27 minutes a run on one core of the 2-core AVX2 machine
    while the other core was busy)."""
    full = RunPlan(60_000, 10_000, get_schedule(SCHEDULE).epochs, (0, 1, 2))
    return get_budget(budget).pick(smoke=RunPlan(None, None, None, (0,)), cpu=full, gpu=full)


@group(CHAPTER)
def _runs(budget: str) -> list[Experiment]:
    p = plan(budget)
    return [Experiment(f"{CHAPTER}/{MODEL}/seed{seed}",
                       TrainConfig(MODEL, dataset=DATASET, budget=budget, seed=seed,
                                   schedule=SCHEDULE, augment=False, epochs=p.epochs,
                                   train_images=p.train_images, test_images=p.test_images))
            for seed in p.seeds]
