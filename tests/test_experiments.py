"""Chapter experiments: registry, probes stored with results, same configs for notebook and CLI."""

import pytest

from cnnpapers import experiments
from cnnpapers.experiments import Experiment
from cnnpapers.train import TrainConfig


def _tiny(budget="smoke", **kw):
    return TrainConfig("lenet5_relu", budget=budget, train_images=64, test_images=64, epochs=1, **kw)


def test_gradient_flow_probe_is_stored_with_the_result():
    exp = Experiment("tests/probe", _tiny(), probes=("gradient_flow",))
    result = experiments.run(exp, device="cpu")
    rows = result.metrics["probes"]["gradient_flow"]
    assert rows and {"step", "layer", "depth", "weight_grad_norm"} <= set(rows[0])
    assert result.config["probes"] == ["gradient_flow"]
    assert experiments.lookup(exp) is result  # the in-process memo serves pages that must not train


def test_probes_change_the_config_hash_but_no_probes_keep_it():
    plain = _tiny(budget="cpu")
    assert plain.as_record() == plain.as_record(())
    assert plain.as_record(("weight_reuse",)) != plain.as_record()


def test_unknown_probe_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown probe"):
        Experiment("tests/x", _tiny(), probes=("telepathy",))


def test_registered_groups_declare_their_budget():
    for chapter in experiments.chapters():
        for budget in ("smoke", "cpu"):
            for exp in experiments.experiments(budget, chapter):
                assert exp.config.budget == budget
                assert exp.name.startswith(f"{chapter}/")


def test_unknown_chapter_names_the_known_ones():
    with pytest.raises(ValueError, match="chapters"):
        experiments.experiments("smoke", "no_such_chapter")


def test_name_glob_selects_experiments_and_an_unmatched_glob_says_how_to_list_them():
    picked = experiments.experiments("gpu", name="densenet_training/*/densenet_bc_100_k12/seed0")
    assert [e.name for e in picked] == ["densenet_training/fashion-mnist/densenet_bc_100_k12/seed0"]
    assert {e.name for e in experiments.experiments("smoke", name="survey_depth/*")} == {
        e.name for e in experiments.experiments("smoke", "survey_depth")}
    with pytest.raises(ValueError, match="experiments list --budget smoke"):
        experiments.experiments("smoke", name="no/such/*")


def test_weight_reuse_probe_stores_the_trained_model_matrix():
    config = TrainConfig("densenet_40_k12", budget="smoke", train_images=64, test_images=32, epochs=1,
                         model_kwargs={"network_depth": 10, "growth_rate": 4})
    result = experiments.run(Experiment("tests/reuse", config, probes=("weight_reuse",)), device="cpu")
    rows = result.metrics["probes"]["weight_reuse"]
    # L=10 without bottleneck: 3 blocks of 2 layers, each with a transition/classifier column
    assert {r["block"] for r in rows} == {1, 2, 3}
    assert {r["target_name"] for r in rows if r["block"] == 3} == {"1", "2", "classifier"}
    assert all(r["value"] > 0 for r in rows)


def test_cli_lists_experiments_and_rejects_bad_names(capsys):
    from cnnpapers.__main__ import main

    assert main(["experiments", "list", "--budget", "smoke"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == len(experiments.experiments("smoke"))
    assert all(line.startswith(("stored", "missing")) for line in listed)
    with pytest.raises(SystemExit) as exit_:
        main(["experiments", "run", "--budget", "smoke", "--chapter", "no_such_chapter"])
    assert exit_.value.code == 2
    assert "chapters:" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["experiments", "run", "--budget", "smoke", "--name", "no/such/*"])
    assert exit_.value.code == 2
    assert "matches 'no/such/*'" in capsys.readouterr().err
