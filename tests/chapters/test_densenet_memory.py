"""The DenseNet memory chapter's helpers: L(L+1)/2 copies, the depth sweep, note 004's backward
formula, naive vs memory-efficient equivalence, and the cached measurements."""

import pytest
import torch

from cnnpapers import results
from cnnpapers.chapters import densenet_memory as mem


@pytest.mark.parametrize("layers", [1, 4, 7])
def test_naive_block_stores_l_l_plus_1_over_2_layer_outputs(layers):
    naive = mem.concat_storage(layers, memory_efficient=False)
    assert naive.units == layers * (layers + 1) // 2
    assert naive.storages == naive.saved_for_backward == layers  # one per layer, all kept
    assert naive.copies == tuple(range(layers, 0, -1)) + (0,)  # x_{l-1} in L-l+1 copies
    efficient = mem.concat_storage(layers, memory_efficient=True)
    assert (efficient.storages, efficient.units) == (1, layers + 1)
    assert efficient.copies == (1,) * layers + (0,)


def test_copies_tables():
    table = mem.copies_table(4)
    assert table["agrees"].all() and list(table["naive: units"]) == [1, 3, 6, 10]
    per_layer = mem.copies_per_layer(3)
    assert list(per_layer["copies, naive"]) == [3, 2, 1] == list(per_layer["L - l + 1"])


def test_smoke_sweep_is_quadratic_naive_and_linear_efficient():
    sweep = mem.saved_sweep("smoke")
    assert sorted(sweep["depth"].unique()) == list(mem.sweep_depths("smoke"))
    fits = mem.growth_fits(sweep).set_index("model")
    assert fits.loc["naive", "growth"] == "quadratic"
    assert fits.loc["memory-efficient", "growth"] == "linear"
    assert fits.loc["memory-efficient", "linear_r2"] == pytest.approx(1.0)
    table = mem.saved_table(sweep)
    assert list(table["layers per block"]) == [4, 8, 12, 16]
    assert (table["naive / efficient"].diff().dropna() > 0).all()  # the gap widens
    assert mem.log_log_slope(sweep, "naive") > 1.8 > 1.2 > mem.log_log_slope(sweep,
                                                                               "memory-efficient")


def test_note4_formulas_agree_with_autograd():
    table = mem.concat_backprop_check().set_index("case")
    assert (table.iloc[:, 1:] < 1e-12).all().all()
    assert len(table) == 2


def test_block_gradient_is_the_sum_over_readers():
    table = mem.block_gradient_check(num_layers=4)
    assert list(table["readers"]) == [5, 4, 3, 2, 1]
    assert (table["max |autograd − Σ reader slices|"] < 1e-12).all()
    assert (table["‖∂L/∂x_j‖"] > 0).all()


def test_naive_and_memory_efficient_are_one_network():
    table = mem.equivalence_check(depth=10)
    assert len(table) == 4
    assert (table["max |naive − memory-efficient|"] < 1e-10).all()


def test_params_vs_memory_and_reference_bytes():
    frame = mem.params_vs_memory(("densenet_bc_100_k12", "resnet110_cifar")).set_index("model")
    naive, eff = frame.loc["densenet_bc_100_k12 (naive)"], frame.loc[
        "densenet_bc_100_k12 (memory-efficient)"]
    assert naive["params"] == eff["params"] == 769_162
    assert eff["saved MiB"] < naive["saved MiB"]
    assert naive["saved MiB"] > frame.loc["resnet110_cifar", "saved MiB"]
    ref = mem.reference_saved_bytes("smoke").set_index(["model", "memory_efficient"])["saved MiB"]
    # our naive DenseNet-121 keeps exactly what torchvision's does
    assert ref[("cnnpapers densenet121", False)] == ref[("torchvision densenet121", False)]
    assert ref[("cnnpapers densenet121", True)] < ref[("cnnpapers densenet121", False)]
    assert ref[("torchvision densenet121", True)] < ref[("torchvision densenet121", False)]


TINY_TIMING = {
    "ours": {"model": "densenet_bc_40_k12", "input_size": [3, 8, 8], "batch_size": 2},
    "torchvision": {"model": "densenet121", "input_size": [3, 32, 32], "batch_size": 2},
    "warmup": 0, "repeats": 1,
}


def test_step_times_are_cached_at_non_smoke_budgets(tmp_path, monkeypatch):
    monkeypatch.setenv(results.RESULTS_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(mem, "timing_plan", lambda budget: TINY_TIMING)
    first = mem.step_times("cpu", "cpu")
    stored = list(tmp_path.glob("cpu/densenet_memory/step_time/*.json"))
    assert len(stored) == 1
    table = mem.step_time_table(first)
    assert list(table["model"]) == [
        "densenet_bc_40_k12, naive", "densenet_bc_40_k12, memory-efficient",
        "torchvision densenet121, memory_efficient=False",
        "torchvision densenet121, memory_efficient=True"]
    assert list(table["time vs naive"].iloc[[0, 2]]) == [1.0, 1.0]
    assert (table["ms_per_batch"] > 0).all()
    # a rebuild reads the stored file instead of timing again
    monkeypatch.setattr(mem, "measure_throughput", None)
    monkeypatch.setattr(results, "_MEMO", {})
    assert mem.step_times("cpu", "cpu").metrics == first.metrics


def test_process_peak_runs_a_fresh_process_per_point(tmp_path, monkeypatch):
    monkeypatch.setenv(results.RESULTS_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(mem, "rss_plan", lambda budget: {"depths": [10], "batch_size": 2})
    frame = mem.rows_frame(mem.process_peak("cpu"))
    assert list(frame["model"]) == list(mem.VARIANTS)
    assert (frame["rss_peak_bytes"] > 0).all()
    with pytest.raises(ValueError, match="no process-peak"):
        monkeypatch.setattr(mem, "rss_plan", lambda budget: {"depths": [], "batch_size": 2})
        mem.process_peak("smoke")


def test_cuda_peak_is_a_gpu_measurement():
    if torch.cuda.is_available():
        frame = mem.rows_frame(mem.cuda_peak("smoke", "cuda"))
        assert (frame["cuda_increase_mib"] > 0).all()
    else:
        with pytest.raises(ValueError, match="CUDA"):
            mem.cuda_peak("smoke", "cpu")
