"""The claims ledger: every testable claim of the notes, registered once with its check.

A claim is a sentence of a note ("DenseNet-BC with L=100, k=12 has 0.8M parameters"), where it
comes from, the number as quoted, and a *check*: a function that measures our number with the
library and returns :class:`Evidence` with a :class:`Verdict`. Chapters show the evidence next to
the figure that supports it; the ledger page lists all claims with their verdicts.

Checks that need training read results through :mod:`cnnpapers.results`; given a context with
``run=False`` (the ledger page) they only look up what a chapter already computed and otherwise
answer :attr:`Verdict.NOT_RUN`, so the ledger never retrains anything. A claim registered with
``trained=True`` is judged on training runs or timings: at the ``smoke`` budget (a few optimiser
steps, one untimed pass) its numbers only show that the code runs, so its verdict there is
:attr:`Verdict.NOT_RUN` whatever the numbers say.

One module per chapter registers its claims (``cnnpapers/claims/densenet.py`` ...), using
:func:`claim` as a decorator on the check.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
import pkgutil
from importlib import import_module
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from .. import results
from ..analysis.seedruns import Difference, converged
from ..budgets import get_budget


class Verdict(str, enum.Enum):
    REPRODUCED = "reproduced"
    PARTLY = "partly reproduced"
    NOT_REPRODUCED = "not reproduced"
    INCONCLUSIVE = "inconclusive at this budget"
    NEEDS_DATA = "needs CIFAR/SVHN/ImageNet"
    NEEDS_GPU = "needs a GPU"
    NOT_RUN = "not run at this budget"


@dataclass(frozen=True)
class Context:
    """What a check may use: the budget and device, and whether it may run experiments."""

    budget: str
    device: str = "cpu"
    run: bool = True


@dataclass(frozen=True)
class Evidence:
    ours: str  # our number, formatted with its unit
    verdict: Verdict
    detail: str = ""  # one sentence: how we measured, what differs


@dataclass(frozen=True)
class Claim:
    id: str
    chapter: str  # notebook name under notebooks/, e.g. "densenet"
    source: str  # note and section/table, e.g. "note 000, Table 2"
    statement: str  # the note's claim, in English
    quoted: str  # the number as the note/paper prints it ("0.8M", "28%")
    kind: str  # params | flops | savings | ordering | memory | speed | error | other
    check: Callable[[Context], Evidence]
    trained: bool = False  # judged on training runs or timings: no verdict at the smoke budget


KINDS = ("params", "flops", "savings", "ordering", "memory", "speed", "error", "other")
_CLAIMS: dict[str, Claim] = {}


def claim(id: str, *, chapter: str, source: str, statement: str, quoted: str, kind: str,
          trained: bool = False):
    """Register the decorated function as the check of a claim (``trained``: see the module
    docstring)."""
    if kind not in KINDS:
        raise ValueError(f"claim {id}: kind must be one of {KINDS}, got {kind!r}")

    def register(check: Callable[[Context], Evidence]) -> Callable[[Context], Evidence]:
        if id in _CLAIMS:
            raise ValueError(f"claim {id!r} is registered twice")
        _CLAIMS[id] = Claim(id, chapter, source, statement, quoted, kind, check, trained)
        return check

    return register


def _load_all() -> None:
    """Import every claims module of this package; each registers its chapter's claims."""
    for info in pkgutil.iter_modules(__path__):
        import_module(f"{__name__}.{info.name}")


def list_claims(chapter: str | None = None) -> list[Claim]:
    _load_all()
    return [c for c in _CLAIMS.values() if chapter is None or c.chapter == chapter]


def get_claim(id: str) -> Claim:
    _load_all()
    try:
        return _CLAIMS[id]
    except KeyError:
        raise ValueError(f"unknown claim {id!r}; see cnnpapers.claims.list_claims()") from None


def trained_verdict(gap: Difference, *, expect: str, runs: Iterable[results.Result]) -> tuple[Verdict, str]:
    """The one rule for a trained claim that compares two nets (``gap``: first minus second,
    over seeds, with its two-standard-error margin; ``expect``: ``"above"`` or ``"below"``, the
    sign the note's sentence predicts): reproduced when the gap has that sign and clears the
    margin, not reproduced when it has the other sign and clears it, otherwise inconclusive at
    this budget, with what would decide it. ``runs`` are the runs that must have reached their
    accuracy floor (:func:`~cnnpapers.analysis.seedruns.converged`) to count as evidence."""
    if expect not in ("above", "below"):
        raise ValueError(f"expect must be 'above' or 'below', got {expect!r}")
    if not all(converged(r) for r in runs):
        return Verdict.INCONCLUSIVE, ("a run stayed below its accuracy floor, so it is no "
                                      "evidence; train longer (a higher budget) to decide")
    agrees, opposes = (gap.above, gap.below) if expect == "above" else (gap.below, gap.above)
    if agrees:
        return Verdict.REPRODUCED, ""
    if opposes:
        return Verdict.NOT_REPRODUCED, "the opposite of the claim, beyond the margin, at this budget"
    seeds = gap.seeds_to_decide()
    return Verdict.INCONCLUSIVE, ("within the margin; " + (
        f"about {seeds} seeds per net would decide a gap of this size" if seeds else
        "more seeds alone would not decide it (a longer run or more test images might)"))


SMOKE_NOTE = "smoke budget: these numbers show that the code runs, not the claim"


def evaluate(id: str, budget: str, device: str = "cpu", run: bool = True) -> Evidence:
    c = get_claim(id)
    evidence = c.check(Context(get_budget(budget).name, device, run))
    if not isinstance(evidence, Evidence):
        raise TypeError(f"check of claim {id!r} returned {type(evidence).__name__}, not Evidence")
    if c.trained and budget == "smoke" and evidence.verdict in _JUDGED:
        detail = f"{SMOKE_NOTE}; {evidence.detail}" if evidence.detail else SMOKE_NOTE
        return Evidence(evidence.ours, Verdict.NOT_RUN, detail)
    return evidence


_JUDGED = (Verdict.REPRODUCED, Verdict.PARTLY, Verdict.NOT_REPRODUCED, Verdict.INCONCLUSIVE)


def ledger(budget: str, device: str = "cpu", run: bool = False, chapter: str | None = None) -> pd.DataFrame:
    """Every claim (of ``chapter``) with its evidence at ``budget``; by default runs nothing. A
    claim whose stored results are damaged says so in its detail (the check saw them missing)."""
    rows = []
    for c in list_claims(chapter):
        with results.noting_damage() as damaged:
            ev = evaluate(c.id, budget, device, run)
        rows.append({"claim": c.id, "chapter": c.chapter, "source": c.source, "statement": c.statement,
                     "quoted": c.quoted, "ours": ev.ours, "verdict": ev.verdict.value,
                     "detail": _noting_damage(ev.detail, damaged)})
    return pd.DataFrame(rows)


def _noting_damage(detail: str, damaged: list[Path]) -> str:
    if not damaged:
        return detail
    note = "damaged result file(s) skipped: " + ", ".join(sorted(map(str, set(damaged))))
    return f"{detail}; {note}" if detail else note


def report(ids: list[str], budget: str, device: str = "cpu"):
    """The chapter-side view: each claim, the quote, our number and the verdict, as Markdown."""
    from IPython.display import Markdown  # notebooks only; the CLI runs where IPython may be absent

    lines = []
    for id in ids:
        c, ev = get_claim(id), evaluate(id, budget, device, run=True)
        lines.append(
            f"- **{ev.verdict.value.capitalize()}** — {c.statement} *({c.source}; quoted: {c.quoted})*  \n"
            f"  Ours: **{ev.ours}**{'. ' + ev.detail if ev.detail else ''}"
        )
    return Markdown("\n".join(lines))
