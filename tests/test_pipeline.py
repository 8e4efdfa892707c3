"""The notebook pipeline: sources and stored notebooks agree, built pages carry no errors."""

from pathlib import Path

import nbformat
import pytest

from cnnpapers import pipeline

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = pipeline.chapter_names()


def test_every_stored_notebook_matches_its_py_source():
    assert pipeline.out_of_sync() == [], "run `make sync` after editing notebooks/*.py"


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_has_papermill_parameters(name):
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    for parameter in ("budget", "dataset", "seed", "device"):
        assert f"{parameter} =" in tagged[0].source


@pytest.mark.parametrize("name", CHAPTERS)
def test_book_page_ran_at_a_real_budget_without_errors(name):
    page = ROOT / "book" / f"{name}.ipynb"
    assert page.exists(), f"book/{name}.ipynb missing; run `make execute`"
    nb = nbformat.read(page, as_version=4)
    budget = nb.metadata["papermill"]["parameters"]["budget"]
    if budget == "smoke":  # only while its training runs are not stored
        assert pipeline.untrained(name, "cpu"), (
            f"book/{name}.ipynb ran at smoke though its cpu runs are stored; run `make execute`")
    else:
        assert budget in ("cpu", "gpu", "paper")
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"{name}: a cell raised {out.get('ename')}"


def test_stale_notebook_is_detected(tmp_path, monkeypatch):
    (tmp_path / "x.py").write_text("# %%\nprint(1)\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(2)")])
    nbformat.write(nb, tmp_path / "x.ipynb")
    monkeypatch.setattr(pipeline, "NOTEBOOKS", tmp_path)
    assert pipeline.out_of_sync() == ["x"]


def test_error_outputs_in_built_html_are_found(tmp_path):
    (tmp_path / "ok.html").write_text("<div class='cell_output'><pre>42</pre></div>")
    (tmp_path / "bad.html").write_text("<pre>Traceback (most recent call last):\n  File ...</pre>")
    assert pipeline.error_pages(tmp_path) == ["bad.html"]


def test_book_pages_show_the_parameters_they_ran_with():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('budget = "smoke"  # smoke | cpu\nseed = 0',
                                  metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell('# Parameters\nbudget = "cpu"\n',
                                  metadata={"tags": ["injected-parameters"]}),
    ])
    pipeline._fold_injected_parameters(nb)
    assert nb.cells[0].source == 'budget = "cpu"  # smoke | cpu\nseed = 0'
    assert "remove-cell" in nb.cells[1].metadata.tags


def test_appendices_run_after_the_chapters_they_summarise():
    names = pipeline.chapter_names()
    first_appendix = next(i for i, n in enumerate(names) if n.startswith("appendix_"))
    assert all(n.startswith("appendix_") for n in names[first_appendix:])


def test_a_page_that_would_train_runs_at_smoke_unless_asked(monkeypatch):
    monkeypatch.setattr(pipeline, "untrained", lambda name, budget: ["x/seed0"] if name == "x" else [])
    assert pipeline.page_budget("x", "cpu", train=False) == "smoke"
    assert pipeline.page_budget("x", "cpu", train=True) == "cpu"
    assert pipeline.page_budget("y", "cpu", train=False) == "cpu"


def test_untrained_lists_the_runs_without_a_stored_result(tmp_path, monkeypatch):
    from cnnpapers import experiments

    monkeypatch.setenv("CNNPAPERS_RESULTS", str(tmp_path))
    runs = experiments.experiments("cpu", "opening")
    assert pipeline.untrained("opening", "cpu") == [e.name for e in runs]
    assert pipeline.untrained("opening", "smoke") == []
    assert pipeline.untrained("survey_taxonomy", "cpu") == []  # a chapter that trains nothing


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_page_opens_with_its_provenance(name):
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    shown = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
             if "**Provenance**" in "".join(out.get("data", {}).get("text/markdown", ""))]
    assert shown, f"{name}: no cell shows page_provenance(...); end a cell with it"
