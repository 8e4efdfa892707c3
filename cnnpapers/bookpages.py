"""The book's generated pages — model zoo, claims ledger, bibliography, results inventory — and
the check of the built HTML's internal links.

    python -m cnnpapers.bookpages check-links _build/html

Each page is a DataFrame built from the library (the registry's cards, the claims ledger, the
bibliography, the stored results) plus a ``*_markdown`` function that renders it as MyST Markdown
for a notebook cell. Links in that Markdown are MyST links (``{doc}`opening```, ``[Huang
2017](#bib-huang2017)``), which Sphinx resolves and, under ``jupyter-book build -W``, refuses to
leave dangling; a chapter that is not in ``_toc.yml`` yet is named without a link.
"""

from __future__ import annotations

import html.parser
import math
import re
from collections import defaultdict
from pathlib import Path
from typing import Iterable
from urllib.parse import unquote, urlsplit

import pandas as pd

from . import claims as claims_core
from . import results
from .budgets import get_budget
from .papers import PAPERS, Paper
from .provenance import REPO_ROOT
from .published import accuracy_floor
from .registry import Category, list_models, model_info

TOC = REPO_ROOT / "_toc.yml"
COUNTED_KINDS = {"params", "flops", "savings"}  # claims answered by counting, on no device
NO_VALUE = "—"


# ------------------------------------------------------------------------------------ the toc


def toc_files(toc: Path = TOC) -> list[str]:
    """Every file the book's toc lists, root first, in reading order (``"book/intro"``)."""
    import yaml

    spec = yaml.safe_load(Path(toc).read_text())
    files = [spec["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))
            walk(entry.get("chapters", []))

    walk(spec.get("parts", []))
    walk(spec.get("chapters", []))
    return [str(Path(f).with_suffix("")) if Path(f).suffix in (".md", ".ipynb") else f for f in files]


def book_pages(toc: Path = TOC) -> set[str]:
    """Names of the pages under ``book/`` that the toc lists (``{"intro", "opening", ...}``)."""
    return {Path(f).name for f in toc_files(toc) if Path(f).parent.name == "book"}


def chapter_link(chapter: str, pages: set[str]) -> str:
    """A MyST link to a chapter page (titled by Sphinx), or its bare name if it is not in the book."""
    return f"{{doc}}`{chapter}`" if chapter in pages else f"`{chapter}` (not in the book yet)"


# ------------------------------------------------------------------------------- model zoo


def one_per_family(names: Iterable[str] | None = None) -> list[str]:
    """The alphabetically first variant of each family: the smoke budget's sample of the zoo."""
    first: dict[str, str] = {}
    for name in sorted(list_models() if names is None else names):
        first.setdefault(model_info(name).family, name)
    return sorted(first.values())


def model_zoo(names: Iterable[str] | None = None) -> pd.DataFrame:
    """Registered variants with our parameter and MAC counts beside the numbers their cards quote.

    Counted by :func:`cnnpapers.analysis.cost.model_cost_table` on the meta device at each card's
    native input size. ``params_agree`` is the card's own test (:meth:`Reported.params_match`: our
    count rounds to the printed figure); ``macs_vs_quoted`` is ours / quoted - 1, both in MACs
    (a quote printed in FLOPs is halved first). Quote-less cells are NaN / None.
    """
    from .analysis.cost import model_cost_table

    names = list_models() if names is None else list(names)
    costs = model_cost_table(names).set_index("name")
    rows = []
    for name in names:
        card, c = model_info(name), costs.loc[name]
        rep = card.reported
        quoted_params = rep.params if rep is not None else None
        rows.append({
            "model": name,
            "family": card.family,
            "category": card.category.value,
            "paper": card.paper.key,
            "input": "×".join(map(str, card.input_size)),
            "params": int(c["params"]),
            "quoted_params_m": quoted_params,
            "params_agree": None if quoted_params is None else rep.params_match(int(c["params"])),
            "gmacs": float(c["gmacs"]),
            "quoted_gmacs": float(c["reported_gmacs"]),
            "macs_vs_quoted": float(c["gmacs"] / c["reported_gmacs"] - 1),
            "source": rep.source if rep is not None else "",
            "remark": rep.remark if rep is not None else "",
            "departure": card.departure,
            "torchvision": card.torchvision or "",
        })
    return pd.DataFrame(rows)


def zoo_summary(zoo: pd.DataFrame) -> dict[str, int]:
    quoted = zoo["params_agree"].notna()
    return {
        "variants": len(zoo),
        "families": zoo["family"].nunique(),
        "with_quoted_params": int(quoted.sum()),
        "params_agree": int(zoo.loc[quoted, "params_agree"].astype(bool).sum()),
        "with_quoted_macs": int(zoo["quoted_gmacs"].notna().sum()),
    }


def _markdown(df: pd.DataFrame) -> str:
    """A pipe table of cells formatted here: tabulate must not re-read "7.0" (as printed) as 7."""
    return df.to_markdown(index=False, disable_numparse=True)


def _cell(text: object) -> str:
    """Text made safe for a pipe-table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _gmacs(value: float) -> str:
    """Four significant digits: LeNet-5's 0.0004163 GMACs and VGG-19's 19.63 both stay legible."""
    return "" if math.isnan(value) else f"{value:.4g}"


def _bib_link(key: str) -> str:
    return f"[{PAPERS[key].cite()}](#bib-{key})"


def zoo_markdown(zoo: pd.DataFrame) -> str:
    """One table per category of the survey's taxonomy, in its order (registry ``Category``)."""
    out = []
    for category in Category:
        part = zoo[zoo["category"] == category.value]
        if part.empty:
            continue
        table = pd.DataFrame({
            "model": [f"`{m}`" for m in part["model"]],
            "paper": [_bib_link(k) for k in part["paper"]],
            "input (C×H×W)": part["input"],
            "params (ours)": [f"{p:,}" for p in part["params"]],
            "params (quoted, M)": ["" if pd.isna(q) else q for q in part["quoted_params_m"]],
            "agree": [{True: "yes", False: "**no**"}.get(a, "") for a in part["params_agree"]],
            "GMACs (ours)": [_gmacs(g) for g in part["gmacs"]],
            "GMACs (quoted)": [_gmacs(g) for g in part["quoted_gmacs"]],
            "MACs vs quote": ["" if math.isnan(r) else f"{r:+.1%}" for r in part["macs_vs_quoted"]],
        })
        out.append(f"**{category.value}** — {len(part)} variants\n\n{_markdown(table)}")
    return "\n\n".join(out)


def zoo_notes_markdown(zoo: pd.DataFrame) -> str:
    """Per variant with anything to say: where its quotes come from, what is odd about them, and
    where it departs from its paper. One list item each, since the texts are sentences."""
    items = []
    for r in zoo.itertuples():
        parts = [f"*quoted from* {r.source}" if r.source else "",
                 f"*remark:* {r.remark}" if r.remark else "",
                 f"*departs from the paper:* {r.departure}" if r.departure else ""]
        text = "; ".join(p.rstrip(".") for p in parts if p)
        if text:
            items.append(f"- `{r.model}` — {text}.")
    return "\n".join(items)


# ----------------------------------------------------------------------------- bibliography


def _short_citation(paper: Paper) -> re.Pattern:
    """'Huang et al. 2017', 'Simonyan & Zisserman 2015', 'Chollet 2017': surname, then the year."""
    surname = re.escape(paper.authors.split(",")[0].split()[-1])
    return re.compile(rf"\b{surname}\b[^;()\d]{{0,30}}\b{paper.year}\b")


def cited_papers(text: str) -> list[str]:
    """Keys of the papers ``text`` cites, by key, arXiv id, or an unambiguous short citation.

    A short citation shared by two papers ("He et al. 2016": ResNet and pre-activation ResNet)
    counts for neither; a claim that means one of them must name its key.
    """
    explicit = {k for k, p in PAPERS.items()
                if re.search(rf"\b{re.escape(k)}\b", text) or (p.arxiv and p.arxiv in text)}
    by_short: dict[str, list[str]] = defaultdict(list)
    for key, paper in PAPERS.items():
        match = _short_citation(paper).search(text)
        if match:
            by_short[match.group(0)].append(key)
    short = {keys[0] for keys in by_short.values() if len(keys) == 1}
    ambiguous = {k for keys in by_short.values() if len(keys) > 1 for k in keys}
    return sorted(explicit | (short - ambiguous))


def bibliography() -> pd.DataFrame:
    """Every paper with its arXiv link, the variants whose cards cite it and the claims that do.

    Sorted by first author and year. A claim cites a paper when its source or statement does
    (:func:`cited_papers`).
    """
    models = defaultdict(list)
    for name in list_models():
        models[model_info(name).paper.key].append(name)
    cited_by = defaultdict(list)
    for c in claims_core.list_claims():
        for key in cited_papers(f"{c.source} {c.statement}"):
            cited_by[key].append((c.id, c.chapter))
    rows = [{
        "key": p.key, "authors": p.authors, "year": p.year, "title": p.title, "venue": p.venue,
        "arxiv": p.arxiv or "", "url": p.url, "models": models[p.key], "claims": cited_by[p.key],
    } for p in PAPERS.values()]
    order = sorted(rows, key=lambda r: (r["authors"].split(",")[0].lower(), r["year"], r["key"]))
    return pd.DataFrame(order)


def bibliography_markdown(bib: pd.DataFrame, pages: set[str]) -> str:
    """One paragraph per paper, each a link target ``bib-KEY`` for the other pages."""
    entries = []
    for r in bib.itertuples():
        link = f" [arXiv:{r.arxiv}]({r.url})" if r.arxiv else " (not on arXiv)"
        lines = [f"**{r.authors}** ({r.year}). *{r.title}.* {r.venue}.{link}"]
        if r.models:
            lines.append("Models: " + ", ".join(f"`{m}`" for m in r.models))
        if r.claims:
            lines.append("Claims: " + ", ".join(f"`{cid}` in {chapter_link(ch, pages)}"
                                                for cid, ch in r.claims))
        entries.append(f"(bib-{r.key})=\n" + "  \n".join(lines))
    return "\n\n".join(entries)


# ---------------------------------------------------------------------------- results inventory


def results_inventory(root: Path | None = None) -> pd.DataFrame:
    """Every stored result under ``results/``: budget, experiment, config hash and provenance.

    ``verified`` says the file's name is the hash of the configuration it holds, i.e. a chapter
    asking for that configuration would reuse it. Files that are not readable results are
    reported (:class:`~cnnpapers.results.CorruptResultWarning`), left out of the rows and listed in
    ``attrs["damaged"]`` (paths relative to ``root``), which :func:`inventory_markdown` names.
    """
    root = results.results_root() if root is None else Path(root)
    scan = results.scan(root)
    rows = []
    for path, result in scan.found:
        if len(path.relative_to(root).parts) < 3:
            continue  # not <budget>/<experiment>/<hash>.json
        config, prov = result.config, result.provenance
        commit = str(prov.get("commit") or "unknown")[:10] + ("+dirty" if prov.get("dirty") else "")
        rows.append({
            "budget": path.relative_to(root).parts[0],
            "experiment": result.experiment,
            "config_hash": path.stem,
            "verified": path.stem == results.config_hash(config),
            "device": prov.get("device_name", prov.get("device", "")),
            "commit": commit,
            "date": str(prov.get("date", ""))[:10],
            "wall_time_s": prov.get("wall_time_s"),
            "seed": config.get("seed"),
            "torch": prov.get("torch", ""),
        })
    columns = ["budget", "experiment", "config_hash", "verified", "device", "commit", "date",
               "wall_time_s", "seed", "torch"]
    inventory = pd.DataFrame(rows, columns=columns)
    inventory.attrs["damaged"] = [str(p.relative_to(root)) for p in scan.damaged]
    return inventory


def inventory_summary(inventory: pd.DataFrame) -> pd.DataFrame:
    """Results per budget and chapter (an experiment's first path part), with devices and dates."""
    columns = ["budget", "chapter", "results", "devices", "first", "last", "wall time (h)"]
    if inventory.empty:
        return pd.DataFrame(columns=columns)
    df = inventory.assign(chapter=inventory["experiment"].str.split("/").str[0])
    rows = []
    for (budget, chapter), g in df.groupby(["budget", "chapter"], sort=True):
        rows.append([budget, chapter, len(g), ", ".join(sorted(set(g["device"]))), g["date"].min(),
                     g["date"].max(), pd.to_numeric(g["wall_time_s"]).sum() / 3600])
    return pd.DataFrame(rows, columns=columns)


def inventory_markdown(inventory: pd.DataFrame) -> str:
    """The summary per budget and chapter, then every stored result, or a sentence if none; and
    the damaged files that were skipped, if any."""
    damaged = inventory.attrs.get("damaged", [])
    note = ("\n\n**Skipped, not readable results** (their runs count as missing; delete or "
            "recompute them): " + ", ".join(f"`{p}`" for p in damaged)) if damaged else ""
    return _inventory_tables(inventory) + note


def _inventory_tables(inventory: pd.DataFrame) -> str:
    if inventory.empty:
        return "*No stored results in this checkout: every chapter runs its experiments when executed.*"
    summary = inventory_summary(inventory)
    summary["wall time (h)"] = summary["wall time (h)"].map("{:.2f}".format)
    listing = inventory.assign(
        verified=inventory["verified"].map({True: "yes", False: "**no**"}),
        wall_time_s=[NO_VALUE if pd.isna(t) else f"{float(t):.1f}" for t in inventory["wall_time_s"]],
        seed=inventory["seed"].astype(str),
    )
    return f"{_markdown(summary.astype(str))}\n\n{_markdown(listing.astype(str))}"


def trained_runs(budget: str, root: Path | None = None) -> pd.DataFrame:
    """Every stored training run at ``budget``: what it trained (images × epochs, seed), the
    test accuracy it reached against its floor (:func:`~cnnpapers.analysis.seedruns.converged`)
    and its wall time."""
    from .analysis.seedruns import converged

    get_budget(budget)
    root = results.results_root() if root is None else Path(root)
    rows = []
    for _, r in results.scan(root / budget).found:
        m = r.metrics
        if "test_accuracy" not in m or "model" not in r.config:
            continue  # a benchmark or a sweep, not a training run
        floor = accuracy_floor(r.config["dataset"], r.config["model"])
        rows.append({
            "chapter": r.experiment.split("/")[0], "experiment": r.experiment,
            "model": r.config["model"], "seed": r.config["seed"],
            "training images × epochs": f"{m['train_images']:,} × {m['epochs']}",
            "test images": m["test_images"], "test accuracy (%)": 100 * m["test_accuracy"],
            "floor (%)": NO_VALUE if floor is None else f"{100 * floor:.0f}",
            "converged": "✓" if converged(r) else "✗",
            "wall time (min)": (r.provenance.get("wall_time_s") or math.nan) / 60,
        })
    return pd.DataFrame(rows, columns=[
        "chapter", "experiment", "model", "seed", "training images × epochs", "test images",
        "test accuracy (%)", "floor (%)", "converged", "wall time (min)"])


def trained_runs_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per chapter: runs, how many converged, and their wall time in hours (with a total)."""
    if runs.empty:
        return pd.DataFrame(columns=["chapter", "runs", "converged", "wall time (h)"])
    per = runs.groupby("chapter").agg(runs=("experiment", "size"),
                                      converged=("converged", lambda c: int((c == "✓").sum())),
                                      minutes=("wall time (min)", "sum"))
    per.loc["all chapters"] = per.sum()
    per["wall time (h)"] = per.pop("minutes") / 60
    return per.reset_index()


def budget_table(schedules: Iterable[str] = ("fashion-mnist", "densenet-cifar")) -> pd.DataFrame:
    """The budgets as :mod:`cnnpapers.budgets` defines them, with the epochs each gives
    ``schedules`` (names from :mod:`cnnpapers.schedules`)."""
    from .budgets import BUDGETS
    from .schedules import get_schedule

    epochs = {f"epochs of {s.name} (full: {s.epochs})": s for s in map(get_schedule, schedules)}
    return pd.DataFrame([{
        "budget": b.name, "hardware": b.hardware, "what it is": b.description,
        "training images": "all" if b.train_images is None else f"{b.train_images:,}",
        "test images": "all" if b.test_images is None else f"{b.test_images:,}",
        "share of the paper's epochs": f"{b.epoch_fraction:g}",
        "at most epochs": NO_VALUE if b.max_epochs is None else b.max_epochs,
        **{column: b.epochs(s.epochs) for column, s in epochs.items()},
    } for b in BUDGETS.values()])


# ------------------------------------------------------------------------------- claims ledger


def claims_ledger(budget: str, device: str = "cpu", inventory: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ledger at ``budget`` without running anything, with the device behind each verdict.

    A counted claim (parameters, FLOPs, savings) needs no device. Any other claim's evidence comes
    from its chapter's stored results at ``budget`` (experiments are named ``"<chapter>/..."``),
    so its device is theirs; a claim with neither is not run at this budget.
    """
    get_budget(budget)
    table = claims_core.ledger(budget, device, run=False)
    inventory = results_inventory() if inventory is None else inventory
    stored = inventory[inventory["budget"] == budget]
    kinds = {c.id: c.kind for c in claims_core.list_claims()}

    def device_of(row: pd.Series) -> str:
        if kinds[row["claim"]] in COUNTED_KINDS:
            return "counted (no device)"
        if row["verdict"] == claims_core.Verdict.NOT_RUN.value:
            return NO_VALUE
        devices = stored.loc[stored["experiment"].str.startswith(row["chapter"] + "/"), "device"]
        return ", ".join(sorted(set(devices))) or NO_VALUE

    if table.empty:
        return table.reindex(columns=[*table.columns, "kind", "budget", "device"])
    return table.assign(kind=table["claim"].map(kinds), budget=budget,
                        device=table.apply(device_of, axis=1))


def verdict_counts(ledger: pd.DataFrame) -> pd.DataFrame:
    """Claims per chapter and verdict, verdicts in the ledger's order, with a total row."""
    verdicts = [v.value for v in claims_core.Verdict]
    counts = pd.crosstab(ledger["chapter"], ledger["verdict"]).reindex(columns=verdicts, fill_value=0)
    counts.loc["all chapters"] = counts.sum()
    counts["claims"] = counts.sum(axis=1)
    return counts.reset_index()


def ledger_markdown(ledger: pd.DataFrame, pages: set[str]) -> str:
    """The ledger as one table, each claim linked to the chapter page that shows it."""
    table = pd.DataFrame({
        "claim": [f"`{c}`" for c in ledger["claim"]],
        "the note's claim (source)": [f"{_cell(s)} *({_cell(src)})*"
                                      for s, src in zip(ledger["statement"], ledger["source"])],
        "quoted": [_cell(q) for q in ledger["quoted"]],
        "ours": [_cell(o) for o in ledger["ours"]],
        "verdict": [f"**{v}**" for v in ledger["verdict"]],
        "budget · device": [f"{b} · {_cell(d)}" for b, d in zip(ledger["budget"], ledger["device"])],
        "shown in": [chapter_link(ch, pages) for ch in ledger["chapter"]],
        "how we measured": [_cell(d) for d in ledger["detail"]],
    })
    return _markdown(table)


# ----------------------------------------------------------------------- the built HTML's links


class _Links(html.parser.HTMLParser):
    """The ids a page defines and the URLs it points to (``href`` and ``src``)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if a.get(key):
                self.ids.add(a[key])
        for key in ("href", "src"):
            if a.get(key):
                self.urls.append(a[key])


EXTERNAL_SCHEMES = ("http", "https", "mailto", "tel", "data", "javascript")


def _parse(page: Path, cache: dict[Path, _Links]) -> _Links:
    if page not in cache:
        parser = _Links()
        parser.feed(page.read_text(errors="replace"))
        cache[page] = parser
    return cache[page]


def link_report(html_dir: Path) -> tuple[list[str], list[str]]:
    """(broken internal links, external URLs) of every page of a built book; fetches nothing.

    An internal link is broken when its file does not exist inside ``html_dir`` or its
    ``#fragment`` names no element of the target page.
    """
    html_dir = Path(html_dir).resolve()
    cache: dict[Path, _Links] = {}
    broken, external = [], set()
    for page in sorted(html_dir.rglob("*.html")):
        rel = page.relative_to(html_dir)
        if rel.parts[0] in ("_sources", "_static"):
            continue
        for url in _parse(page, cache).urls:
            parts = urlsplit(url)
            if parts.scheme in EXTERNAL_SCHEMES or url.startswith("//"):
                if parts.scheme in ("http", "https") or url.startswith("//"):
                    external.add(url)
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_relative_to(html_dir) or not target.exists():
                broken.append(f"{rel}: {url} (no such file)")
            elif parts.fragment and target.suffix == ".html" and \
                    unquote(parts.fragment) not in _parse(target, cache).ids:
                broken.append(f"{rel}: {url} (no element with id {parts.fragment!r})")
    return broken, sorted(external)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m cnnpapers.bookpages")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check-links", help="fail when a built page links to a missing file or anchor")
    check.add_argument("html_dir", type=Path)
    args = parser.parse_args(argv)
    broken, external = link_report(args.html_dir)
    for line in broken:
        print(f"broken link: {line}", file=sys.stderr)
    print(f"{len(broken)} broken internal links; {len(external)} external links (not fetched)")
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
