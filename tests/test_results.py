"""Results cache: hit/miss by config hash, atomic writes, provenance, clear errors."""

import json

import pytest

from cnnpapers import results
from cnnpapers.budgets import BUDGETS, get_budget


def _config(**kw):
    return {"budget": "cpu", "seed": 0, "model": "lenet5", **kw}


def test_runs_once_then_reuses_the_stored_artifact(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"metrics": {"test_error": 12.5}, "curves": {"loss": [2.0, 1.0]}}

    first = results.cached("ch/run", _config(), compute, root=tmp_path)
    second = results.cached("ch/run", _config(), compute, root=tmp_path)
    assert len(calls) == 1
    assert second.metrics == first.metrics == {"test_error": 12.5}
    assert second.curves == {"loss": [2.0, 1.0]}
    prov = second.provenance
    for key in ("commit", "dirty", "torch", "torchvision", "device_name", "budget", "seed",
                "wall_time_s", "config_hash", "date"):
        assert key in prov
    assert prov["config_hash"] == results.config_hash(_config())
    assert "budget cpu" in second.caption


def test_a_different_config_is_a_miss_and_force_reruns(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"metrics": {"n": len(calls)}}

    results.cached("ch/run", _config(), compute, root=tmp_path)
    results.cached("ch/run", _config(lr=0.01), compute, root=tmp_path)
    forced = results.cached("ch/run", _config(), compute, root=tmp_path, force=True)
    assert len(calls) == 3 and forced.metrics == {"n": 3}
    assert results.load("ch/run", _config(), root=tmp_path).metrics == {"n": 3}


def test_smoke_results_are_never_stored(tmp_path):
    results.cached("ch/run", _config(budget="smoke"), lambda: {"metrics": {}}, root=tmp_path)
    assert not any(tmp_path.rglob("*.json"))


def test_failed_compute_writes_nothing(tmp_path):
    def broken():
        raise RuntimeError("diverged")

    with pytest.raises(RuntimeError):
        results.cached("ch/run", _config(), broken, root=tmp_path)
    assert not any(tmp_path.rglob("*"))  # no folder, no temporary file


def test_non_finite_numbers_stay_standard_json(tmp_path):
    res = results.cached("ch/run", _config(), lambda: {"metrics": {"loss": float("nan")}}, root=tmp_path)
    text = results.result_path("ch/run", _config(), tmp_path).read_text()
    json.loads(text)  # strict JSON parses
    assert res.metrics["loss"] != res.metrics["loss"]  # the returned value is the real NaN


def test_corrupt_artifact_is_a_clear_error(tmp_path):
    path = results.result_path("ch/run", _config(), tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text('{"experiment": "ch/run", "conf')
    with pytest.raises(ValueError, match="corrupt result file"):
        results.cached("ch/run", _config(), lambda: {"metrics": {}}, root=tmp_path)


@pytest.mark.parametrize("config, message", [
    ({"seed": 0}, "needs"),
    ({"budget": "huge", "seed": 0}, "unknown budget"),
])
def test_bad_configs_fail_before_running(tmp_path, config, message):
    with pytest.raises(ValueError, match=message):
        results.cached("ch/run", config, lambda: pytest.fail("ran"), root=tmp_path)


def test_experiment_names_cannot_escape_the_results_folder(tmp_path):
    with pytest.raises(ValueError, match="relative path"):
        results.result_path("../outside", _config(), tmp_path)


def test_budgets_keep_the_schedule_shape():
    assert get_budget("paper").epochs(300) == 300
    assert get_budget("smoke").epochs(300) == 1
    for b in BUDGETS.values():
        assert 1 <= b.epochs(300) <= 300
    with pytest.raises(ValueError, match="choose one of"):
        get_budget("tiny")


def test_lookup_sees_results_of_this_process_even_at_smoke(tmp_path):
    config = _config(budget="smoke", tag="memo")
    assert results.lookup("ch/memo", config, root=tmp_path) is None
    first = results.cached("ch/memo", config, lambda: {"metrics": {"x": 1}}, root=tmp_path)
    assert results.lookup("ch/memo", config, root=tmp_path) is first
    again = results.cached("ch/memo", config, lambda: pytest.fail("recomputed"), root=tmp_path)
    assert again is first


def test_a_commit_named_in_the_environment_wins_over_git(tmp_path, monkeypatch):
    from cnnpapers import provenance

    monkeypatch.setenv(provenance.COMMIT_ENV, "abc123")  # e.g. a tree copied to a GPU machine
    assert provenance.git_state() == {"commit": "abc123", "dirty": None}
    monkeypatch.delenv(provenance.COMMIT_ENV)
    assert provenance.git_state()["commit"] == provenance._git("rev-parse", "HEAD")
    monkeypatch.setattr(provenance, "REPO_ROOT", tmp_path)  # no checkout at all
    assert provenance.git_state() == {"commit": None, "dirty": None}


def test_provenance_names_the_commit_the_run_started_from(tmp_path, monkeypatch):
    from cnnpapers import provenance

    monkeypatch.setenv(provenance.COMMIT_ENV, "started-here")

    def compute():  # a commit lands while the run trains
        monkeypatch.setenv(provenance.COMMIT_ENV, "committed-meanwhile")
        return {"metrics": {"test_error": 0.5}}

    result = results.cached("ch/run", _config(), compute, root=tmp_path)
    assert result.provenance["commit"] == "started-here"
    assert result.provenance["wall_time_s"] >= 0


def test_stored_in_reads_every_result_below_a_folder_but_a_write_in_progress(tmp_path):
    for seed in (0, 1):
        results.cached("ch/run", _config(seed=seed), lambda: {"metrics": {"e": 1.0}},
                       root=tmp_path)
    folder = tmp_path / "cpu" / "ch"
    (folder / "run" / ".tmp-abc.json").write_text('{"experiment": "ch/r')  # killed mid-write
    assert sorted(r.config["seed"] for r in results.stored_in(folder)) == [0, 1]
    (folder / "run" / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match="corrupt result file .*broken.json"):
        results.stored_in(folder)
