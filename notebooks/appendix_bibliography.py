# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: cnnpapers (venv)
#     language: python
#     name: cnnpapers
# ---

# %% [markdown]
# # Bibliography
#
# The papers the notes discuss, generated from `cnnpapers/papers.py` — the one place a paper is
# typed in. Under each: the registered model variants whose cards quote it (see
# {doc}`appendix_models`) and the claims of the {doc}`ledger <appendix_claims>` whose source cites
# it, with the chapter that tests them.

# %% tags=["parameters", "hide-input"]
budget = "smoke"  # smoke | cpu | gpu | paper
dataset = "fashion-mnist"  # unused
seed = 0
device = "auto"  # auto | cpu | cuda

# %% tags=["hide-input"]
from IPython.display import Markdown

from cnnpapers import bookpages
from cnnpapers.book import page_provenance

page_provenance(budget, device)

# %% tags=["hide-input"]
bib = bookpages.bibliography()
Markdown(bookpages.bibliography_markdown(bib, bookpages.book_pages()))
