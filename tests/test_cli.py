"""``python -m cnnpapers``: help that explains budgets, one clear error per bad argument, training,
listing, benchmarks and progress bars."""

import json
import subprocess
import sys

import pytest
import torch

from cnnpapers import data
from cnnpapers.budgets import BUDGETS
from cnnpapers.provenance import REPO_ROOT
from cnnpapers.schedules import SCHEDULES

HAVE_FMNIST = (data.fashion_mnist_dir() / "t10k-images-idx3-ubyte.gz").exists()
needs_fmnist = pytest.mark.skipif(not HAVE_FMNIST, reason="Fashion-MNIST not installed")
TINY = ["--model", "lenet5_relu", "--epochs", "1", "--train-images", "128", "--test-images", "64",
        "--device", "cpu"]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNPAPERS_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("CNNPAPERS_RUNS", str(tmp_path / "runs"))
    return tmp_path


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "cnnpapers", "--help"], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "train" in out.stdout and "budgets" in out.stdout


def test_train_help_explains_every_budget(cli):
    code, out, _ = cli("train", "--help")
    assert code == 0
    for budget in BUDGETS.values():
        assert f"  {budget.name} " in out and budget.description in out
    assert "learning-rate drops happen at the same" in out and "--resume" in out


@pytest.mark.parametrize("argv, message", [
    (["train", "--model", "lenet6"], "unknown model 'lenet6'.*list_models"),
    (["train", "--model", "lenet5", "--dataset", "mnist"], "unknown dataset 'mnist'; choose"),
    (["train", "--model", "lenet5", "--budget", "huge"], "unknown budget 'huge'; choose one of"),
    (["train", "--model", "lenet5", "--schedule", "adam"], "unknown schedule 'adam'; choose"),
    (["train", "--model", "lenet5", "--epochs", "0"], "expected a positive integer, got 0"),
    (["train", "--model", "lenet5", "--train-images", "many"], "expected a positive integer"),
    (["train", "--model", "lenet5", "--model-arg", "growth"], "expected NAME=VALUE"),
    (["train", "--model", "lenet5", "--model-arg", "growth_rate=12"],
     r"lenet5 has no hyper-parameter \['growth_rate'\]; valid ones"),
    (["train"], "the following arguments are required: --model"),
    (["list-models", "--category", "Fancy"], "unknown category 'Fancy'; choose one of"),
    (["bench", "fastest"], "invalid choice: 'fastest'"),
    (["bench", "train-speed", "--budget", "huge"], "invalid choice: 'huge'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "required: COMMAND"),
])
def test_every_bad_argument_is_one_clear_error(cli, argv, message):
    import re

    code, _, err = cli(*argv)
    assert code == 2
    assert re.search(message, err), err
    assert "Traceback" not in err


def test_missing_cifar_is_an_error_naming_download_and_data_root(cli, tmp_path):
    code, _, err = cli("train", "--model", "resnet20_cifar", "--dataset", "cifar10",
                       "--data-root", str(tmp_path / "nothing"))
    assert code == 1
    assert "--download" in err and "--data-root" in err and "Traceback" not in err


def test_list_models_and_schedules(cli):
    code, out, _ = cli("list-models", "lenet*")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == ["lenet5", "lenet5_relu"]
    code, out, _ = cli("list-models", "--category", "Spatial exploitation")
    assert code == 0 and "lenet5 " in out
    code, out, _ = cli("list-schedules")
    assert code == 0 and all(f"{name}:" in out for name in SCHEDULES) and "source: ours" in out


@needs_fmnist
def test_train_smoke_prints_accuracy_and_stores_nothing(cli, isolated):
    code, out, _ = cli("train", *TINY, "--budget", "smoke", "--ten-crop")
    assert code == 0, out
    assert "epoch 1/1: train loss" in out and "test accuracy" in out and "10-crop test error" in out
    assert not (isolated / "results").exists()  # smoke results are never cached


@needs_fmnist
def test_train_cpu_budget_caches_and_resume_of_a_finished_run_is_instant(cli, isolated):
    code, out, _ = cli("train", *TINY, "--budget", "cpu")
    assert code == 0 and "result: " in out
    folder = isolated / "results" / "cpu" / "train" / "lenet5_relu" / "fashion-mnist"
    (path,) = folder.glob("*.json")
    stored = json.loads(path.read_text())
    assert stored["config"]["epochs"] == 1 and stored["provenance"]["budget"] == "cpu"
    code, again, _ = cli("train", *TINY, "--budget", "cpu")
    assert code == 0 and "epoch 1/1" not in again  # served from the cache
    code, forced, _ = cli("train", *TINY, "--budget", "cpu", "--force", "--resume")
    assert code == 0 and "resumed from" in forced and "after epoch 1/1" in forced


@needs_fmnist
def test_bench_train_speed_prints_both_loops_and_writes_an_artifact(cli, isolated):
    code, out, _ = cli("bench", "train-speed", "--model", "lenet5_relu", "--budget", "cpu",
                       "--steps", "2", "--batch-size", "32", "--device", "cpu")
    assert code == 0, out
    assert "plain eager fp32 loop" in out and "cnnpapers fit" in out and "ratio" in out
    (path,) = (isolated / "results" / "cpu" / "bench" / "train-speed").rglob("*.json")
    stored = json.loads(path.read_text())
    m = stored["metrics"]
    assert m["ratio"] == pytest.approx(m["ours_images_per_s"] / m["plain_images_per_s"])
    assert stored["provenance"]["device"] == "cpu" and stored["config"]["steps"] == 2


@needs_fmnist
def test_bench_fast_path_parity_measures_the_noise_with_a_next_seed_run(cli, isolated):
    code, out, _ = cli("bench", "fast-path-parity", "--model", "lenet5_relu", "--budget", "cpu",
                       "--epochs", "2", "--train-images", "128", "--test-images", "64",
                       "--device", "cpu")
    assert code == 0, out
    assert "within noise: " in out and "next seed vs plain" in out
    (path,) = (isolated / "results" / "cpu" / "bench" / "fast-path-parity").rglob("*.json")
    stored = json.loads(path.read_text())
    m, curves = stored["metrics"], stored["curves"]
    assert set(curves) == {"plain", "fast", "plain, next seed"}
    assert stored["config"]["fast_path"]["channels_last"] and not stored["config"]["bf16"]
    assert m["seed_test_error_gap"] == max(
        abs(a - b) for a, b in zip(curves["plain"]["test_error"],
                                   curves["plain, next seed"]["test_error"]))
    assert m["test_error_margin"] >= m["seed_test_error_gap"]
    assert m["within_noise"] == (m["test_error_gap"] <= m["test_error_margin"]
                                 and m["train_loss_gap"] <= m["seed_train_loss_gap"])


@needs_fmnist
def test_progress_bars_show_loss_and_accuracy(capsys):
    from cnnpapers.schedules import get_schedule
    from cnnpapers.train import TrainConfig, fit, load_splits

    train_set, test_set = load_splits(
        TrainConfig("lenet5_relu", train_images=128, test_images=64), min_input_size=32)
    torch.manual_seed(0)
    import cnnpapers

    fit(cnnpapers.create_model("lenet5_relu"), train_set, test_set, get_schedule("fashion-mnist"),
        epochs=1, device="cpu", progress=True)
    err = capsys.readouterr().err
    assert "epochs" in err and "loss=" in err and "acc=" in err and "test_acc=" in err
