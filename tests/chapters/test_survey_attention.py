import pytest
import torch

import cnnpapers
from cnnpapers import experiments
from cnnpapers.chapters import survey_attention as sa
from cnnpapers.experiments.survey_attention import BASELINE, MODELS, plan
from cnnpapers.results import Result

# ResNet-20 on 1x28x28: three blocks per stage on 16x28x28, 32x14x14 and 64x7x7 branch outputs
BRANCH_ELEMENTS = 3 * (16 * 28 * 28 + 32 * 14 * 14 + 64 * 7 * 7)


def _se(c, r=16):
    return 2 * c * (c // r) + c // r + c  # W1, W2 and their biases


def fake(model, seed, test, train=0.05):
    return Result(f"survey_attention/{model}/seed{seed}", {"seed": seed, "budget": "cpu"},
                  {"test_error": test, "train_error": train, "parameters": 1,
                   "test_images": 10_000},
                  {"images_per_s": [10.0]})


def test_pointwise_ops_of_se_and_cbam_on_resnet20():
    for name, per_element in (("se_resnet20_cifar", 2), ("cbam_resnet20_cifar", 6)):
        with torch.device("meta"):
            model = cnnpapers.create_model(name, num_classes=10, in_channels=1)
        assert sa.attention_pointwise_ops(model, (1, 28, 28)) == per_element * BRANCH_ELEMENTS
    with torch.device("meta"):
        plain = cnnpapers.create_model("resnet20_cifar", in_channels=1)
    assert sa.attention_pointwise_ops(plain, (1, 28, 28)) == 0


def test_cifar_cost_table_adds_the_closed_form_parameters():
    t = sa.cost_table(sa.CIFAR_PAIRS, (1, 28, 28), num_classes=10).set_index("net")
    se = 3 * (_se(16) + _se(32) + _se(64))
    assert t.loc["se_resnet20_cifar", "added parameters"] == se
    assert t.loc["cbam_resnet20_cifar", "added parameters"] == se + 9 * 2 * 7 * 7  # 7x7 conv, 2 maps
    # SE's fc layers cost one MAC per weight per image; CBAM runs the same MLP on two
    # descriptors (average and max) and its 7x7 conv at every pixel
    se_fc = 3 * (2 * 16 * 1 + 2 * 32 * 2 + 2 * 64 * 4)
    assert t.loc["se_resnet20_cifar", "added MMACs"] * 1e6 == pytest.approx(se_fc)
    spatial = 3 * 2 * 49 * (28 * 28 + 14 * 14 + 7 * 7)
    assert t.loc["cbam_resnet20_cifar", "added MMACs"] * 1e6 == pytest.approx(2 * se_fc + spatial)


def test_printed_match_uses_the_printed_precision():
    assert sa.printed_match(3.8604, "3.86") and sa.printed_match(3.8584, "3.858")
    assert not sa.printed_match(3.866, "3.86") and not sa.printed_match(28.1, "28.09")


def test_quoted_top1_gain_is_the_se_papers():
    assert sa.quoted_top1_gain() == (24.80, 23.29, 1.51)


def test_improvement_and_noise_from_seeds():
    runs = {"resnet20_cifar": [fake("resnet20_cifar", 0, 0.100), fake("resnet20_cifar", 1, 0.104)],
            "se_resnet20_cifar": [fake("se_resnet20_cifar", 0, 0.080),
                                  fake("se_resnet20_cifar", 1, 0.084)]}
    d = sa.improvement(runs, "se_resnet20_cifar")
    assert d.diff == pytest.approx(0.02) and d.above
    assert sa.seed_noise(runs) == pytest.approx(0.002 * 2 ** 0.5)  # two pairs 0.004 apart
    t = sa.seed_table(runs).set_index("model")
    assert t.loc["se_resnet20_cifar", "gain over baseline (points)"] == pytest.approx(2.0)
    assert t.loc["resnet20_cifar", "test error seed 1 (%)"] == pytest.approx(10.4)
    assert sa.seed_noise({"a": [fake("a", 0, 0.1)]}) is None


def test_experiments_give_every_model_the_same_seeds():
    for budget in ("smoke", "cpu", "gpu"):
        todo = experiments.experiments(budget, "survey_attention")
        assert len(todo) == len(MODELS) * len(plan(budget).seeds)
        for model in MODELS:
            seeds = [e.config.seed for e in todo if e.config.model == model]
            assert seeds == list(plan(budget).seeds)
    assert len(plan("cpu").seeds) >= 2 and len(plan("gpu").seeds) >= 3


def test_speed_table_times_the_three_nets_side_by_side():
    speed = sa.speed_table("smoke").set_index("model")
    assert list(speed.index) == list(MODELS)
    assert speed.loc[BASELINE, "time per image vs baseline"] == 1.0
    assert (speed["training images/s"] > 0).all() and (speed["batch"] == 8).all()
    assert speed.loc["cbam_resnet20_cifar", "MACs vs baseline"] > 1.0
