"""The performance page reads stored benchmark results of every budget and device kind."""

import pytest

from cnnpapers import claims, results
from cnnpapers.analysis.plots import figure_texts
from cnnpapers.chapters import performance as perf
from cnnpapers.claims import Verdict


def _speed(budget, device, name, ratio, fast, date):
    config = {"budget": budget, "seed": 0, "model": "densenet_bc_100_k12", "batch_size": 64,
              "fast_path": {"bf16": "bf16" in fast, "channels_last": True, "compile": False,
                            "cuda_graphs": "graphs" in fast, "data_on_device": True}}
    return results.Result("bench/train-speed/densenet_bc_100_k12/fashion-mnist", config,
                          {"plain_images_per_s": 100.0, "ours_images_per_s": 100.0 * ratio,
                           "ratio": ratio, "device_name": name},
                          provenance={"budget": budget, "device": device, "device_name": name,
                                      "date": date, "commit": "abc"})


def _ratios(a, b):
    return {k: a[k] / b[k] for k in a}


def _memory(peak_ratio, time_ratio):
    naive = {"train_s_per_step": 0.05, "train_cuda_peak_bytes": 100 * 2**20}
    efficient = {"train_s_per_step": 0.05 * time_ratio,
                 "train_cuda_peak_bytes": 100 * 2**20 * peak_ratio}
    return results.Result(
        "bench/densenet-memory/densenet_bc_100_k12",
        {"budget": "gpu", "seed": 0, "model": "densenet_bc_100_k12", "batch_size": 64,
         "image_size": 32, "rounds": 20},
        {"naive": naive, "efficient": efficient, "device_name": "Card",
         "efficient_over_naive": _ratios(efficient, naive)},
        provenance={"budget": "gpu", "device": "cuda:0", "device_name": "Card",
                    "date": "2026-01-02", "commit": "abc"})


@pytest.fixture
def empty_results(tmp_path, monkeypatch):
    monkeypatch.setenv(results.RESULTS_DIR_ENV, str(tmp_path))
    return tmp_path


def test_without_stored_gpu_results_the_targets_say_not_measured(empty_results):
    assert "unmeasured" in perf.gpu_status()
    assert set(perf.targets_table()["verdict"]) == {"not measured"}
    assert perf.stored_gpu("densenet-memory") is None
    evidence = claims.evaluate("densenet.memory.gpu", "cpu", run=False)
    assert evidence.verdict == Verdict.NEEDS_GPU


def test_targets_take_the_best_stored_speed_per_device_kind(empty_results):
    for r in (_speed("cpu", "cpu", "CPU (2 threads)", 1.1, "channels_last", "2026-01-01"),
              _speed("gpu", "cuda:0", "Card", 0.8, "bf16", "2026-01-02"),
              _speed("gpu", "cuda:0", "Card", 3.3, "bf16 graphs", "2026-01-03")):
        results.save(r)
    results.save(_memory(peak_ratio=0.35, time_ratio=1.75))

    speeds = perf.train_speed_table()
    assert list(speeds["kind"]) == ["cpu", "cuda", "cuda"]  # budgets in order, then by date
    assert list(speeds["ours / plain"]) == pytest.approx([1.1, 0.8, 3.3])
    assert speeds["our fast path"].iloc[2] == "bf16, channels_last, cuda_graphs"

    targets = perf.targets_table().set_index("target")["verdict"]
    # GPU 3.3x; CPU 1.1x; no parity run; memory
    assert list(targets) == ["met", "not met", "not measured", "not measured", "met", "not met"]
    assert "stored for: train-speed (gpu, Card" in perf.gpu_status()

    texts = " ".join(figure_texts(perf.plot_train_speed(speeds)))
    assert "GPU target (3×)" in texts and "3.30×" in texts and "Card" in texts


@pytest.mark.parametrize("peak_ratio, verdict", [(0.35, Verdict.REPRODUCED),
                                                  (0.8, Verdict.NOT_REPRODUCED)])
def test_the_gpu_memory_claim_uses_the_committed_gpu_benchmark(empty_results, peak_ratio,
                                                                verdict):
    results.save(_memory(peak_ratio=peak_ratio, time_ratio=1.2))
    evidence = claims.evaluate("densenet.memory.gpu", "cpu", run=False)
    assert evidence.verdict == verdict
    assert f"({peak_ratio:.2f}×)" in evidence.ours and "Card" in evidence.detail


def test_torchvision_ratios_land_on_our_bars_after_a_json_round_trip(empty_results):
    names = ["torchvision densenet121, naive", "densenet121, naive",
             "torchvision densenet121, memory-efficient", "densenet121, memory-efficient"]
    variants = {n: {"train_images_per_s": 10.0 + i, "inference_images_per_s": 20.0 + i,
                    "train_saved_bytes": 2**20 * (1 + i)} for i, n in enumerate(names)}
    ratio = {f"memory_efficient={flag}": {"train_images_per_s": r, "inference_images_per_s": r,
                                          "train_saved_bytes": r}
             for flag, r in ((False, 1.25), (True, 1.5))}
    stored = results.Result(
        "bench/vs-torchvision/densenet121",
        {"budget": "cpu", "seed": 0, "model": "densenet121", "batch_size": 2, "image_size": 64,
         "rounds": 1},
        {"variants": variants, "ours_over_torchvision": ratio, "device_name": "CPU"},
        provenance={"budget": "cpu", "device": "cpu", "device_name": "CPU", "date": "2026"})
    results.save(stored)
    loaded = perf.stored("vs-torchvision", "cpu", "cpu")
    assert list(loaded.metrics["variants"]) != names  # the JSON sorts its keys ...
    assert perf.variant_names(loaded) == names  # ... and the page restores the pairs
    assert list(perf.torchvision_table(loaded)["model"]) == names
    fig = perf.plot_torchvision(loaded)
    bar_tops = {round(p.get_height(), 6): i for i, p in enumerate(fig.axes[0].patches)}
    notes = {t.get_text(): t.xy for t in fig.axes[0].texts}
    assert notes["1.25×"][1] == pytest.approx(11.0) and notes["1.50×"][1] == pytest.approx(13.0)
    assert bar_tops[11.0] == 1 and bar_tops[13.0] == 3


def test_with_no_stored_speeds_the_table_is_empty_but_keeps_its_columns(empty_results):
    speeds = perf.train_speed_table()
    assert speeds.empty and list(speeds.columns) == perf.SPEED_COLUMNS


def _parity(device, name, fast, gap, seed_gap, date):
    curve = {"epoch": [1, 2], "train_loss": [1.0, 0.5], "test_error": [0.3, 0.2]}
    shifted = {**curve, "test_error": [0.3, 0.2 + seed_gap]}
    run = {"test_error": 0.2, "train_images": 1000, "epochs": 2}
    return results.Result(
        "bench/fast-path-parity/densenet_bc_100_k12/fashion-mnist",
        {"budget": "cpu", "seed": 0, "model": "densenet_bc_100_k12",
         "fast_path": {"bf16": "bf16" in fast, "channels_last": "channels" in fast,
                       "compile": False, "cuda_graphs": False, "data_on_device": True}},
        {"plain": run, "fast": {**run, "test_error": 0.2 + gap},
         "plain, next seed": {**run, "test_error": 0.2 + seed_gap},
         "test_error_gap": gap, "train_loss_gap": 0.0, "seed_test_error_gap": seed_gap,
         "seed_train_loss_gap": 0.01, "test_error_margin": seed_gap, "train_loss_margin": 0.01,
         "within_noise": gap <= seed_gap, "speedup": 1.1,
         "device_name": name},
        curves={"plain": curve, "fast": {**curve, "test_error": [0.3, 0.2 + gap]},
                "plain, next seed": shifted},
        provenance={"budget": "cpu", "device": device, "device_name": name, "date": date,
                    "commit": "abc"})


def test_parity_runs_fill_a_table_a_target_per_device_kind_and_a_figure(empty_results):
    results.save(_parity("cpu", "CPU (1 thread)", "channels_last", 0.004, 0.02, "2026-01-01"))
    results.save(_parity("cpu", "CPU (1 thread)", "bf16", 0.03, 0.02, "2026-01-02"))
    frame = perf.parity_table()
    assert list(frame["our fast path"]) == ["channels_last", "bf16"]
    assert list(frame["within noise"]) == ["yes", "no"]
    assert list(frame["largest test-error gap: fast"]) == ["0.4 pts", "3.0 pts"]
    assert list(frame["test-error margin"]) == ["2.0 pts", "2.0 pts"]
    assert frame["images × epochs"].iloc[0] == "1,000 × 2"
    side = perf.one_column_per_run(frame).set_index("measure")
    assert list(side.columns) == ["CPU (1 thread), channels_last", "CPU (1 thread), bf16"]
    assert side.loc["within noise"].tolist() == ["yes", "no"] and "provenance" not in side.index
    targets = perf.targets_table().set_index("target")
    cpu = targets.loc[[t for t in targets.index if t.startswith("CPU: the fast path")][0]]
    assert cpu["verdict"] == "not met"  # one of the two CPU runs is outside the noise
    assert "0.4 pts vs 2.0 pts" in cpu["measured"]
    gpu = targets.loc[[t for t in targets.index if t.startswith("GPU: the fast path")][0]]
    assert gpu["verdict"] == "not measured"
    texts = " ".join(figure_texts(perf.plot_parity(perf.parity_results("cpu")[0])))
    assert "plain, next seed" in texts and "channels_last" in texts and "CPU (1 thread)" in texts


def _reference(budget, experiment, device_name, accuracy):
    curves = {"epoch": [1, 2], "train_error": [0.4, 0.2], "test_error": [0.35, 1 - accuracy]}
    metrics = {"train_images": 60000, "test_images": 10000, "epochs": 2,
               "fast_path": {"bf16": True, "channels_last": True, "compile": True,
                             "cuda_graphs": True, "data_on_device": True},
               "test_accuracy": accuracy, "wall_time_s": 240.0, "images_per_s": 3500.0}
    return results.Result(experiment, {"budget": budget, "seed": 0, "model": perf.DENSENET_MODEL,
                                       "dataset": "fashion-mnist"}, metrics, curves,
                          provenance={"budget": budget, "device": "cuda:0",
                                      "device_name": device_name, "date": "2026", "commit": "abc"})


def test_reference_runs_are_every_stored_densenet_bc_100_fashion_mnist_run_but_benchmarks(
        empty_results):
    assert perf.reference_runs() == [] and "No gpu-budget run" in perf.reference_status([])
    results.save(_reference("cpu", "densenet_training/fashion-mnist/densenet_bc_100_k12/seed0",
                            "CPU (1 thread)", 0.729))
    results.save(_reference("gpu", "train/densenet_bc_100_k12/fashion-mnist", "Card", 0.93))
    results.save(_parity("cpu", "CPU (1 thread)", "channels_last", 0.004, 0.02, "2026-01-01"))
    runs = perf.reference_runs()
    assert [r.config["budget"] for r in runs] == ["cpu", "gpu"]
    frame = perf.reference_table()
    assert list(frame["test accuracy"]) == ["72.9 %", "93.0 %"]
    assert frame["train × test images"].iloc[1] == "60,000 × 10,000"
    assert frame["wall time (min)"].iloc[1] == pytest.approx(4.0)
    assert perf.reference_status(runs) == ""
    texts = " ".join(figure_texts(perf.plot_reference(runs)))
    assert "gpu, Card (test)" in texts and "error (%)" in texts
