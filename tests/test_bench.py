"""Benchmarks ``densenet-memory``, ``vs-torchvision`` and ``all`` at tiny sizes: what they
measure, that ratios come from the two measured numbers, where they write, and their errors."""

import dataclasses
import json

import pytest
import torch

from cnnpapers import bench

TINY = ["--batch-size", "1", "--image-size", "32", "--rounds", "1", "--device", "cpu",
        "--no-rss"]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNPAPERS_RESULTS", str(tmp_path / "results"))
    return tmp_path


def stored(root, name):
    (path,) = (root / "results" / "cpu" / "bench" / name).rglob("*.json")
    return json.loads(path.read_text())


def test_ratios_divide_common_numbers_only():
    assert bench.ratios({"a": 1.0, "b": 3, "c": "x", "d": 2.0, "e": True},
                        {"a": 4.0, "b": 2, "c": "y", "e": True}) == {"a": 0.25, "b": 1.5}


def test_interleaved_times_alternate_the_steps():
    calls = []
    times = bench.interleaved_times({"a": lambda: calls.append("a"),
                                     "b": lambda: calls.append("b")},
                                    torch.device("cpu"), warmup=1, rounds=2)
    assert calls == ["a", "b"] * 3
    assert {k: len(v) for k, v in times.items()} == {"a": 2, "b": 2}


def test_densenet_memory_measures_both_forms_and_stores_the_ratio(cli, isolated):
    code, out, err = cli("bench", "densenet-memory", "--model", "densenet_bc_40_k12",
                         "--budget", "cpu", *TINY)
    assert code == 0, err
    assert "efficient/naive" in out and "naive" in out
    result = stored(isolated, "densenet-memory")
    m = result["metrics"]
    naive, efficient, r = m["naive"], m["efficient"], m["efficient_over_naive"]
    assert r["train_saved_bytes"] == pytest.approx(
        efficient["train_saved_bytes"] / naive["train_saved_bytes"])
    assert r["train_s_per_step"] == pytest.approx(
        efficient["train_s_per_step"] / naive["train_s_per_step"])
    assert r["train_saved_bytes"] < 1  # the shared buffer saves less than fresh concatenations
    assert m["device_name"] and result["provenance"]["device"] == "cpu"
    assert result["config"]["batch_size"] == 1


def test_vs_torchvision_compares_each_setting_on_the_same_weights(cli, isolated):
    code, out, err = cli("bench", "vs-torchvision", "--budget", "cpu", *TINY,
                         "--image-size", "64")  # batch 1 needs more than 1x1 maps at the end
    assert code == 0, err
    m = stored(isolated, "vs-torchvision")["metrics"]
    assert set(m["variants"]) == {"densenet121, naive", "densenet121, memory-efficient",
                                  "torchvision densenet121, naive",
                                  "torchvision densenet121, memory-efficient"}
    r = m["ours_over_torchvision"]["memory_efficient=True"]
    ours, theirs = (m["variants"][f"{p}densenet121, memory-efficient"]
                    for p in ("", "torchvision "))
    for key in ("train_images_per_s", "inference_images_per_s"):
        assert r[key] == pytest.approx(ours[key] / theirs[key])
    # naive forms save the same activations in both implementations
    assert m["ours_over_torchvision"]["memory_efficient=False"]["train_saved_bytes"] == 1
    assert "ours/torchvision (memory_efficient=False)" in out


def test_smoke_results_are_not_stored(cli, isolated):
    code, _, err = cli("bench", "densenet-memory", "--model", "densenet_bc_40_k12",
                       "--budget", "smoke", *TINY)
    assert code == 0, err
    assert not (isolated / "results").exists()


def test_all_dispatches_every_registered_benchmark(cli, isolated, monkeypatch):
    seen = {}

    def fake(name):
        def run_(args):
            seen[name] = (args.budget, args.device)
            return bench.results.Result(f"bench/{name}", {"budget": args.budget, "seed": 0}, {})
        return run_

    for name, b in list(bench.BENCHMARKS.items()):
        if name != "all":
            monkeypatch.setitem(bench.BENCHMARKS, name, dataclasses.replace(b, run=fake(name)))
    code, _, err = cli("bench", "all", "--budget", "cpu", "--device", "cpu")
    assert code == 0, err
    assert set(seen) == set(bench.BENCHMARKS) - {"all"}
    assert set(seen.values()) == {("cpu", "cpu")}
    assert set(stored(isolated, "all")["metrics"]["experiments"]) == set(seen)


def test_all_runs_the_rest_when_one_fails_then_fails(capsys, monkeypatch):
    seen = []

    def broken(args):
        raise RuntimeError("boom")

    names = [n for n in bench.BENCHMARKS if n != "all"]
    for name in names:
        run_ = broken if name == names[0] else (lambda args, n=name: seen.append(n))
        monkeypatch.setitem(bench.BENCHMARKS, name,
                            dataclasses.replace(bench.BENCHMARKS[name], run=run_))
    with pytest.raises(RuntimeError, match=f"{names[0]}.*boom"):
        bench.run_all(bench.argparse.Namespace(budget="smoke", device="cpu"))
    assert seen == names[1:]


@pytest.mark.parametrize("argv, message", [
    (["densenet-memory", "--batch-size", "0"], "pass --batch-size N with N >= 1"),
    (["vs-torchvision", "--image-size", "8"], "pass --image-size N with N >= 29"),
    (["vs-torchvision", "--model", "densenet_bc_100_k12"], "e.g. --model densenet121"),
    (["densenet-memory", "--rounds", "0"], "pass --rounds N"),
    (["densenet-memory", "--model", "no_such_net"], "unknown model"),
    # the options as typed, not TrainConfig's fields (train_images)
    (["train-speed", "--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    (["train-speed", "--steps", "1"], "pass --steps N with N >= 2"),
    (["train-speed", "--rounds", "0"], "pass --rounds N with N >= 1"),
    (["fast-path-parity", "--epochs", "0"], "--epochs must be at least 1, got 0"),
    (["fast-path-parity", "--test-images", "-1"], "--test-images must be at least 1, got -1"),
    (["fast-path-parity", "--model", "lenet5_relu", "--train-images", "10"],
     "10 training images are fewer than one batch of 64; pass --train-images N with N >= 64"),
])
def test_bad_input_is_one_clear_error(cli, argv, message):
    code, out, err = cli("bench", *argv, "--budget", "smoke", "--device", "cpu")
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert "train_images" not in err


def _curves(errors, losses):
    return {"epoch": list(range(1, len(errors) + 1)), "test_error": errors, "train_loss": losses}


def test_parity_gaps_take_the_largest_epoch_gap_and_a_binomial_floor_under_the_seed_margin():
    curves = {"plain": _curves([0.5, 0.3], [1.0, 0.6]),
              "fast": _curves([0.45, 0.31], [1.02, 0.6]),
              "plain, next seed": _curves([0.49, 0.3], [0.9, 0.65])}
    gaps = bench.parity_gaps(curves, test_images=2000)
    assert gaps["test_error_gap"] == pytest.approx(0.05)
    assert gaps["seed_test_error_gap"] == pytest.approx(0.01)
    floor = 2 * (2 * 0.3 * 0.7 / 2000) ** 0.5  # 2.9 points: above the lucky 1-point seed gap
    assert gaps["test_error_margin"] == pytest.approx(floor)
    assert gaps["train_loss_gap"] == pytest.approx(0.02)
    assert gaps["train_loss_margin"] == pytest.approx(0.1)
    assert not gaps["within_noise"]  # a 5-point test-error gap is over the 2.9-point margin
    curves["fast"] = _curves([0.48, 0.31], [1.02, 0.6])
    assert bench.parity_gaps(curves, test_images=2000)["within_noise"]
