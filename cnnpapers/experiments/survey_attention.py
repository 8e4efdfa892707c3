"""Training runs of the chapter ``survey_attention``: the CIFAR ResNet-20 with and without
squeeze-and-excitation (Hu et al. 2018) or CBAM (Woo et al. 2018) on every residual branch, on
Fashion-MNIST with the ``resnet-cifar`` schedule shortened by the plan below.

The three nets differ only by the attention module (``se_resnet20_cifar`` and
``cbam_resnet20_cifar`` are ``resnet20_cifar`` with ``attention=``), and every seed gives all
three the same data order and augmentation draws.

* ``smoke``: the budget's 128 training and test images, one epoch, seed 0;
* ``cpu``: 5,120 training images x 8 epochs (320 steps at batch 128), 5,000 test images (so that
  the test set's sampling error is about a point, not two), seeds 0 and 1 — about 20 minutes on
  an idle 2-core CPU (:data:`CPU_SECONDS_PER_IMAGE`);
* ``gpu``/``paper``: all 60,000 images, the budget's epochs, seeds 0-4.
"""

from __future__ import annotations

from ..budgets import get_budget
from ..train import TrainConfig
from . import Experiment, RunPlan, group

CHAPTER = "survey_attention"
DATASET = "fashion-mnist"
SCHEDULE = "resnet-cifar"
BASELINE = "resnet20_cifar"
MODELS = (BASELINE, "se_resnet20_cifar", "cbam_resnet20_cifar")


def plan(budget: str) -> RunPlan:
    return get_budget(budget).pick(
        smoke=RunPlan(None, None, None, (0,)),
        cpu=RunPlan(5_120, 5_000, 8, (0, 1)),
        gpu=RunPlan(None, None, None, (0, 1, 2, 3, 4)),
    )


# Single-thread CPU seconds per training / test image at 1x28x28, batch 128 (process time on the
# 2-core AMD EPYC); see cnnpapers.experiments.survey_depth for how they were taken.
CPU_SECONDS_PER_IMAGE = {
    "resnet20_cifar": (0.0049, 0.0015), "se_resnet20_cifar": (0.0057, 0.0014),
    "cbam_resnet20_cifar": (0.0080, 0.0017),
}


def run_name(model: str, seed: int) -> str:
    return f"{CHAPTER}/{model}/seed{seed}"


@group(CHAPTER)
def _runs(budget: str) -> list[Experiment]:
    p = plan(budget)
    return [Experiment(run_name(model, seed),
                       TrainConfig(model, dataset=DATASET, budget=budget, seed=seed,
                                   schedule=SCHEDULE, train_images=p.train_images,
                                   test_images=p.test_images, epochs=p.epochs))
            for model in MODELS for seed in p.seeds]
