"""The notebook pipeline: jupytext sources → papermill at a budget → Jupyter Book pages.

``notebooks/NAME.py`` (jupytext percent format) is the source of a chapter;
``notebooks/NAME.ipynb`` holds the same cells with outputs of the ``smoke`` budget, which
``pytest --nbval`` re-executes and compares; ``book/NAME.ipynb`` holds the outputs of the book's
budget (``cpu`` by default), which Jupyter Book renders without executing again.

Pages do not train: a chapter whose registered training runs are not all stored at the budget
(``python -m cnnpapers experiments list --budget cpu``) is executed at ``smoke`` instead, says so
in its provenance line, and its trained claims read "not run at this budget". Store the runs with
``python -m cnnpapers experiments run --budget cpu`` (or pass ``--train``) and execute again.

    python -m cnnpapers.pipeline execute --budget cpu --out book [--only NAME ...] [--train]
    python -m cnnpapers.pipeline check-sync
    python -m cnnpapers.pipeline check-html _build/html
"""

from __future__ import annotations

import argparse
import html
import os
import re
import sys
import tempfile
from pathlib import Path

from .budgets import get_budget
from .provenance import REPO_ROOT

NOTEBOOKS = REPO_ROOT / "notebooks"
INJECTED_TAG = "injected-parameters"


def chapter_names() -> list[str]:
    """Chapters in execution order: the appendices last, since they read what chapters stored."""
    names = (p.stem for p in NOTEBOOKS.glob("*.py") if p.name != "conftest.py")  # nbval's
    return sorted(names, key=lambda n: (n.startswith("appendix_"), n))


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _source_cells(nb) -> list[tuple[str, str, tuple[str, ...]]]:
    """(type, source, tags) of every cell a person wrote, i.e. without papermill's injected one."""
    return [
        (c.cell_type, c.source.strip(), tuple(sorted(_tags(c))))
        for c in nb.cells
        if INJECTED_TAG not in _tags(c)
    ]


def out_of_sync() -> list[str]:
    """Chapters whose stored notebook does not hold exactly the cells of its ``.py`` source."""
    import jupytext
    import nbformat

    stale = []
    for name in chapter_names():
        ipynb = NOTEBOOKS / f"{name}.ipynb"
        if not ipynb.exists():
            stale.append(f"{name} (no .ipynb)")
            continue
        source = jupytext.read(NOTEBOOKS / f"{name}.py")
        stored = nbformat.read(ipynb, as_version=4)
        if _source_cells(source) != _source_cells(stored):
            stale.append(name)
    return stale


def untrained(name: str, budget: str) -> list[str]:
    """The chapter's registered training runs that have no stored result at ``budget``."""
    from . import experiments

    if get_budget(budget).name == "smoke" or name not in experiments.chapters():
        return []
    return [e.name for e in experiments.experiments(budget, name) if experiments.lookup(e) is None]


def page_budget(name: str, budget: str, train: bool) -> str:
    """The budget a page runs at: ``budget``, or ``smoke`` when it would have to train first."""
    return budget if train or not untrained(name, budget) else "smoke"


def execute(budget: str, out: Path, kernel: str, only: list[str] | None = None,
            train: bool = False) -> list[Path]:
    """Run chapters with papermill at ``budget`` and write them to ``out`` atomically; without
    ``train``, a chapter whose training runs are not stored runs at ``smoke`` (see above)."""
    import nbformat
    import papermill

    get_budget(budget)  # an unknown budget fails before anything runs
    names = [n for n in chapter_names() if not only or n in only]
    unknown = sorted(set(only or []) - set(chapter_names()))
    if unknown:
        raise SystemExit(f"unknown chapter(s) {unknown}; chapters: {chapter_names()}")
    stale = sorted(set(out_of_sync()) & set(names))
    if stale:
        raise SystemExit(f"notebooks out of sync with their .py sources: {stale}; run `make sync`")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        target = out / f"{name}.ipynb"
        run_at = page_budget(name, budget, train)
        if run_at != budget:
            missing = untrained(name, budget)
            print(f"[{budget}] {name}: {len(missing)} training run(s) not stored at {budget} "
                  f"(e.g. {missing[0]}); this page runs at {run_at}. Store them with `python -m "
                  f"cnnpapers experiments run --budget {budget} --chapter {name}`.", flush=True)
        fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{name}-", suffix=".ipynb")
        os.close(fd)
        try:
            print(f"[{run_at}] {name} → {target.relative_to(REPO_ROOT) if target.is_relative_to(REPO_ROOT) else target}", flush=True)
            papermill.execute_notebook(
                str(NOTEBOOKS / f"{name}.ipynb"), tmp, parameters={"budget": run_at},
                kernel_name=kernel, cwd=str(NOTEBOOKS), progress_bar=False,
            )
            if out.resolve() != NOTEBOOKS.resolve():  # nbval needs the stored cells untouched
                nb = nbformat.read(tmp, as_version=4)
                _fold_injected_parameters(nb)
                nbformat.write(nb, tmp)
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
        written.append(target)
    return written


def _fold_injected_parameters(nb) -> None:
    """Show readers the parameters a page really ran with, in the ``parameters`` cell itself.

    Papermill adds a cell after ``parameters`` that overrides some values; on a book page that
    leaves ``budget = "smoke"`` on display while the numbers come from ``budget = "cpu"``. Each
    overridden assignment is rewritten in place (its comment kept) and the injected cell hidden.
    """
    params = next((c for c in nb.cells if "parameters" in _tags(c)), None)
    for cell in nb.cells:
        if INJECTED_TAG not in _tags(cell):
            continue
        if params is not None:
            for line in cell.source.splitlines():
                m = re.match(r"(\w+) = (.*)$", line)
                if m:
                    params.source = re.sub(
                        rf"^{m[1]} = [^#\n]*?(\s*#.*)?$", lambda old: f"{m[1]} = {m[2]}{old[1] or ''}",
                        params.source, count=1, flags=re.M)
        if "remove-cell" not in _tags(cell):
            cell.metadata.setdefault("tags", []).append("remove-cell")


_ERROR_MARKERS = (
    re.compile(r"Traceback \(most recent call last\)"),
    re.compile(r'class="[^"]*\b(?:output error|traceback)\b'),
    re.compile(r'class="[^"]*\boutput stderr\b[^"]*"[^>]*>\s*<pre>[^<]*(?:Error|Exception)'),
)


def error_pages(html_dir: Path) -> list[str]:
    """Built pages that show an error or traceback output."""
    bad = []
    for page in sorted(Path(html_dir).rglob("*.html")):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        text = html.unescape(page.read_text(errors="replace"))
        if any(m.search(text) for m in _ERROR_MARKERS):
            bad.append(str(page.relative_to(html_dir)))
    return bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnpapers.pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("execute", help="run chapters with papermill at a budget")
    ex.add_argument("--budget", default="cpu")
    ex.add_argument("--out", type=Path, default=REPO_ROOT / "book")
    ex.add_argument("--kernel", default="cnnpapers")
    ex.add_argument("--only", nargs="*", help="chapter names (default: all)")
    ex.add_argument("--train", action="store_true",
                    help="train the runs a chapter lacks instead of running its page at smoke")
    sub.add_parser("check-sync", help="fail when a stored notebook differs from its .py source")
    ch = sub.add_parser("check-html", help="fail when a built page shows an error output")
    ch.add_argument("html_dir", type=Path)
    args = parser.parse_args(argv)

    if args.command == "execute":
        try:
            execute(args.budget, args.out.resolve(), args.kernel, args.only, args.train)
        except ValueError as err:
            parser.error(str(err))
    elif args.command == "check-sync":
        stale = out_of_sync()
        if stale:
            print(f"out of sync: {stale}; run `make sync`", file=sys.stderr)
            return 1
    else:
        bad = error_pages(args.html_dir)
        if bad:
            print(f"pages with error outputs: {bad}", file=sys.stderr)
            return 1
        print(f"no error outputs in {args.html_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
