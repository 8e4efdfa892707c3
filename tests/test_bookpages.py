"""The generated appendix pages: zoo, ledger, bibliography, results inventory; the link check."""

import json
import os
import re
import subprocess
from pathlib import Path

import jupytext
import pandas as pd
import pytest
import yaml

import cnnpapers
from cnnpapers import bookpages, claims, results
from cnnpapers.claims import Claim, Evidence, Verdict
from cnnpapers.papers import PAPERS

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------------ the toc


def test_toc_files_walks_parts_and_sections_in_order_and_skips_commented_entries(tmp_path):
    toc = tmp_path / "_toc.yml"
    toc.write_text(
        "format: jb-book\nroot: book/intro\nparts:\n"
        "  - caption: A\n    chapters:\n      - file: book/a.ipynb\n      - file: book/landing\n"
        "        sections:\n          - file: book/s1\n          # - file: book/pending\n"
        "  - caption: B\n    chapters:\n      - file: book/b.md\n"
    )
    assert bookpages.toc_files(toc) == ["book/intro", "book/a", "book/landing", "book/s1", "book/b"]
    assert bookpages.book_pages(toc) == {"intro", "a", "landing", "s1", "b"}


def test_every_file_the_real_toc_lists_exists():
    for entry in bookpages.toc_files():
        found = [p for p in (ROOT / f"{entry}.md", ROOT / f"{entry}.ipynb") if p.exists()]
        assert found, f"_toc.yml lists {entry} but neither {entry}.md nor {entry}.ipynb exists"


def test_every_notebook_page_in_the_toc_has_a_source_and_opens_with_its_provenance():
    for entry in bookpages.toc_files():
        if not (ROOT / f"{entry}.ipynb").exists():
            continue
        name = Path(entry).name
        code = [c for c in jupytext.read(ROOT / "notebooks" / f"{name}.py").cells if c.cell_type == "code"]
        first = next(i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", [])) + 1
        assert "page_provenance(budget, device)" in code[first].source, f"{name}: no provenance line first"


def test_chapter_link_names_pages_outside_the_book_without_a_link():
    assert bookpages.chapter_link("opening", {"opening"}) == "{doc}`opening`"
    assert "not in the book yet" in bookpages.chapter_link("densenet_memory", {"opening"})


# ------------------------------------------------------------------------------- model zoo


def test_one_per_family_takes_the_first_name_of_every_family():
    sample = bookpages.one_per_family()
    families = {cnnpapers.model_info(n).family for n in cnnpapers.list_models()}
    assert sorted(cnnpapers.model_info(n).family for n in sample) == sorted(families)
    assert "lenet5" in sample and "lenet5_relu" not in sample


def test_model_zoo_puts_exact_counts_beside_the_cards_quotes():
    zoo = bookpages.model_zoo(["lenet5", "mobilenet_v1_x0_25", "alexnet"]).set_index("model")
    assert zoo.loc["lenet5", "params"] == cnnpapers.count_parameters("lenet5")
    assert zoo.loc["lenet5", "quoted_params_m"] == "0.06" and zoo.loc["lenet5", "params_agree"]
    # MobileNet Table 6 prints 41 million mult-adds for 0.25 MobileNet-224: MACs, not halved
    m = zoo.loc["mobilenet_v1_x0_25"]
    assert m["quoted_gmacs"] == pytest.approx(0.041)
    assert m["macs_vs_quoted"] == pytest.approx(m["gmacs"] / 0.041 - 1)
    assert m["input"] == "3×224×224"
    # torchvision's AlexNet card quotes nothing: no agreement to claim either way
    assert zoo.loc["alexnet", "params_agree"] is None and pd.isna(zoo.loc["alexnet", "quoted_gmacs"])
    assert bookpages.zoo_summary(zoo.reset_index()) == {
        "variants": 3, "families": 3, "with_quoted_params": 2,
        "params_agree": int(zoo.loc["mobilenet_v1_x0_25", "params_agree"]) + 1, "with_quoted_macs": 1}


def _zoo_row(**overrides):
    row = {"model": "m", "family": "f", "category": "Depth", "paper": "he2016", "input": "3×32×32",
           "params": 7_012_345, "quoted_params_m": "7.0", "params_agree": True, "gmacs": 1.5,
           "quoted_gmacs": float("nan"), "macs_vs_quoted": float("nan"),
           "source": "Table 2 | row 1", "remark": "", "departure": "", "torchvision": ""}
    return {**row, **overrides}


def test_zoo_markdown_keeps_quotes_as_printed_links_papers_and_flags_disagreement():
    zoo = pd.DataFrame([_zoo_row(), _zoo_row(model="n", params_agree=False, quoted_gmacs=1.0,
                                              macs_vs_quoted=0.5, category="Attention")])
    text = bookpages.zoo_markdown(zoo)
    assert "| 7.0 " in text  # not re-read as the number 7
    assert "7,012,345" in text and "[He 2016](#bib-he2016)" in text
    assert "**no**" in text and "+50.0%" in text and "| 1.5 " in text
    assert text.index("**Depth**") < text.index("**Attention**")  # the taxonomy's order
    assert "Spatial" not in text  # categories without variants are left out


def test_zoo_notes_give_each_variant_its_source_remark_and_departure():
    zoo = pd.DataFrame([_zoo_row(), _zoo_row(model="odd", remark="printed for another depth."),
                        _zoo_row(model="plain", source="")])
    lines = bookpages.zoo_notes_markdown(zoo).splitlines()
    assert lines == ["- `m` — *quoted from* Table 2 | row 1.",
                     "- `odd` — *quoted from* Table 2 | row 1; *remark:* printed for another depth."]


# ----------------------------------------------------------------------------- bibliography


@pytest.mark.parametrize("text, keys", [
    ("note 001, LeNet; LeCun et al. 1998, Sec. II.B", ["lecun1998"]),
    ("Simonyan & Zisserman 2015, Table 2", ["simonyan2015"]),
    ("Huang et al. 2017 (DenseNet), Table 2, row 'ResNet with Stochastic Depth'", ["huang2017"]),
    ("He et al. 2016, Table 6", []),  # ResNet or pre-activation ResNet: ambiguous, so neither
    ("he2016identity, Table 4; He et al. 2016", ["he2016identity"]),
    ("arXiv 1608.06993", ["huang2017"]),
    ("note 000, Table 2", []),
])
def test_cited_papers_by_key_arxiv_id_or_unambiguous_short_citation(text, keys):
    assert bookpages.cited_papers(text) == keys


def test_bibliography_lists_every_paper_once_with_the_models_whose_cards_cite_it():
    bib = bookpages.bibliography().set_index("key")
    assert sorted(bib.index) == sorted(PAPERS)
    for name in cnnpapers.list_models():
        key = cnnpapers.model_info(name).paper.key
        assert name in bib.loc[key, "models"]
        assert sum(name in models for models in bib["models"]) == 1
    assert ("lenet5.params", "opening") in bib.loc["lecun1998", "claims"]
    for key, url in bib["url"].items():
        assert url == "" or re.fullmatch(r"https://arxiv\.org/abs/\d{4}\.\d{4,5}", url), key
    first_authors = [a.split(",")[0].lower() for a in bib["authors"]]
    assert first_authors == sorted(first_authors)


def test_bibliography_markdown_makes_every_entry_a_link_target():
    bib = bookpages.bibliography()
    text = bookpages.bibliography_markdown(bib, pages={"opening"})
    for key in PAPERS:
        assert f"(bib-{key})=\n" in text
    assert "[arXiv:1608.06993](https://arxiv.org/abs/1608.06993)" in text
    assert "`lenet5.params` in {doc}`opening`" in text
    assert "(not on arXiv)" in text  # LeCun et al. 1998
    text = bookpages.bibliography_markdown(bib, pages=set())
    assert "`lenet5.params` in `opening` (not in the book yet)" in text


# ---------------------------------------------------------------------------- results inventory


def _store(root, experiment, budget="cpu", seed=0):
    config = {"budget": budget, "seed": seed, "model": "lenet5"}
    results.cached(experiment, config, lambda: {"metrics": {"acc": 0.5}}, root=root, force=True)
    return results.result_path(experiment, config, root)


def test_results_inventory_lists_stored_results_with_provenance_and_verifies_their_hash(tmp_path):
    good = _store(tmp_path, "opening/lenet5")
    moved = _store(tmp_path, "densenet_training/bc100", budget="gpu", seed=1)
    moved.rename(moved.with_name("0123456789abcdef.json"))  # a name that is not its hash
    (good.parent / ".tmp-half-written.json").write_text("{")
    inv = bookpages.results_inventory(tmp_path)
    assert list(inv["budget"]) == ["cpu", "gpu"]
    assert list(inv["experiment"]) == ["opening/lenet5", "densenet_training/bc100"]
    assert list(inv["verified"]) == [True, False]
    assert inv.loc[0, "config_hash"] == good.stem and inv.loc[1, "seed"] == 1
    assert inv.loc[0, "device"] == cnnpapers.provenance.device_name("cpu")
    summary = bookpages.inventory_summary(inv)
    assert list(summary["chapter"]) == ["opening", "densenet_training"]
    assert list(summary["results"]) == [1, 1]
    text = bookpages.inventory_markdown(inv)
    assert "opening/lenet5" in text and "**no**" in text


def test_results_inventory_skips_and_names_a_file_that_is_not_a_result(tmp_path):
    good = _store(tmp_path, "opening/lenet5")
    (tmp_path / "cpu" / "x").mkdir(parents=True)
    (tmp_path / "cpu" / "x" / "abc.json").write_text(json.dumps({"metrics": {}}))
    with pytest.warns(results.CorruptResultWarning, match="abc.json"):
        inv = bookpages.results_inventory(tmp_path)
    assert list(inv["config_hash"]) == [good.stem]
    assert "Skipped, not readable results** (their runs count as missing" in \
        bookpages.inventory_markdown(inv) and "`cpu/x/abc.json`" in bookpages.inventory_markdown(inv)


def test_empty_results_folder_gives_an_empty_inventory_and_a_sentence(tmp_path):
    inv = bookpages.results_inventory(tmp_path)
    assert inv.empty and "verified" in inv.columns
    assert bookpages.inventory_summary(inv).empty
    assert "No stored results" in bookpages.inventory_markdown(inv)


def test_budget_table_gives_the_epochs_each_budget_trains():
    table = bookpages.budget_table().set_index("budget")
    column = "epochs of densenet-cifar (full: 300)"
    assert table[column].to_dict() == {b: cnnpapers.get_budget(b).epochs(300) for b in cnnpapers.BUDGETS}
    assert table.loc["paper", column] == 300 and table.loc["gpu", "training images"] == "all"


# ------------------------------------------------------------------------------- claims ledger


@pytest.fixture
def trained_claims(monkeypatch):
    """Two trained claims of the opening chapter: one with evidence, one not run."""
    claims.list_claims()  # load the registered ones first
    for id, verdict in (("test.trained", Verdict.REPRODUCED), ("test.notrun", Verdict.NOT_RUN)):
        check = (lambda v: lambda ctx: Evidence("1.0%", v))(verdict)
        monkeypatch.setitem(claims._CLAIMS, id, Claim(id, "opening", "note 001", "s", "q", "error", check))


def test_claims_ledger_says_which_budget_and_device_produced_each_verdict(trained_claims):
    inventory = pd.DataFrame({"budget": ["cpu", "gpu"], "experiment": ["opening/lenet5"] * 2,
                              "device": ["Some CPU (2 threads)", "Some GPU"]})
    ledger = bookpages.claims_ledger("gpu", inventory=inventory).set_index("claim")
    assert ledger.loc["lenet5.params", "device"] == "counted (no device)"
    assert ledger.loc["test.trained", "device"] == "Some GPU"
    assert ledger.loc["test.notrun", "device"] == "—"
    assert set(ledger["budget"]) == {"gpu"}
    assert sorted(ledger.index) == sorted(c.id for c in claims.list_claims())


def test_claims_ledger_refuses_an_unknown_budget():
    with pytest.raises(ValueError, match="unknown budget"):
        bookpages.claims_ledger("huge", inventory=pd.DataFrame(columns=["budget", "experiment", "device"]))


def test_verdict_counts_add_up_to_the_ledger(trained_claims):
    ledger = bookpages.claims_ledger("cpu", inventory=pd.DataFrame(columns=["budget", "experiment", "device"]))
    counts = bookpages.verdict_counts(ledger).set_index("chapter")
    assert counts.loc["all chapters", "claims"] == len(ledger)
    assert counts.loc["opening", Verdict.NOT_RUN.value] == 1
    assert list(counts.columns[:-1]) == [v.value for v in Verdict]


def test_ledger_markdown_links_every_claim_to_its_chapter_page(trained_claims):
    ledger = bookpages.claims_ledger("cpu", inventory=pd.DataFrame(columns=["budget", "experiment", "device"]))
    rows = bookpages.ledger_markdown(ledger, pages={"opening"}).splitlines()[2:]
    assert len(rows) == len(ledger)
    assert all("{doc}`opening`" in row for row in rows if "`test." in row)
    assert "not in the book yet" in bookpages.ledger_markdown(ledger, pages=set())


# ----------------------------------------------------------------------- the built HTML's links


def test_link_report_finds_missing_files_and_fragments_and_fetches_nothing(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "x.css").write_text("")
    (tmp_path / "_static" / "bad.html").write_text('<a href="nowhere.html">')  # theme files: skipped
    (tmp_path / "index.html").write_text('<a href="book/a.html">')
    (tmp_path / "book" / "b.html").write_text('<p id="sec">B</p>')
    (tmp_path / "book" / "a.html").write_text(
        '<link href="../_static/x.css"><a id="top" href="#">menu</a><a href="#top">up</a>'
        '<a href="b.html#sec">ok</a><a href="b.html#gone">bad fragment</a>'
        '<a href="c.html">missing</a><img src="../_images/fig.png">'
        '<a href="https://arxiv.org/abs/1608.06993">paper</a><a href="mailto:x@y">m</a>'
        '<a href="../../outside.html">escapes</a><a href="..">dir</a>'
    )
    broken, external = bookpages.link_report(tmp_path)
    assert broken == [
        "book/a.html: b.html#gone (no element with id 'gone')",
        "book/a.html: c.html (no such file)",
        "book/a.html: ../_images/fig.png (no such file)",
        "book/a.html: ../../outside.html (no such file)",
    ]
    assert external == ["https://arxiv.org/abs/1608.06993"]


def test_check_links_command_fails_on_a_broken_link(tmp_path, capsys):
    (tmp_path / "index.html").write_text('<a href="book/intro.html">start</a>')
    assert bookpages.main(["check-links", str(tmp_path)]) == 1
    assert "index.html: book/intro.html (no such file)" in capsys.readouterr().err
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "intro.html").write_text("<p>intro</p>")
    assert bookpages.main(["check-links", str(tmp_path)]) == 0


# ------------------------------------------------- publishing: the workflows use the README's entry points


def _run_steps(workflow: str) -> list[str]:
    spec = yaml.safe_load((ROOT / ".github" / "workflows" / workflow).read_text())
    return [step["run"].strip() for job in spec["jobs"].values() for step in job["steps"] if "run" in step]


def test_the_cpu_workflow_runs_the_readme_test_command_through_ci_run():
    steps = _run_steps("ci.yml")
    assert steps[-1] == ".ci/run"
    # before it only what the README assumes of a fresh machine: no make target, no test of its own
    assert not any(re.search(r"^\s*make\b|pytest|papermill|jupyter", s, re.M) for s in steps[:-1])


def test_the_gpu_workflow_runs_make_gpu_and_publishes_the_html():
    spec = yaml.safe_load((ROOT / ".github" / "workflows" / "gpu.yml").read_text())
    assert "gpu" in spec["jobs"]["build"]["runs-on"] and "self-hosted" in spec["jobs"]["build"]["runs-on"]
    assert _run_steps("gpu.yml") == ["make gpu"]
    uploads = [s["with"]["path"] for s in spec["jobs"]["build"]["steps"] if "upload" in s.get("uses", "")]
    assert "_build/html/" in uploads and "results/gpu/" in uploads
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^gpu:.*\n\tscripts/gpu-batch\.sh\s*$", makefile, re.M)


@pytest.fixture
def fake_tools(tmp_path):
    """A stand-in python and make that record their arguments instead of running anything."""
    log = tmp_path / "calls"
    for tool, stdin_reply in (("python", "gpu-batch: Fake GPU"), ("make", "")):
        script = tmp_path / tool
        script.write_text(f'#!/usr/bin/env bash\necho "{tool} $*" >> "{log}"\n'
                          f'if [ "$1" = "-" ]; then cat >/dev/null; echo "{stdin_reply}"; fi\n')
        script.chmod(0o755)
    return tmp_path, log


def _gpu_batch(fake_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{fake_dir}:{os.environ['PATH']}"}
    return subprocess.run([str(ROOT / "scripts" / "gpu-batch.sh"), "--python", str(fake_dir / "python"), *args],
                          capture_output=True, text=True, env=env, timeout=60)


def test_gpu_batch_precomputes_experiments_and_benchmarks_then_builds_the_book(fake_tools):
    fake_dir, log = fake_tools
    run = _gpu_batch(fake_dir)
    assert run.returncode == 0, run.stderr
    calls = [line.split(" ", 1)[1] for line in log.read_text().splitlines()]
    assert calls == ["-", "-m cnnpapers experiments run --budget gpu",
                     "-m cnnpapers bench all --device cuda --budget gpu", "book BUDGET=gpu"]


def test_gpu_batch_no_book_stops_before_jupyter_and_passes_the_budget_on(fake_tools):
    fake_dir, log = fake_tools
    run = _gpu_batch(fake_dir, "--no-book", "--budget", "paper")
    assert run.returncode == 0, run.stderr
    calls = log.read_text().splitlines()
    assert calls[1:] == ["python -m cnnpapers experiments run --budget paper",
                         "python -m cnnpapers bench all --device cuda --budget paper"]
    assert not any(c.startswith("make") for c in calls)


def test_gpu_batch_refuses_an_unknown_option(fake_tools):
    run = _gpu_batch(fake_tools[0], "--fast")
    assert run.returncode == 2 and "unknown option --fast" in run.stderr


def _gpu_lease(fake_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "scripts" / "gpu-lease.sh"), "--python", str(fake_dir / "python"),
                           "--out", str(fake_dir / "out"), *args],
                          capture_output=True, text=True, timeout=60)


def test_gpu_lease_runs_the_named_steps_after_a_pre_flight_and_packs_the_results(fake_tools):
    fake_dir, log = fake_tools
    run = _gpu_lease(fake_dir, "reference-run", "parity", "parity-graphs")
    assert run.returncode == 0, run.stderr
    calls = [line.split(" ", 1)[1] for line in log.read_text().splitlines()]
    assert calls[0] == "-" and calls[1].startswith("-m cnnpapers train --model densenet_bc_100_k12")
    assert "--budget smoke --device cuda" in calls[1]
    assert "--budget gpu --device cuda --cuda-graphs" in calls[2]
    assert calls[3].startswith("-m cnnpapers bench fast-path-parity --device cuda --budget gpu")
    assert calls[4].startswith("-m cnnpapers bench fast-path-parity") and "--cuda-graphs" in calls[4]
    assert len(calls) == 5
    assert "reference-run: exit 0" in (fake_dir / "out" / "lease.log").read_text()


def test_gpu_lease_stops_at_a_failed_pre_flight_and_refuses_unknown_steps(fake_tools):
    fake_dir, log = fake_tools
    (fake_dir / "python").write_text(f'#!/usr/bin/env bash\necho "python $*" >> "{log}"\nexit 1\n')
    run = _gpu_lease(fake_dir)
    assert run.returncode == 3
    assert log.read_text().splitlines() == ["python -"]  # nothing ran after the failed check
    run = _gpu_lease(fake_dir, "nope")
    assert run.returncode == 2 and "unknown step nope" in run.stderr


def test_the_benchmarks_appendix_names_every_registered_benchmark():
    from cnnpapers import bench

    page = (ROOT / "book" / "appendix_benchmarks.md").read_text()
    named = [name for name in bench.BENCHMARKS if name != "all"]
    assert named and all(f"`{name}`" in page for name in named)


def _store_run(root, experiment, model, accuracy, seed=0, wall_time_s=120.0):
    config = {"model": model, "dataset": "fashion-mnist", "budget": "cpu", "seed": seed}
    metrics = {"test_accuracy": accuracy, "best_test_error": 1 - accuracy,
               "train_images": 60_000, "epochs": 15, "test_images": 10_000}
    results.save(results.Result(experiment, config, metrics, {}, {"wall_time_s": wall_time_s}),
                 root)


def test_trained_runs_list_what_trained_and_whether_it_reached_its_floor(tmp_path):
    _store_run(tmp_path, "opening/lenet5/seed0", "lenet5", 0.885)
    _store_run(tmp_path, "opening/lenet5/seed1", "lenet5", 0.870, seed=1)
    _store_run(tmp_path, "survey_depth/resnet20/seed0", "resnet20_cifar", 0.91, wall_time_s=600)
    _store(tmp_path, "bench/train-speed")  # a benchmark: not a training run
    runs = bookpages.trained_runs("cpu", root=tmp_path)
    assert runs["experiment"].tolist() == ["opening/lenet5/seed0", "opening/lenet5/seed1",
                                           "survey_depth/resnet20/seed0"]
    assert runs["converged"].tolist() == ["✓", "✗", "✓"]
    assert runs["floor (%)"].tolist() == ["88", "88", "90"]
    assert runs["training images × epochs"].iloc[0] == "60,000 × 15"
    summary = bookpages.trained_runs_summary(runs).set_index("chapter")
    assert summary.loc["opening", ["runs", "converged"]].tolist() == [2, 1]
    assert summary.loc["all chapters", "wall time (h)"] == pytest.approx((240 + 600) / 3600)
    assert bookpages.trained_runs("gpu", root=tmp_path).empty
