"""Kill a real training process with SIGKILL mid-epoch, resume it, and get the exact numbers of an
uninterrupted run (CPU, same seed)."""

import json
import os
import signal
import subprocess
import sys

import pytest
import torch

from cnnpapers import data
from cnnpapers.provenance import REPO_ROOT

pytestmark = pytest.mark.skipif(
    not (data.fashion_mnist_dir() / "t10k-images-idx3-ubyte.gz").exists(),
    reason="Fashion-MNIST not installed",
)

TRAIN = [sys.executable, "-m", "cnnpapers", "train", "--model", "lenet5_relu", "--budget", "cpu",
         "--epochs", "3", "--train-images", "1024", "--test-images", "256", "--device", "cpu",
         "--no-progress", "--log-every", "2"]
TIMEOUT = 240


def _env(root):
    return {**os.environ, "CNNPAPERS_RESULTS": str(root / "results"),
            "CNNPAPERS_RUNS": str(root / "runs"), "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def _result(root):
    (path,) = (root / "results").rglob("*.json")
    return json.loads(path.read_text())


def _checkpoint(root):
    (path,) = (root / "runs").rglob("checkpoint.pt")
    return torch.load(path, weights_only=False)


def test_sigkill_mid_epoch_then_resume_matches_an_uninterrupted_run(tmp_path):
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    subprocess.run(TRAIN, env=_env(whole), cwd=REPO_ROOT, check=True, timeout=TIMEOUT,
                   capture_output=True)

    proc = subprocess.Popen(TRAIN, env=_env(broken), cwd=REPO_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("epoch 2/3 batch 2/16"):  # epoch 1 is checkpointed, epoch 2 running
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=TIMEOUT)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    assert _checkpoint(broken)["epoch"] == 1
    assert not list((broken / "results").rglob("*.json"))  # a killed run stores no result

    resumed = subprocess.run(TRAIN + ["--resume"], env=_env(broken), cwd=REPO_ROOT, check=True,
                             timeout=TIMEOUT, capture_output=True, text=True)
    assert "after epoch 1/3" in resumed.stdout

    a, b = _result(whole), _result(broken)
    for key in ("epoch", "lr", "train_loss", "train_error", "test_loss", "test_error"):
        assert a["curves"][key] == b["curves"][key], key
    assert a["metrics"]["test_error"] == b["metrics"]["test_error"]
    wa, wb = _checkpoint(whole), _checkpoint(broken)
    assert wa["epoch"] == wb["epoch"] == 3
    for name, tensor in wa["model"].items():
        assert torch.equal(tensor, wb["model"][name]), name
