"""Claims of note 001's introduction (the survey's taxonomy), checked in ``survey_taxonomy``."""

from __future__ import annotations

from ..chapters import survey_taxonomy as taxonomy
from ..registry import Category
from . import Context, Evidence, Verdict, claim


@claim("survey_taxonomy.seven_categories", chapter="survey_taxonomy",
       source="note 001, introduction; Khan et al. 2020, Fig. 3",
       statement="The survey divides the main architectures into 7 categories: spatial "
                 "exploitation, depth, multi-path, width-based multi-connection, feature-map "
                 "exploitation and attention based CNNs",
       quoted="7个类别 (7 categories), six of them named", kind="other")
def _seven_categories(ctx: Context) -> Evidence:
    named = len(taxonomy.NOTE_CATEGORY_NAMES)
    empty = taxonomy.empty_categories()
    total = len(Category)
    ok = total == taxonomy.NOTE_CATEGORY_COUNT
    verdict = Verdict.PARTLY if ok and (named < total or empty) else (
        Verdict.REPRODUCED if ok else Verdict.NOT_REPRODUCED)
    missing = [c.value for c in Category if c not in taxonomy.NOTE_CATEGORY_NAMES]
    return Evidence(
        f"{total} categories; the note names {named}; {total - len(empty)} hold registered models",
        verdict,
        f"the unnamed seventh is Khan et al.'s '{', '.join(missing)}', and no network of the notes "
        f"is filed there (empty: {', '.join(c.value for c in empty) or 'none'})")
