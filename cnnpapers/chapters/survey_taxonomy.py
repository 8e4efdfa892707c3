"""The chapter ``survey_taxonomy``: the survey's seven categories (note 001; Khan et al. 2020,
Fig. 3) filled from the registry, with every model's cost at its native input.

The category of a model is its card's (:class:`cnnpapers.registry.Category`); year and depth
are the card's paper year and the depth the paper counts; parameters and multiply-accumulates
(MACs, 1 MAC = 2 FLOPs) are counted on a model built on the ``meta`` device at the card's input
size. :func:`formatted` renders the survey chapters' tables.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from IPython.display import Markdown

from ..analysis.cost import model_cost_table
from ..analysis.plots import finish, label, new_figure
from ..budgets import get_budget
from ..registry import Category, list_models, model_info

NO_VALUE = "—"

# The six category names note 001 lists (its intro), in its spelling, matched to the registry.
NOTE_CATEGORY_NAMES = {
    Category.SPATIAL: "Spatial Exploitation based CNNs",
    Category.DEPTH: "Depth based CNNs",
    Category.MULTI_PATH: "Multi-Path based CNNs",
    Category.WIDTH: "Width based Multi-Connection CNNs",
    Category.FEATURE_MAP: "Feature Map (Channel_FMap) Exploitation based CNNs",
    Category.ATTENTION: "Attention based CNNs",
}
NOTE_CATEGORY_COUNT = 7  # "...7个类别" (seven categories), the note's own total


def formatted(df: pd.DataFrame, *, percent: Iterable[str] = (), decimals: dict[str, int] | None = None,
              default_decimals: int = 2) -> Markdown:
    """A DataFrame as a Markdown table with the survey chapters' number formats: integers with
    thousands separators, ``percent`` columns as percentages (one decimal), other floats with
    ``decimals[col]`` (else ``default_decimals``) decimals, missing values as a dash."""
    percent, decimals = set(percent), decimals or {}
    out = df.copy()
    for col in out.columns:
        values = out[col]
        if col in percent:
            out[col] = values.map(lambda v: NO_VALUE if _missing(v) else f"{v:.1%}")
        elif pd.api.types.is_bool_dtype(values):
            out[col] = values.map(lambda v: "yes" if v else "no")
        elif pd.api.types.is_integer_dtype(values):
            out[col] = values.map(lambda v: f"{v:,}")
        elif pd.api.types.is_float_dtype(values):
            d = decimals.get(col, default_decimals)
            out[col] = values.map(lambda v, d=d: NO_VALUE if _missing(v) else f"{v:,.{d}f}")
        else:
            out[col] = values.map(_text)
    return Markdown(out.to_markdown(index=False, disable_numparse=True))


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _text(value) -> str:
    """A cell of a mixed column: yes/no for booleans, a dash for missing values."""
    if _missing(value):
        return NO_VALUE
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    return str(value).replace("|", "\\|")


def categories() -> pd.DataFrame:
    """Every category of the taxonomy, in its order: the note's name for it (the note lists six
    of its seven), the registered variants and families filed under it, and their papers' years."""
    rows = []
    for category in Category:
        names = list_models(category=category)
        cards = [model_info(n) for n in names]
        families = sorted({c.family for c in cards}, key=lambda f: min(
            (c.paper.year, c.name) for c in cards if c.family == f))
        years = sorted({c.paper.year for c in cards})
        rows.append({
            "category": category.value,
            "name in note 001": NOTE_CATEGORY_NAMES.get(category, "(not named)"),
            "variants": len(names), "families": len(families),
            "years": f"{years[0]}–{years[-1]}" if len(years) > 1 else (str(years[0]) if years else NO_VALUE),
            "families (first paper year)": ", ".join(families) or NO_VALUE,
        })
    return pd.DataFrame(rows)


def empty_categories() -> list[Category]:
    """Categories of the taxonomy that no registered model belongs to."""
    return [c for c in Category if not list_models(category=c)]


def zoo_size() -> tuple[int, int]:
    """(registered variants, distinct families)."""
    names = list_models()
    return len(names), len({model_info(n).family for n in names})


def first_per_category_family(names: Iterable[str] | None = None) -> list[str]:
    """The alphabetically first variant of every (category, family) pair: a sample that keeps
    every populated category (the ``attention`` family has variants in two categories)."""
    first: dict[tuple[Category, str], str] = {}
    for name in sorted(list_models() if names is None else names):
        card = model_info(name)
        first.setdefault((card.category, card.family), name)
    return sorted(first.values())


def sample(budget: str) -> list[str]:
    """The models whose cost a budget counts: one per category and family at ``smoke``
    (seconds), every registered variant otherwise (a couple of minutes of CPU)."""
    everything = list_models()
    return get_budget(budget).pick(smoke=first_per_category_family(everything), cpu=everything,
                                   gpu=everything)


def model_table(names: Sequence[str]) -> pd.DataFrame:
    """One row per model, ordered by category then year: family, paper year, depth (as the
    paper counts it), native input, parameters and MACs (meta device, native input)."""
    costs = model_cost_table(names).set_index("name")
    order = {c: i for i, c in enumerate(Category)}
    rows = []
    for name in names:
        card = model_info(name)
        rows.append({
            "category": card.category.value, "model": name, "family": card.family,
            "paper": card.paper.cite(), "year": card.paper.year,
            "depth": card.depth if card.depth is not None else np.nan,
            "input": "×".join(map(str, card.input_size)),
            "params": int(costs.loc[name, "params"]), "MACs": int(costs.loc[name, "macs"]),
            "_order": (order[card.category], card.paper.year, name),
        })
    df = pd.DataFrame(rows).sort_values("_order", ignore_index=True).drop(columns="_order")
    df["depth"] = df["depth"].astype("Int64")
    return df


def display_model_table(df: pd.DataFrame) -> Markdown:
    """:func:`model_table` with parameters in millions and MACs in 10⁹ (GMACs)."""
    out = df.assign(**{"params (M)": df["params"] / 1e6, "GMACs": df["MACs"] / 1e9})
    out = out.drop(columns=["params", "MACs"])
    out["depth"] = out["depth"].map(lambda d: NO_VALUE if pd.isna(d) else str(d))
    out["year"] = out["year"].astype(str)
    out["model"] = out["model"].map(lambda m: f"`{m}`")
    return formatted(out, decimals={"params (M)": 3, "GMACs": 4})


def macs_per_parameter(df: pd.DataFrame) -> pd.DataFrame:
    """MACs per parameter of each model of a :func:`model_table`, lowest first."""
    out = df[["model", "category", "params", "MACs"]].copy()
    out["MACs per parameter"] = out["MACs"] / out["params"]
    return out.sort_values("MACs per parameter", ignore_index=True)


def category_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per category of a :func:`model_table`: models counted and the range of parameters and MACs."""
    rows = []
    for category in Category:
        part = df[df["category"] == category.value]
        rows.append({
            "category": category.value, "models counted": len(part),
            "params, min (M)": part["params"].min() / 1e6 if len(part) else np.nan,
            "params, max (M)": part["params"].max() / 1e6 if len(part) else np.nan,
            "GMACs, min": part["MACs"].min() / 1e9 if len(part) else np.nan,
            "GMACs, max": part["MACs"].max() / 1e9 if len(part) else np.nan,
        })
    return pd.DataFrame(rows)


def plot_params_vs_macs(df: pd.DataFrame, *, caption: str):
    """Parameters against MACs per image (log-log) of a :func:`model_table`, one colour per
    category; a category without models is listed in the legend as such. The first variant of
    each family is labelled."""
    fig, ax = new_figure(width=8.6, height=5.6)
    colours = dict(zip(Category, ("tab:blue", "tab:orange", "tab:green", "tab:red",
                                  "tab:purple", "tab:brown", "tab:pink")))
    for category in Category:
        part = df[df["category"] == category.value]
        suffix = f" ({len(part)})" if len(part) else " (no model)"
        ax.scatter(part["params"] / 1e6, part["MACs"] / 1e9, s=28, alpha=0.8,
                   color=colours[category], label=category.value + suffix)
    for _, row in df.drop_duplicates("family").iterrows():
        ax.annotate(row["model"], (row["params"] / 1e6, row["MACs"] / 1e9), fontsize=6.5,
                    xytext=(3, 2), textcoords="offset points", color="0.25")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.legend(title="category (models)", fontsize=7.5, title_fontsize=8, loc="upper left")
    label(ax, title="Parameters and multiply-accumulates of the registered models",
          xlabel="parameters (millions, log scale)",
          ylabel="GMACs per image at native input (log scale; 1 MAC = 2 FLOPs)")
    return finish(fig, caption)
