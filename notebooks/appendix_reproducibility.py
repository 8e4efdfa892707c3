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
# # Reproducibility and provenance
#
# Every number in this book can be traced to the code, the budget and the machine that produced
# it, and rebuilt with one command.
#
# ## Budgets
#
# A chapter is a notebook whose `budget` parameter says how much compute it may spend. The same
# code runs under every budget; only the sizes change — how many training images, what share of
# the paper's epochs, how large a sweep. Schedules keep their shape: a learning-rate drop at half
# of the paper's epochs stays at half of however many epochs the budget allows. The budgets, as
# `cnnpapers/budgets.py` defines them:

# %% tags=["parameters", "hide-input"]
budget = "smoke"  # smoke | cpu | gpu | paper
dataset = "fashion-mnist"  # unused
seed = 0
device = "auto"  # auto | cpu | cuda

# %% tags=["hide-input"]
from IPython.display import Markdown, display

from cnnpapers import bookpages
from cnnpapers.book import page_provenance, table

page_provenance(budget, device)

# %% tags=["hide-input", "full-width"]
table(bookpages.budget_table())

# %% [markdown]
# ## Trained runs at this budget
#
# Every training run stored at this page's budget, with exactly what it trained and the test
# accuracy it reached. A run is *converged* when it reached the book's floor for its dataset
# (Fashion-MNIST: 90 %, 88 % for LeNet-5); only converged runs count as evidence for a claim, and
# a chapter whose runs did not converge says its trained claims are inconclusive at this budget.
# Wall time is the run's own, on the machine its provenance names.

# %% tags=["hide-input"]
runs = bookpages.trained_runs(budget)
if runs.empty:
    display(Markdown(f"No training run is stored at the `{budget}` budget"
                     + (" (it never stores results)." if budget == "smoke" else ".")))
else:
    display(table(bookpages.trained_runs_summary(runs), floatfmt=".2f"))
    display(table(runs, floatfmt=".2f"))

# %% [markdown]
# ## The results cache
#
# A long run — a training run, a sweep, a benchmark — is an *experiment*: a name such as
# `densenet_training/densenet_bc_100_k12` and a configuration (model, dataset, budget, seed,
# schedule, sizes) that is stored with it. `cnnpapers.results.cached` hashes the configuration
# (SHA-256 of its canonical JSON) and looks for `results/<budget>/<experiment>/<hash>.json`. If
# the file exists, the chapter reads it; if not, it runs the experiment and writes the file
# atomically (a temporary file, then a rename), so a killed run never leaves a half-written
# result. Changing anything in the configuration changes the hash, so a stale result is never
# reused by mistake; setting `CNNPAPERS_FORCE=1` reruns even when a result exists.
#
# Each file carries its **provenance**: the commit and whether the working tree had uncommitted
# changes (`+dirty`), the torch and torchvision versions, the device's name, the budget, the seed,
# the wall time and the configuration hash. Each page of the book opens with the same record for
# its own execution, and figures and tables repeat budget and device in their captions. Results of
# the `smoke` budget are never stored: it exists to exercise code, and CI must really run it.
#
# ## Rerunning
#
# One chapter at a budget (papermill sets the notebook's `budget` parameter), then the HTML; or
# every chapter at a budget and the HTML in one command. Both reuse every stored result whose
# configuration matches and compute the rest; `CNNPAPERS_FORCE=1` recomputes everything.
#
# ```bash
# .venv/bin/papermill notebooks/opening.ipynb book/opening.ipynb -k cnnpapers -p budget gpu
# make html
# make book BUDGET=gpu
# CNNPAPERS_FORCE=1 make book BUDGET=gpu
# ```
#
# What hardware each budget needs, and how a GPU machine precomputes the `gpu` results, is on
# {doc}`rerun`.
#
# ## Stored results
#
# What `results/` holds in this checkout, per budget and chapter (the first part of an experiment's
# name), then file by file. *Verified* means the file's name is the hash of the configuration it
# holds, so a chapter asking for that configuration reuses it.

# %% tags=["hide-input", "full-width"]
# the listing changes with every committed result, not with the code:
# NBVAL_IGNORE_OUTPUT
Markdown(bookpages.inventory_markdown(bookpages.results_inventory()))
