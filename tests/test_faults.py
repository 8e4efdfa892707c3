"""Fault injection: damage a copy of the stored results and checkpoints — truncate, corrupt,
remove, leave a killed write's temporary behind — then run the cheapest real paths of the book
that read them (the pipeline's choice of budget per page, ``experiments list``, the results
inventory, the claims ledger, a resumed training run). Each must report the damaged file and go
on as if the result were missing, never crash."""

import os
import shutil
import socket
import subprocess
import sys

import pytest
import torch

from cnnpapers import bookpages, claims, data, experiments, pipeline, results
from cnnpapers.provenance import REPO_ROOT
from cnnpapers.train import (
    Callback, CheckpointError, TrainConfig, run_dir_for, run_experiment,
)

RUNS_ENV = "CNNPAPERS_RUNS"


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A private copy of the committed results/, and an empty runs/."""
    copy = tmp_path / "results"
    shutil.copytree(REPO_ROOT / "results", copy)
    monkeypatch.setenv(results.RESULTS_DIR_ENV, str(copy))
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "runs"))
    return copy


def _stored(name):
    """The stored result file of the registered ``cpu`` experiment ``name``."""
    e = experiments.get("cpu", name)
    path = results.result_path(e.name, experiments.experiment_record(e))
    assert path.exists(), f"the committed results/ should hold {name}"
    return path


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_pages_report_and_skip_damaged_results_and_name_the_missing_runs(store, cli):
    assert pipeline.untrained("opening", "cpu") == []  # the undamaged copy renders at cpu
    truncated = _stored("opening/lenet5/seed0")
    corrupt = _stored("survey_attention/se_resnet20_cifar/seed0")
    removed = _stored("survey_attention/cbam_resnet20_cifar/seed1")
    _truncate(truncated)
    corrupt.write_bytes(b"\x00\x9c\xff not json")
    removed.unlink()
    killed_write = truncated.parent / f".tmp-{socket.gethostname()}-{_dead_pid()}-0badc0de.json"
    killed_write.write_text('{"experiment": "ope')

    # the pipeline's per-page decision: the chapter lacks a run, so its page runs at smoke
    with pytest.warns(results.CorruptResultWarning, match=str(truncated)):
        assert pipeline.untrained("opening", "cpu") == ["opening/lenet5/seed0"]
        assert pipeline.page_budget("opening", "cpu", train=False) == "smoke"
    with pytest.warns(results.CorruptResultWarning, match=str(corrupt)):
        assert pipeline.untrained("survey_attention", "cpu") == [
            "survey_attention/se_resnet20_cifar/seed0", "survey_attention/cbam_resnet20_cifar/seed1"]

    # python -m cnnpapers experiments list
    code, out, err = cli("experiments", "list", "--budget", "cpu", "--chapter", "opening")
    assert code == 0, err
    status = {line.split()[1]: line.split()[0] for line in out.splitlines()}
    assert status == {"opening/lenet5/seed0": "missing", "opening/lenet5/seed1": "stored",
                      "opening/lenet5/seed2": "stored"}
    assert str(truncated) in err

    # the results inventory page: the rest is listed, the damaged files are named
    with pytest.warns(results.CorruptResultWarning) as caught:
        inventory = bookpages.results_inventory()
    assert {w.message.path for w in caught} == {truncated, corrupt}
    assert sorted(inventory.attrs["damaged"]) == sorted(
        str(p.relative_to(store)) for p in (truncated, corrupt))
    assert truncated.stem not in set(inventory["config_hash"])
    assert len(inventory) == len(list(store.rglob("*.json"))) - 2
    page = bookpages.inventory_markdown(inventory)
    assert f"`{truncated.relative_to(store)}`" in page and f"`{corrupt.relative_to(store)}`" in page
    assert not killed_write.exists()  # the scan removed the killed write's temporary

    # the claims ledger: the claims on the damaged runs are not run, and say why
    with pytest.warns(results.CorruptResultWarning):
        ledger = claims.ledger("cpu", run=False, chapter="survey_attention").set_index("claim")
    improves = ledger.loc["se.improves"]
    assert improves["verdict"] == claims.Verdict.NOT_RUN.value
    assert str(corrupt) in improves["detail"]
    assert ledger.loc["se.params_added", "verdict"] == claims.Verdict.REPRODUCED.value


needs_fashion_mnist = pytest.mark.skipif(
    not (data.fashion_mnist_dir() / "t10k-images-idx3-ubyte.gz").exists(),
    reason="Fashion-MNIST not installed",
)

TINY = TrainConfig("lenet5_relu", budget="cpu", epochs=2, train_images=128, test_images=64,
                   device="cpu")


class _Killed(Exception):
    pass


class _KillInEpoch2(Callback):
    def on_batch_end(self, state):
        if state.epoch == 1:
            raise _Killed


def _checkpoint():
    """A real checkpoint of TINY after one epoch (its run killed in the second)."""
    with pytest.raises(_Killed):
        run_experiment("faults/lenet", TINY, callbacks=[_KillInEpoch2()], progress=False)
    path = run_dir_for("faults/lenet", TINY) / "checkpoint.pt"
    assert torch.load(path, weights_only=False)["epoch"] == 1
    return path


@needs_fashion_mnist
def test_damaged_or_removed_checkpoints_stop_a_resume_with_the_file_and_the_fix(store):
    ckpt = _checkpoint()
    _truncate(ckpt)
    with pytest.raises(CheckpointError, match=rf"checkpoint {ckpt} is damaged .* Delete it"):
        run_experiment("faults/lenet", TINY, resume=True, progress=False)
    with pytest.raises(CheckpointError, match=rf"checkpoint {ckpt} is damaged"):
        run_experiment("faults/lenet", TINY, continue_lr_scale=0.5, progress=False)
    ckpt.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match=rf"checkpoint {ckpt} is damaged"):
        run_experiment("faults/lenet", TINY, resume=True, progress=False)
    ckpt.unlink()
    with pytest.raises(CheckpointError, match=rf"nothing to resume: there is no checkpoint .*at {ckpt}"):
        run_experiment("faults/lenet", TINY, resume=True, progress=False)
    assert not list((store / "cpu" / "faults").rglob("*.json"))  # nothing stored meanwhile
    fresh = run_experiment("faults/lenet", TINY, progress=False)  # the fix: start over
    assert fresh.metrics["epochs"] == 2 and os.path.exists(ckpt)
