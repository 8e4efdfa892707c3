"""Figure helpers shared by the instruments: one look, and a caption line on every figure.

Every figure in the book says which budget and device produced it (CONTRIBUTING.md). The
plotting functions of the instruments therefore take ``caption`` as a required keyword — the
string that :func:`cnnpapers.provenance.caption` or ``Result.caption`` returns — and
:func:`finish` prints it under the axes.
"""

from __future__ import annotations

from typing import Iterable

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .. import provenance

CAPTION_FONTSIZE = 7


def caption_for(budget: str, device: str = "cpu") -> str:
    """A caption for a figure measured now, on ``device``, under ``budget``."""
    return provenance.caption(provenance.collect(device, budget=budget))


def require_caption(caption: str) -> str:
    if not isinstance(caption, str) or not caption.strip():
        raise ValueError(
            "every figure needs a caption naming budget and device; pass "
            "caption=result.caption or caption=cnnpapers.analysis.plots.caption_for(budget, device)"
        )
    return caption


def new_figure(ncols: int = 1, *, width: float = 6.4, height: float = 4.0,
               squeeze: bool = True) -> tuple[Figure, Axes | list[Axes]]:
    """A figure with ``ncols`` axes side by side in the book's style."""
    sns.set_theme(context="notebook", style="whitegrid")
    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols if ncols > 1 else width, height),
                             squeeze=False)
    axes = list(axes[0])
    return fig, (axes[0] if squeeze and ncols == 1 else axes)


def label(ax: Axes, *, title: str, xlabel: str, ylabel: str) -> Axes:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def finish(fig: Figure, caption: str, *, suptitle: str | None = None) -> Figure:
    """Add the caption line (budget, device, commit, date) under the axes and tidy the layout."""
    require_caption(caption)
    if suptitle:
        fig.suptitle(suptitle)
    fig.text(0.01, 0.005, caption, fontsize=CAPTION_FONTSIZE, color="0.35",
             ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def figure_texts(fig: Figure) -> list[str]:
    """Every piece of text on ``fig`` (titles, labels, caption); for tests and checks."""
    texts: Iterable = fig.findobj(match=lambda artist: hasattr(artist, "get_text"))
    return [t.get_text() for t in texts if t.get_text()]
