"""Small helpers for the chapters: the page's provenance line and Markdown tables.

Tables are emitted as Markdown (GitHub pipe tables) rather than HTML so that the stored notebook
holds plain text that ``pytest --nbval`` compares, and Jupyter Book renders them as tables.
"""

from __future__ import annotations

import pandas as pd
import torch
from IPython.display import Markdown

from . import provenance
from .budgets import get_budget


def resolve_device(device: str) -> str:
    """``"auto"`` → ``"cuda"`` when a GPU is present, else ``"cpu"``; other names are checked."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but no CUDA GPU is visible; use 'cpu' or 'auto'")
    torch.device(device)  # raises on malformed names
    return device


def page_provenance(budget: str, device: str) -> Markdown:
    """The line every page opens with: budget, device, commit, date."""
    b = get_budget(budget)
    prov = provenance.collect(resolve_device(device), budget=b.name)
    return Markdown(f"**Provenance** — {provenance.caption(prov)}  \n"
                    f"*Budget `{b.name}`: {b.description} ({b.hardware}).*")


def table(df: pd.DataFrame, floatfmt: str = ".4g", index: bool = False) -> Markdown:
    """A DataFrame as a Markdown pipe table."""
    return Markdown(df.to_markdown(index=index, floatfmt=floatfmt))
