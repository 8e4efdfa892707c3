"""Training runs of the chapter ``resnext_ablation`` (ResNeXt paper Table 3 and Fig. 5, scaled).

One run per (setting C×d, seed) of the budget's :class:`~cnnpapers.chapters.resnext_ablation.
AblationPlan`: a CIFAR-style ResNeXt-29 (the registered ``resnext29_8x64d_cifar`` narrowed with
``base_channels``) at the bottleneck width that keeps its parameters at the C = 1 net's, on
Fashion-MNIST with our ``fashion-mnist`` schedule (the budget's epochs). The same runs give the
ablation (final errors against cardinality) and Fig. 5 (the curves of C = 1 against the largest
cardinality trained), so Fig. 5 costs nothing extra.

* ``smoke``: base 8, settings 1×8d and 4×3d, two seeds, the budget's 128 images, one epoch;
* ``cpu``: base 16, settings 1×16d, 2×10d, 4×6d, 32×1d, two seeds, 6,000 training and 2,500 test
  images, 4 epochs (about 2,600 CPU-seconds: 25-35 min on an idle 2-core CPU);
* ``gpu``/``paper``: base 32, Table 3's settings at half width (1×32d, 2×20d, 4×12d, 8×7d, 32×2d),
  three seeds, all 60,000 images, the budget's epochs.
"""

from __future__ import annotations

from ..chapters.resnext_ablation import ablation_plan
from ..train import TrainConfig
from . import Experiment, group

CHAPTER = "resnext_ablation"
MODEL = "resnext29_8x64d_cifar"  # the registered ResNeXtCIFAR; widths come from model_kwargs
DATASET = "fashion-mnist"


def run_name(cardinality: int, bottleneck_width: int, seed: int) -> str:
    return f"{CHAPTER}/{cardinality}x{bottleneck_width}d/seed{seed}"


@group(CHAPTER)
def _runs(budget: str) -> list[Experiment]:
    plan = ablation_plan(budget)
    return [
        Experiment(run_name(c, d, seed),
                   TrainConfig(MODEL, dataset=DATASET, budget=budget, seed=seed,
                               model_kwargs=plan.template.model_kwargs(c, d),
                               train_images=plan.train_images, test_images=plan.test_images))
        for c, d in plan.trained() for seed in plan.seeds
    ]
