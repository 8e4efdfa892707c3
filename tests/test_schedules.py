"""The paper schedules against the numbers printed in the notes and papers."""

import os
from pathlib import Path

import pytest

from cnnpapers.budgets import get_budget
from cnnpapers.provenance import REPO_ROOT
from cnnpapers.schedules import SCHEDULES, Schedule, default_schedule, get_schedule, steps_per_epoch

NOTES = Path(os.environ.get("CNNPAPERS_NOTES", REPO_ROOT.parent / "shared" / "notes"))

# Note 003 (DenseNet paper notes), section 训练, quoted verbatim.
NOTE_003_TRAINING = [
    "我们训练批量为64, 分别训练300和40个周期.",
    "初始学习率设置为0.1, 在训练周期数达到50％和75％时除以10.",
    "训练批量为256, 训练90个周期.",
    "学习速率最初设置为0.1, 并在训练周期数达到30和60时除以10.",
    "我们使用的**权重衰减**为$10^{−4}$, Nesterov**动量**",
    "为0.9且没有衰减.",
    "并将Dropout率设置为0.2.",
]


def test_quotes_are_in_note_003():
    notes = sorted(NOTES.glob("003_*.txt"))
    if not notes:
        pytest.skip(f"notes not found under {NOTES} (set CNNPAPERS_NOTES)")
    text = notes[0].read_text()
    for quote in NOTE_003_TRAINING:
        assert quote in text


def _sgd(s: Schedule, lr, momentum, nesterov, wd, batch):
    assert (s.optimizer, s.lr, s.momentum, s.nesterov, s.weight_decay, s.batch_size) == (
        "sgd", lr, momentum, nesterov, wd, batch)


def test_densenet_cifar_and_svhn_follow_note_003():
    cifar, svhn = get_schedule("densenet-cifar"), get_schedule("densenet-svhn")
    for s in (cifar, svhn):
        _sgd(s, 0.1, 0.9, True, 1e-4, 64)  # "批量为64", "0.1", "10^-4", "Nesterov 动量 0.9"
        assert s.milestones == (0.5, 0.75) and s.gamma == 0.1  # "50％和75％时除以10"
        assert s.dropout == 0.2  # "Dropout率设置为0.2", without augmentation only
    assert (cifar.epochs, svhn.epochs) == (300, 40)  # "分别训练300和40个周期"
    assert cifar.milestone_epochs() == [150, 225]
    assert svhn.milestone_epochs() == [20, 30]
    assert (cifar.augmentation, svhn.augmentation) == ("c10+", "none")


def test_densenet_imagenet_follows_note_003():
    s = get_schedule("densenet-imagenet")
    _sgd(s, 0.1, 0.9, True, 1e-4, 256)  # "训练批量为256"
    assert s.epochs == 90
    assert s.milestone_epochs() == pytest.approx([30, 60])  # "训练周期数达到30和60时除以10"


def test_resnet_cifar_counts_iterations_like_he_et_al():
    s = get_schedule("resnet-cifar")
    _sgd(s, 0.1, 0.9, False, 1e-4, 128)
    assert s.epochs == 182  # 64k iterations x 128 / 45k images = 182.04
    # at the paper's length the drops land on iterations 32k and 48k exactly
    assert s.milestone_steps(64_000) == [32_000, 48_000]
    steps = (0, 31_999, 32_000, 47_999, 48_000, 63_999)
    expected = [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]
    assert [s.lr_at(i, 64_000) for i in steps] == pytest.approx(expected)


@pytest.mark.parametrize("name", ["resnet110-cifar", "preact-resnet-cifar"])
def test_resnet_warm_up_is_400_iterations_at_0_01(name):
    s = get_schedule(name)
    assert s.warmup_lr == 0.01
    assert s.lr_at(399, 64_000) == 0.01 and s.lr_at(400, 64_000) == 0.1
    assert s.milestone_steps(64_000) == [32_000, 48_000]


def test_resnext_cifar():
    s = get_schedule("resnext-cifar")
    _sgd(s, 0.1, 0.9, True, 5e-4, 128)
    assert s.epochs == 300 and s.milestone_epochs() == [150, 225] and s.gamma == 0.1


def test_wrn_cifar_multiplies_by_0_2_three_times():
    s = get_schedule("wrn-cifar")
    _sgd(s, 0.1, 0.9, True, 5e-4, 128)
    assert s.epochs == 200 and s.milestone_epochs() == pytest.approx([60, 120, 160])
    steps = 200 * 391
    lrs = [s.lr_at(epoch * 391, steps) for epoch in (0, 59, 60, 120, 160, 199)]
    assert lrs == pytest.approx([0.1, 0.1, 0.02, 0.004, 0.0008, 0.0008])


def test_fashion_mnist_schedule_is_labelled_ours():
    s = get_schedule("fashion-mnist")
    assert s.paper is None and s.source.startswith("ours")
    assert s.augmentation == "fashion-mnist"


def test_every_schedule_quotes_a_source():
    for name in SCHEDULES:
        s = get_schedule(name)
        assert s.source and s.name == name
        assert s.paper is not None or s.source.startswith("ours")


@pytest.mark.parametrize("budget", ["smoke", "cpu", "gpu"])
def test_budgets_keep_the_schedule_shape(budget):
    s = get_schedule("densenet-cifar")
    epochs = get_budget(budget).epochs(s.epochs)
    steps = epochs * steps_per_epoch(5_000, s.batch_size)
    lrs = [s.lr_at(i, steps) for i in range(steps)]
    # the first drop after half of the steps, the second after three quarters
    assert lrs.index(pytest.approx(0.01)) == round(0.5 * steps)
    assert lrs.index(pytest.approx(0.001)) == round(0.75 * steps)


def test_default_schedules():
    assert default_schedule("densenet_bc_100_k12", "cifar10").name == "densenet-cifar"
    assert default_schedule("resnet20_cifar", "cifar10").name == "resnet-cifar"
    assert default_schedule("resnet110_cifar", "cifar100").name == "resnet110-cifar"
    assert default_schedule("preact_resnet164_cifar", "cifar10").name == "preact-resnet-cifar"
    assert default_schedule("resnext29_8x64d_cifar", "cifar10").name == "resnext-cifar"
    assert default_schedule("wrn_28_10", "cifar10").name == "wrn-cifar"
    assert default_schedule("densenet_bc_100_k12", "svhn").name == "densenet-svhn"
    assert default_schedule("resnet20_cifar", "fashion-mnist").name == "fashion-mnist"


def test_unknown_schedule_names_the_choices():
    with pytest.raises(ValueError, match="choose one of.*densenet-cifar"):
        get_schedule("densenet")


def test_invalid_schedules_are_refused():
    base = get_schedule("densenet-cifar")
    with pytest.raises(ValueError, match="milestones"):
        base.with_changes(milestones=(0.75, 0.5))
    with pytest.raises(ValueError, match="only 'sgd'"):
        base.with_changes(optimizer="adam")
    with pytest.raises(ValueError, match="warm-up"):
        base.with_changes(warmup_lr=0.01, warmup_fraction=0.6)


def test_too_few_images_for_one_batch():
    with pytest.raises(ValueError, match="fewer than one batch"):
        steps_per_epoch(10, 64)


def test_the_fast_recipe_is_labelled_ours_and_names_its_departures():
    s = get_schedule("fashion-mnist-fast")
    assert s.paper is None and s.source.startswith("ours")
    for departure in ("one-cycle", "label smoothing 0.1", "weight decay 5e-4", "batch 128"):
        assert departure in s.source
    assert "half cosine" in s.describe() and "label smoothing 0.1" in s.describe()


def test_one_cycle_warms_up_linearly_then_falls_as_a_half_cosine():
    s = get_schedule("fashion-mnist-fast")
    steps = 1000  # warm-up: the first 100
    lrs = [s.lr_at(i, steps) for i in range(steps)]
    assert lrs[0] == pytest.approx(s.lr / 100) and lrs[99] == pytest.approx(s.lr)
    assert all(a < b for a, b in zip(lrs[:99], lrs[1:100]))
    assert all(a >= b for a, b in zip(lrs[100:], lrs[101:]))
    assert lrs[100 + 450] == pytest.approx(s.lr / 2)  # half-way down the cosine
    assert lrs[-1] == pytest.approx(0, abs=1e-5 * s.lr)


def test_one_cycle_refuses_milestones_and_bad_smoothing():
    fast = get_schedule("fashion-mnist-fast")
    with pytest.raises(ValueError, match="no milestones"):
        fast.with_changes(milestones=(0.5,))
    with pytest.raises(ValueError, match="label_smoothing"):
        fast.with_changes(label_smoothing=1.0)
    with pytest.raises(ValueError, match="shape must be one of"):
        fast.with_changes(shape="triangle")
