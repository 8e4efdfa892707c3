"""The smoke budget prints the same numbers on every CPU: fp32, NCHW, deterministic, whatever the
CPU's bf16 support; and nbval compares trained smoke numbers by their words, not their digits."""

import importlib.util

import pytest
import torch

from cnnpapers import data
from cnnpapers.provenance import REPO_ROOT
from cnnpapers.train import CPU_BF16_ENV, TrainConfig, cpu_has_native_bf16, train

needs_data = pytest.mark.skipif(
    not (data.fashion_mnist_dir() / "t10k-images-idx3-ubyte.gz").exists(),
    reason="Fashion-MNIST not installed",
)
SMOKE = dict(model="lenet5", budget="smoke", train_images=128, test_images=64, device="cpu")


@pytest.mark.parametrize("value, native", [("1", True), ("0", False)])
def test_the_environment_forces_the_bf16_default(monkeypatch, value, native):
    monkeypatch.setenv(CPU_BF16_ENV, value)
    assert cpu_has_native_bf16() is native


def test_a_malformed_bf16_override_names_the_valid_values(monkeypatch):
    monkeypatch.setenv(CPU_BF16_ENV, "yes")
    with pytest.raises(ValueError, match="must be 0 or 1"):
        cpu_has_native_bf16()


def _smoke_run(monkeypatch, native: str, **changes):
    monkeypatch.setenv(CPU_BF16_ENV, native)
    return train(TrainConfig(**{**SMOKE, **changes}), progress=False)


@needs_data
def test_smoke_trains_plain_fp32_even_where_bf16_is_native(monkeypatch):
    with_bf16_cpu = _smoke_run(monkeypatch, "1")
    without = _smoke_run(monkeypatch, "0")
    assert with_bf16_cpu.run["fast_path"] == without.run["fast_path"]
    assert not with_bf16_cpu.run["fast_path"]["bf16"]
    assert not with_bf16_cpu.run["fast_path"]["channels_last"]
    assert _learned(with_bf16_cpu) == _learned(without)  # bit for bit, not within a tolerance


def _learned(history) -> dict:
    """The curves of what the network learnt, without the timings."""
    return {k: v for k, v in history.curves().items() if k not in ("images_per_s", "wall_time_s")}


@needs_data
def test_smoke_keeps_an_explicitly_requested_switch(monkeypatch):
    run = _smoke_run(monkeypatch, "0", channels_last=True)
    assert run.run["fast_path"]["channels_last"]


@needs_data
def test_cpu_budget_still_takes_the_fast_default(monkeypatch):
    monkeypatch.setenv(CPU_BF16_ENV, "1")
    config = TrainConfig(**{**SMOKE, "budget": "cpu", "epochs": 1})
    from cnnpapers.train import _fast_path_request, resolve_fast_path

    fast = resolve_fast_path(torch.device("cpu"), **_fast_path_request(config))
    assert fast.bf16 and fast.channels_last


@needs_data
def test_smoke_restores_the_process_determinism_setting(monkeypatch):
    assert not torch.are_deterministic_algorithms_enabled()
    _smoke_run(monkeypatch, "0")
    assert not torch.are_deterministic_algorithms_enabled()


def _nbval_conftest():
    spec = importlib.util.spec_from_file_location("nbval_conftest",
                                                  REPO_ROOT / "notebooks" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_trained_cells_compare_words_not_digits():
    mask = _nbval_conftest().mask_numbers
    stored = "| net | test error (%) |\n|:----|------:|\n| plain20 | 90.62 |\n**Reproduced**, 1,024 images"
    rerun = "| net | test error (%) |\n|:----|-------:|\n| plain20 | 100.00 |\n**Reproduced**, 1,024 images"
    assert mask(stored) == mask(rerun)
    assert mask(stored) != mask(rerun.replace("Reproduced", "Inconclusive"))
    assert mask(stored) != mask(rerun.replace("plain20 |", "plain56 |"))
    assert mask("2.2e-16 and −1.17%") == mask("1.1e-16 and +0.78%")
