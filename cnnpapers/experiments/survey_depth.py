"""Training runs of the chapter ``survey_depth``: the degradation problem (He et al. 2016, Fig. 6)
and a deep highway network against its plain twin (Srivastava et al. 2015), on Fashion-MNIST.

Every run uses the ``resnet-cifar`` schedule (SGD, momentum 0.9, weight decay 1e-4, batch 128,
lr 0.1 divided by 10 at 50 % and 75 % of training, shift-and-flip augmentation) shortened by the
plan below, and records the ``gradient_flow`` probe (per-layer gradient norms about ten times
during training).

* Degradation: ``plain20_cifar``, ``plain56_cifar``, ``resnet20_cifar``, ``resnet56_cifar`` —
  a plain net has exactly its ResNet's parameters (option-A shortcuts have none).
* Highway: ``highway_19`` and ``highway_19_plain`` re-shaped by ``model_kwargs`` to the CIFAR
  ResNet's widths (16-32-64) with 9 highway layers per stage (32 layers as the highway paper
  counts them), no dropout (the question is optimisation, as in the paper's Fig. 1). Its
  parameters and multiply-adds are within a few per cent of ResNet-56's, which makes ResNet-56
  the comparison at equal cost.

Plans (train images x epochs = optimiser steps at batch 128):

* ``smoke``: the budget's 128 training and test images, one epoch (one step), seed 0;
* ``cpu``: 5,120 training images x 8 epochs (320 steps), 2,000 test images, seed 0 — about
  27 minutes on an idle 2-core CPU (measured per-image costs in :data:`CPU_SECONDS_PER_IMAGE`);
* ``gpu``/``paper``: all 60,000 images, the budget's epochs, seeds 0, 1, 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..budgets import get_budget
from ..train import TrainConfig
from . import Experiment, RunPlan, group

CHAPTER = "survey_depth"
DATASET = "fashion-mnist"
SCHEDULE = "resnet-cifar"
PROBES = ("gradient_flow",)

# The highway net at the CIFAR ResNet's widths: 3 plain convs + 27 highway layers + 1x1 + fc.
HIGHWAY_SHAPE: dict[str, Any] = {"widths": (16, 32, 64), "layers_per_stage": (9, 9, 9),
                                 "dropout": 0.0}


@dataclass(frozen=True)
class Arch:
    """One architecture of the chapter: a registered model, its overrides, its role."""

    key: str  # short name used in run names, tables and figures
    model: str
    family: str  # "plain" | "residual" | "highway" | "plain (no BN)"
    model_kwargs: dict[str, Any]
    depth: int  # weighted layers as its paper counts them


ARCHS: dict[str, Arch] = {a.key: a for a in [
    Arch("plain20", "plain20_cifar", "plain", {}, 20),
    Arch("plain56", "plain56_cifar", "plain", {}, 56),
    Arch("resnet20", "resnet20_cifar", "residual", {}, 20),
    Arch("resnet56", "resnet56_cifar", "residual", {}, 56),
    Arch("highway32", "highway_19", "highway", HIGHWAY_SHAPE, 32),
    Arch("highway32_plain", "highway_19_plain", "plain (no BN)", HIGHWAY_SHAPE, 32),
]}
DEGRADATION = ("plain20", "plain56", "resnet20", "resnet56")
HIGHWAY = ("highway32", "highway32_plain", "resnet56")  # resnet56: the equal-cost comparison


def plan(budget: str) -> RunPlan:
    return get_budget(budget).pick(
        smoke=RunPlan(None, None, None, (0,)),
        cpu=RunPlan(5_120, 2_000, 8, (0,)),
        gpu=RunPlan(None, None, None, (0, 1, 2)),
    )


# Single-thread CPU seconds per training / test image at 28x28, batch 128 (process time on the
# 2-core AMD EPYC, so other processes do not inflate them); the cpu plan's estimate divides by
# 1.6 for two threads. DenseNet-BC-100 measured the same way gives 25-30 images/s on two idle
# cores against 14 on one: two threads are 1.8-2.1x one, and less for these small nets.
CPU_SECONDS_PER_IMAGE = {
    "plain20": (0.0046, 0.0012), "plain56": (0.0148, 0.0038), "resnet20": (0.0049, 0.0015),
    "resnet56": (0.0150, 0.0043), "highway32": (0.0111, 0.0033), "highway32_plain": (0.0054, 0.0018),
}


def run_name(key: str, seed: int) -> str:
    return f"{CHAPTER}/{key}/seed{seed}"


def config(arch: Arch, budget: str, seed: int) -> TrainConfig:
    p = plan(budget)
    return TrainConfig(arch.model, dataset=DATASET, budget=budget, seed=seed, schedule=SCHEDULE,
                       model_kwargs=dict(arch.model_kwargs), train_images=p.train_images,
                       test_images=p.test_images, epochs=p.epochs)


@group(CHAPTER)
def _runs(budget: str) -> list[Experiment]:
    return [Experiment(run_name(key, seed), config(arch, budget, seed), probes=PROBES)
            for key, arch in ARCHS.items() for seed in plan(budget).seeds]
