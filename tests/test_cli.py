"""``python -m cnnpapers``: help that explains budgets, one clear error per bad argument, training,
listing, benchmarks and progress bars."""

import json
import os
import re
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
    (["train", "--model", "lenet5", "--continue-lr-scale", "0"], "expected a positive number, got 0"),
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
    code, _, err = cli(*argv)
    assert code == 2
    assert re.search(message, err), err
    assert len(err.splitlines()) == 1, err  # no usage block, no traceback


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


# --------------------------------------------------------------------------- bad input, one line

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")


@pytest.mark.parametrize("argv, message", [
    # names: the nearest known ones, beyond a shared prefix
    (["train", "--model", "densnet_bc_100_k12"], "Did you mean 'densenet_bc_100_k12'"),
    (["train", "--model", "LeNet5"], r"Did you mean 'lenet5'\?"),
    (["train", "--model", "resnet-50"], r"Did you mean 'resnet50'\?"),
    (["train", "--model", "lenet5", "--dataset", "MNIST"], "Did you mean 'fashion-mnist'"),
    (["train", "--model", "lenet5", "--budget", "CPU"], r"Did you mean 'cpu'\?"),
    (["train", "--model", "lenet5", "--schedule", "resnet_cifar"], "Did you mean 'resnet-cifar'"),
    (["bench", "train_speed"], "invalid choice: 'train_speed'.*Did you mean 'train-speed'"),
    # --model-arg, typed as the model takes it
    (["train", "--model", "resnet20_cifar", "--model-arg", "shortcuts=maybe"],
     r"resnet20_cifar's shortcuts takes true or false \(also yes/no, 1/0\), got 'maybe'"),
    (["train", "--model", "resnet20_cifar", "--model-arg", "attention=transformer"],
     r"attention takes one of \['cbam', 'se'\] or none, got 'transformer'"),
    (["train", "--model", "resnet20_cifar", "--model-arg", "shortcut=false"],
     "no hyper-parameter.*Did you mean 'shortcuts'"),
    (["train", "--model", "resnet20_cifar", "--model-arg", "network_depth=twenty"],
     "network_depth takes an integer, got 'twenty'"),
    (["train", "--model", "resnet20_cifar", "--model-arg", "network_depth=21"],
     r"network_depth must be 6n\+2"),
    (["train", "--model", "densenet121", "--model-arg", "block_config=6,x"],
     "block_config takes integers separated by commas"),
    (["train", "--model", "lenet5", "--model-arg", "num_classes=3"],
     "--model-arg num_classes is taken from the dataset"),
    # devices this machine lacks
    (["train", "--model", "lenet5", "--device", "gpu"], "unknown device 'gpu'; use --device auto"),
    (["train", "--model", "lenet5", "--device", "tpu"], "unknown device 'tpu'"),
    pytest.param(["train", "--model", "lenet5", "--device", "cuda"],
                 "no CUDA device here; use --device cpu or auto", marks=NO_CUDA),
    pytest.param(["train", "--model", "lenet5", "--device", "cuda:3"],
                 "no CUDA device here", marks=NO_CUDA),
    (["train", "--model", "lenet5", "--device", "cpu", "--cuda-graphs"],
     "--cuda-graphs needs a CUDA device"),
    (["experiments", "run", "--budget", "smoke", "--device", "gpu"], "unknown device 'gpu'"),
    (["bench", "train-speed", "--device", "gpu"], "unknown device 'gpu'"),
    # sizes
    (["train", "--model", "lenet5", "--train-images", "10"],
     r"--train-images 10 is fewer than one batch of 64 .*pass --train-images 64 or more"),
    (["train", "--model", "lenet5", "--schedule", "densenet-imagenet"],
     "budget smoke's 128 training images are fewer than one batch of 256"),
    (["bench", "train-speed", "--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    (["train", "--model", "lenet5", "--budget", "cpu", "--experiment", "../elsewhere"],
     "--experiment: experiment name must be a relative path"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(cli, isolated, argv, message):
    code, _, err = cli(*argv)
    assert code == 2
    assert re.search(message, err), err
    assert len(err.splitlines()) == 1, err
    assert not (isolated / "results").exists() and not (isolated / "runs").exists()


def test_model_args_reach_the_model_typed(cli, monkeypatch):
    from cnnpapers import train
    from cnnpapers.models.attention import SqueezeExcitation

    seen = {}

    def capture(experiment, config, **kwargs):
        seen.update(config.model_kwargs)
        raise SystemExit(0)

    monkeypatch.setattr(train, "run_experiment", capture)
    code, _, err = cli("train", "--model", "resnet20_cifar", "--model-arg", "shortcuts=false",
                       "--model-arg", "attention=se", "--model-arg", "last_survival_prob=1",
                       "--device", "cpu")
    assert code == 0, err
    assert seen == {"shortcuts": False, "attention": SqueezeExcitation, "last_survival_prob": 1.0}


@pytest.mark.parametrize("budget, env", [("cpu", "CNNPAPERS_RESULTS"), ("smoke", "CNNPAPERS_RUNS")])
def test_unwritable_results_or_runs_fail_before_training(cli, isolated, monkeypatch, budget, env):
    (isolated / "a-file").write_text("")
    monkeypatch.setenv(env, str(isolated / "a-file" / "folder"))
    monkeypatch.setattr("cnnpapers.train.load_splits", _no_data_may_load)
    code, _, err = cli("train", *TINY, "--budget", budget)
    assert code == 1
    assert "a-file is not a writable folder" in err and env in err and len(err.splitlines()) == 1
    assert not (isolated / "results").exists() and not (isolated / "runs").exists()


def _no_data_may_load(*args, **kwargs):
    raise AssertionError("the run started although its folders cannot be written")


def _read_only(monkeypatch, folder):
    """os.access as it answers for a read-only ``folder`` (tests may run as root, for whom
    permission bits do not count)."""
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: real(path, mode) and not (
        mode & os.W_OK and str(path).startswith(str(folder))))


def test_read_only_results_fail_experiments_run_before_training(cli, isolated, monkeypatch):
    (isolated / "results").mkdir()
    _read_only(monkeypatch, isolated / "results")
    monkeypatch.setattr("cnnpapers.train.load_splits", _no_data_may_load)
    code, _, err = cli("experiments", "run", "--budget", "cpu", "--chapter", "opening")
    assert code == 1 and len(err.splitlines()) == 1
    assert f"{isolated / 'results'} is not a writable folder" in err and "CNNPAPERS_RESULTS" in err
    assert not any((isolated / "results").iterdir()) and not (isolated / "runs").exists()


@needs_fmnist
def test_read_only_results_still_serve_a_stored_result(cli, isolated, monkeypatch):
    code, _, _ = cli("train", *TINY, "--budget", "cpu")
    assert code == 0
    _read_only(monkeypatch, isolated)
    code, out, err = cli("train", *TINY, "--budget", "cpu")
    assert code == 0, err
    assert "test accuracy" in out and "epoch 1/1" not in out


@pytest.mark.parametrize("argv, checkpoint, expected", [
    ([], False, "no epoch had finished, so start again with: python -m cnnpapers train --model "
                "lenet5_relu --epochs 1 --train-images 128 --test-images 64 --device cpu"
                " --budget cpu\n"),
    ([], True, "continue from the last finished epoch with: python -m cnnpapers train --model "
               "lenet5_relu --epochs 1 --train-images 128 --test-images 64 --device cpu"
               " --budget cpu --resume\n"),
    (["--resume"], True, "--budget cpu --resume\n"),  # not twice
])
def test_ctrl_c_during_train_says_how_to_resume(cli, monkeypatch, argv, checkpoint, expected):
    from cnnpapers import train

    def interrupted(experiment, config, **kwargs):
        if checkpoint:  # an epoch finished before Ctrl-C
            path = train.run_dir_for(experiment, config) / "checkpoint.pt"
            path.parent.mkdir(parents=True)
            path.write_bytes(b"")
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "run_experiment", interrupted)
    code, _, err = cli("train", *TINY, "--budget", "cpu", *argv)
    assert code == 130
    assert err.startswith("python -m cnnpapers train: interrupted; ") and err.endswith(expected)
    assert len(err.splitlines()) == 1


def test_ctrl_c_during_experiments_run_gives_the_command_again(cli, monkeypatch):
    from cnnpapers import experiments

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(experiments, "run_all", interrupted)
    code, _, err = cli("experiments", "run", "--budget", "smoke", "--chapter", "opening")
    assert code == 130
    assert err == ("python -m cnnpapers experiments: interrupted; train the experiments not "
                   "stored yet with: python -m cnnpapers experiments run --budget smoke "
                   "--chapter opening\n")


@needs_fmnist
def test_damaged_checkpoint_is_one_line_exit_1(cli, isolated):
    code, _, _ = cli("train", *TINY, "--budget", "cpu")
    assert code == 0
    (path,) = (isolated / "runs").rglob("checkpoint.pt")
    path.write_bytes(b"not a checkpoint")
    code, _, err = cli("train", *TINY, "--budget", "cpu", "--force", "--resume")
    assert code == 1
    assert str(path) in err and len(err.splitlines()) == 1 and "Traceback" not in err
