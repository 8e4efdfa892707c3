"""Results cache: hit/miss by config hash, atomic writes, provenance, clear errors."""

import json
import os
import socket
import stat
import subprocess
import sys
import time

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
    assert not [p for p in tmp_path.rglob("*") if not p.is_dir()]  # no result, temporary or lock


def test_non_finite_numbers_stay_standard_json(tmp_path):
    res = results.cached("ch/run", _config(), lambda: {"metrics": {"loss": float("nan")}}, root=tmp_path)
    text = results.result_path("ch/run", _config(), tmp_path).read_text()
    json.loads(text)  # strict JSON parses
    assert res.metrics["loss"] != res.metrics["loss"]  # the returned value is the real NaN


@pytest.mark.parametrize("damage", [
    '{"experiment": "ch/run", "conf',  # truncated
    "\x00\xff garbage",  # not even text
    '{"metrics": {}}',  # JSON, but not a result
])
def test_a_damaged_result_is_reported_then_recomputed_and_overwritten(tmp_path, damage):
    path = results.result_path("ch/run", _config(), tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(damage.encode("latin-1"))
    with pytest.warns(results.CorruptResultWarning, match=rf"{path}.*delete it") as caught:
        assert results.load("ch/run", _config(), root=tmp_path) is None
    assert caught[0].message.path == path
    with pytest.warns(results.CorruptResultWarning):
        fresh = results.cached("ch/run", _config(), lambda: {"metrics": {"e": 1}}, root=tmp_path)
    assert fresh.metrics == {"e": 1}
    assert results.load("ch/run", _config(), root=tmp_path).metrics == {"e": 1}


def test_a_result_holding_another_configuration_counts_as_missing(tmp_path):
    results.cached("ch/run", _config(seed=1), lambda: {"metrics": {}}, root=tmp_path)
    stored = results.result_path("ch/run", _config(seed=1), tmp_path)
    stored.rename(results.result_path("ch/run", _config(), tmp_path))
    with pytest.warns(results.CorruptResultWarning, match="different configuration"):
        assert results.load("ch/run", _config(), root=tmp_path) is None


def test_results_are_written_with_the_mode_a_plain_write_gets(tmp_path):
    before = os.umask(0o022)
    try:
        path = results.save(results.Result("ch/run", _config(), {}), tmp_path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        os.umask(0o027)
        other = results.save(results.Result("ch/run", _config(seed=1), {}), tmp_path)
        assert stat.S_IMODE(other.stat().st_mode) == 0o640
    finally:
        os.umask(before)


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_writes_and_scans_remove_the_temporaries_of_killed_writes_only(tmp_path):
    folder = results.result_path("ch/run", _config(), tmp_path).parent
    folder.mkdir(parents=True)
    host = socket.gethostname()
    dead = folder / f".tmp-{host}-{_dead_pid()}-0badc0de.json"
    old = folder / ".tmp-from-an-older-version.json"
    alive = folder / f".tmp-{host}-{os.getpid()}-0123abcd.json"  # a write in progress
    other_host = folder / f".tmp-elsewhere-{_dead_pid()}-0123abcd.json"  # its pid means nothing here
    for tmp in (dead, old, alive, other_host):
        tmp.write_text('{"half')
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    results.save(results.Result("ch/run", _config(), {}), tmp_path)
    assert not dead.exists() and not old.exists()
    assert alive.exists() and other_host.exists()
    os.utime(other_host, (an_hour_ago, an_hour_ago))
    results.stored_in(tmp_path)
    assert not other_host.exists() and alive.exists()


CLAIMANT = """
import os, sys, time
from pathlib import Path
from cnnpapers import results

marks, hold = Path(sys.argv[1]), sys.argv[2] == "hold"

def compute():
    (marks / f"computed-by-{os.getpid()}").touch()
    while hold and not (marks / "release").exists():
        time.sleep(0.05)
    return {"metrics": {"pid": os.getpid()}}

print(results.cached("ch/locked", {"budget": "cpu", "seed": 0}, compute).metrics["pid"])
"""


def test_a_second_process_waits_for_the_first_and_returns_its_result(tmp_path):
    env = {**os.environ, results.RESULTS_DIR_ENV: str(tmp_path / "results"), "OMP_NUM_THREADS": "1"}
    run = [sys.executable, "-c", CLAIMANT, str(tmp_path)]
    first = subprocess.Popen([*run, "hold"], env=env, stdout=subprocess.PIPE, text=True)
    second = None
    try:
        deadline = time.time() + 120
        while not list(tmp_path.glob("computed-by-*")):  # the first holds the lock, computing
            assert first.poll() is None and time.time() < deadline
            time.sleep(0.05)
        second = subprocess.Popen([*run, "go"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        waiting = ""
        for line in second.stderr:  # blocks until the second reports that it waits (or ends)
            waiting += line
            if "waiting for" in line:
                break
        (tmp_path / "release").touch()
        out1, _ = first.communicate(timeout=120)
        out2, err2 = second.communicate(timeout=120)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
    assert "waiting for another process computing" in waiting, waiting + err2
    assert first.returncode == 0 and second.returncode == 0, err2
    assert [p.name for p in tmp_path.glob("computed-by-*")] == [f"computed-by-{first.pid}"]
    assert out2.strip() == out1.strip() == str(first.pid)  # the second returned the first's result
    assert not list((tmp_path / "results").rglob(".*.lock"))  # the lock file is cleaned up


def test_compute_can_add_provenance_and_the_time_of_earlier_sessions(tmp_path):
    out = {"metrics": {}, "provenance": {"earlier_sessions_s": 100.0, "note": "resumed"}}
    res = results.cached("ch/run", _config(), lambda: out, root=tmp_path)
    assert res.provenance["note"] == "resumed"
    assert 100.0 <= res.provenance["wall_time_s"] < 110.0


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
    (folder / "run" / ".tmp-abc.json").write_text('{"experiment": "ch/r')  # being written
    assert sorted(r.config["seed"] for r in results.stored_in(folder)) == [0, 1]
    broken = folder / "run" / "broken.json"
    broken.write_text("{not json")
    with pytest.warns(results.CorruptResultWarning, match=f"{broken}.*counts as missing"):
        assert sorted(r.config["seed"] for r in results.stored_in(folder)) == [0, 1]
    with results.noting_damage() as damaged:
        with pytest.warns(results.CorruptResultWarning):
            assert results.scan(folder).damaged == [broken]
    assert damaged == [broken]
