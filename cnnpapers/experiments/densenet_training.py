"""Training runs of the chapter ``densenet_training`` (DenseNet paper Table 2, Figs. 4 and 5).

One run per (dataset, architecture, seed), shared by every table and figure that needs it: the
DenseNet (L=40, k=12) of Table 2 is also the plain-DenseNet point of Fig. 4 (left) and the trained
network of Fig. 5, DenseNet-BC (L=100, k=12) is in Table 2 and in all three panels of Fig. 4.

Every architecture on one dataset is trained with the same recipe — the DenseNet paper's schedule
shape (SGD, Nesterov momentum 0.9, weight decay 1e-4, batch 64, lr 0.1 divided by 10 at 50 % and
75 % of training; note 003, 训练) — so that the comparison is between architectures, not recipes.
The ResNet errors the paper prints come from their own papers' recipes; ours do not.

Sizes per budget (the cpu sizes keep the chapter under 45 minutes on an idle 2-core CPU; see
:data:`CPU_SIZES`):

* ``smoke``: one step of 64 images per run and a 64-image test set, a handful of architectures;
* ``cpu``: 3,000 Fashion-MNIST training images, three epochs, a 2,000-image test set, and the
  cheapest architectures that answer each question: DenseNet, -B, -C and -BC at L = 40 and
  DenseNet-BC at 70 and 100, pre-activation ResNets at depths 20, 47 and 110 (below the paper's
  164, built from ``preact_resnet164_cifar`` with ``network_depth``);
* ``gpu``/``paper``: full training sets and the budget's epochs, every Fig. 4 variant at
  L = 40, 70, 100, three seeds for the Table 2 rows, and the same runs on CIFAR-10/100 and SVHN
  where their files are on disk (:func:`available_datasets`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..budgets import get_budget
from ..data import data_root
from ..train import TrainConfig
from . import Experiment, group

CHAPTER = "densenet_training"

# The DenseNet recipe on each dataset: the paper's CIFAR and SVHN schedules, and on Fashion-MNIST
# our schedule of the same shape (schedules.py: "fashion-mnist").
SCHEDULE_FOR = {"fashion-mnist": "fashion-mnist", "cifar10": "densenet-cifar",
                "cifar100": "densenet-cifar", "svhn": "densenet-svhn"}

# Files torchvision's dataset classes look for under the data root (cnnpapers.data).
_TORCHVISION_FILES = {
    "cifar10": ("cifar-10-batches-py/data_batch_1", "cifar-10-batches-py/test_batch"),
    "cifar100": ("cifar-100-python/train", "cifar-100-python/test"),
    "svhn": ("svhn/train_32x32.mat", "svhn/test_32x32.mat"),
}

# cpu budget: images and epochs of every run, the same for every architecture (the budget's own
# 10,000 images x 4 epochs would cost about 25 minutes for DenseNet-BC-100 alone). Measured on the
# 2-core AMD EPYC (one thread, thread CPU time, images/s training / testing): DenseNet-40 19 / 51,
# DenseNet-B-40 51 / 131, DenseNet-C-40 25 / 64, DenseNet-BC-40 64 / 97, DenseNet-BC-70 27 / 70,
# DenseNet-BC-100 13 / 33, ResNet-56 86 / 250, pre-act ResNet-20 157 / 333, -47 73 / 176,
# -110 30 / 80. These sizes cost about 3,500 core-seconds: about 35 minutes on two idle cores.
CPU_SIZES = {"train_images": 3000, "test_images": 2000, "epochs": 3}
SMOKE_SIZES = {"train_images": 64, "test_images": 64, "epochs": 1}


@dataclass(frozen=True)
class Arch:
    """One trained architecture: a registered model, optionally at another ``network_depth``."""

    key: str  # unique within the chapter; the experiment name's last part
    model: str
    family: str  # the Fig. 4 series it belongs to
    label: str
    model_kwargs: dict[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash(self.key)


def _densenet(prefix: str, depth: int) -> Arch:
    family = {"": "DenseNet", "b_": "DenseNet-B", "c_": "DenseNet-C", "bc_": "DenseNet-BC"}[prefix]
    name = f"densenet_{prefix}{depth}_k12"
    return Arch(name, name, family, f"{family} (L={depth}, k=12)")


def _preact(depth: int) -> Arch:
    """A pre-activation bottleneck ResNet (He et al. 2016b) of ``depth`` = 9n + 2 layers; depths
    other than the registered 164 and 1001 are ``preact_resnet164_cifar`` at ``network_depth``."""
    registered = depth in (164, 1001)
    model = f"preact_resnet{depth}_cifar" if registered else "preact_resnet164_cifar"
    return Arch(f"preact_resnet{depth}_cifar", model, "pre-act ResNet", f"pre-act ResNet-{depth}",
                {} if registered else {"network_depth": depth})


def _resnet(depth: int) -> Arch:
    name = f"resnet{depth}_cifar"
    return Arch(name, name, "ResNet", f"ResNet-{depth}")


DENSENET_40 = _densenet("", 40)  # Table 2, Fig. 4 (left), Fig. 5
DENSENET_BC_100 = _densenet("bc_", 100)  # Table 2, Fig. 4 (all panels)
RESNET_56 = _resnet(56)  # 0.85M: the ResNet of about DenseNet-BC-100's size


@dataclass(frozen=True)
class Plan:
    """Which architectures each table/figure uses at one budget."""

    table2: tuple[Arch, ...]
    fig4_variants: tuple[Arch, ...]
    fig4_resnets: tuple[Arch, ...]
    fig4_curves: tuple[Arch, Arch]  # (deep pre-act ResNet, DenseNet-BC)
    seeds: tuple[int, ...]
    sizes: dict[str, int | None]

    def architectures(self) -> list[Arch]:
        """Every architecture once, in first-use order."""
        seen: dict[str, Arch] = {}
        for arch in (*self.table2, *self.fig4_variants, *self.fig4_resnets, *self.fig4_curves):
            seen.setdefault(arch.key, arch)
        return list(seen.values())

    def seeds_for(self, arch: Arch) -> tuple[int, ...]:
        """Table 2 rows get every seed; the sweeps of Fig. 4 only the first."""
        return self.seeds if arch in self.table2 else self.seeds[:1]


def plan(budget: str) -> Plan:
    b = get_budget(budget)
    variants = b.pick(
        smoke=(DENSENET_40, _densenet("bc_", 40), DENSENET_BC_100),
        cpu=(DENSENET_40, _densenet("b_", 40), _densenet("c_", 40), _densenet("bc_", 40),
             _densenet("bc_", 70), DENSENET_BC_100),
        gpu=tuple(_densenet(p, d) for p in ("", "b_", "c_", "bc_") for d in (40, 70, 100)),
    )
    resnet_depths = b.pick(smoke=(11, 20), cpu=(20, 47, 110), gpu=(20, 56, 110, 164),
                           paper=(20, 56, 110, 164, 1001))
    deep = _preact(resnet_depths[-1])
    table2 = b.pick(smoke=(DENSENET_40, DENSENET_BC_100, RESNET_56),
                    cpu=(DENSENET_40, DENSENET_BC_100, RESNET_56),
                    gpu=(DENSENET_40, DENSENET_BC_100, RESNET_56, _resnet(110), _preact(164)))
    return Plan(
        table2=table2, fig4_variants=variants,
        fig4_resnets=tuple(_preact(d) for d in resnet_depths), fig4_curves=(deep, DENSENET_BC_100),
        seeds=b.pick(smoke=(0,), cpu=(0,), gpu=(0, 1, 2)),
        sizes=b.pick(smoke=SMOKE_SIZES, cpu=CPU_SIZES,
                     gpu={"train_images": None, "test_images": None, "epochs": None}),
    )


def probes_for(arch: Arch, seed: int, first_seed: int) -> tuple[str, ...]:
    """Fig. 5's matrix from DenseNet-40, gradient norms during training of the Table 2 trio."""
    if seed != first_seed or arch not in (DENSENET_40, DENSENET_BC_100, RESNET_56):
        return ()
    return ("weight_reuse", "gradient_flow") if arch == DENSENET_40 else ("gradient_flow",)


def available_datasets(budget: str) -> tuple[str, ...]:
    """Fashion-MNIST always; at the gpu and paper budgets also CIFAR-10/100 and SVHN when their
    files are under the data root (``$CNNPAPERS_DATA``; they cannot be downloaded here)."""
    if get_budget(budget).name in ("smoke", "cpu"):
        return ("fashion-mnist",)
    root = data_root()
    found = [name for name, files in _TORCHVISION_FILES.items()
             if all((Path(root) / f).exists() for f in files)]
    return ("fashion-mnist", *found)


def experiment_name(dataset: str, arch: Arch, seed: int) -> str:
    return f"{CHAPTER}/{dataset}/{arch.key}/seed{seed}"


def experiment_for(budget: str, dataset: str, arch: Arch, seed: int) -> Experiment:
    p = plan(budget)
    config = TrainConfig(arch.model, dataset=dataset, budget=budget, seed=seed,
                         schedule=SCHEDULE_FOR[dataset], model_kwargs=dict(arch.model_kwargs),
                         **p.sizes)
    return Experiment(experiment_name(dataset, arch, seed), config,
                      probes=probes_for(arch, seed, p.seeds[0]))


@group(CHAPTER)
def _runs(budget: str) -> list[Experiment]:
    p = plan(budget)
    return [experiment_for(budget, dataset, arch, seed)
            for dataset in available_datasets(budget)
            for arch in p.architectures()
            for seed in p.seeds_for(arch)]
