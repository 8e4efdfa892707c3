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
# # The claims ledger
#
# Every claim of the notes that can be tested — a parameter count, a FLOP saving, an ordering of
# error rates, how memory grows, a speed guideline — is registered once in `cnnpapers.claims`
# with where it comes from, the number as quoted, and a check that measures our number with the
# library. Each chapter shows its claims next to the figure or table that supports them; this page
# lists them all.
#
# The ledger runs nothing: trained claims read the results their chapter stored at this page's
# budget (see {doc}`appendix_reproducibility`), counted claims are counted now. A claim whose
# chapter has not run at this budget says so. The verdicts:
#
# - **reproduced** — our number agrees with the quote (at its rounding, or within the stated
#   tolerance); **partly reproduced** — the direction holds, the size does not;
#   **not reproduced** — it does not hold here (for a trained claim: the opposite of the claim,
#   beyond two standard errors over seeds);
# - **inconclusive at this budget** — a trained claim whose gap is within two standard errors,
#   or whose runs did not reach their accuracy floor; the detail says what would decide it;
# - **needs CIFAR/SVHN/ImageNet** or **needs a GPU** — this budget or dataset cannot test it;
# - **not run at this budget** — the chapter's experiment has no stored result at this budget.

# %% tags=["parameters", "hide-input"]
budget = "smoke"  # smoke | cpu | gpu | paper
dataset = "fashion-mnist"  # unused: the ledger reads what the chapters stored
seed = 0
device = "auto"  # auto | cpu | cuda

# %% tags=["hide-input"]
from IPython.display import Markdown

from cnnpapers import bookpages
from cnnpapers.book import page_provenance, resolve_device, table

page_provenance(budget, device)

# %% [markdown]
# ## Verdicts by chapter

# %% tags=["hide-input", "full-width"]
ledger = bookpages.claims_ledger(budget, resolve_device(device))
table(bookpages.verdict_counts(ledger))

# %% [markdown]
# ## Every claim
#
# Each claim, with the chapter page that shows it. *Budget · device* names what produced our
# number: a counted claim needs no device, a trained one used its chapter's stored results.

# %% tags=["hide-input", "full-width"]
Markdown(bookpages.ledger_markdown(ledger, bookpages.book_pages()))
