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
# # The model zoo
#
# Every network the notes discuss is registered in `cnnpapers` under the name of one paper
# configuration (`cnnpapers.list_models()`), with a card that quotes what its paper prints. This
# page is generated from the registry: beside each quote stand our own counts, taken from the
# model as built (on PyTorch's `meta` device, so nothing is allocated), at the input size the card
# names.
#
# - **params** are all parameters, exactly. The quoted figure is in millions as the paper prints
#   it; *agree* means our count rounds to it at the paper's precision (the test each model family
#   pins in `tests/models/`).
# - **GMACs** are 10⁹ multiply-accumulates per image (1 MAC = 2 FLOPs) of convolutions and linear
#   layers, the convention of the papers and of torchvision (`cnnpapers.analysis.cost`). A quote
#   printed in FLOPs is halved before it is compared.
#
# The paper column links to the {doc}`bibliography <appendix_bibliography>`. Where each quoted
# number is printed (paper, table, row), why some do not match the architecture the paper
# describes, and where a variant departs from its paper is listed under [Sources, remarks and
# departures](#zoo-remarks) below.

# %% tags=["parameters", "hide-input"]
budget = "smoke"  # smoke | cpu | gpu | paper
dataset = "fashion-mnist"  # unused: counting needs no data
seed = 0
device = "auto"  # auto | cpu | cuda

# %% tags=["hide-input"]
from IPython.display import Markdown

import cnnpapers
from cnnpapers import bookpages
from cnnpapers.book import page_provenance

page_provenance(budget, device)

# %% [markdown]
# At the `smoke` budget the page counts one variant per family, to keep continuous integration
# fast; every other budget counts the whole zoo.

# %% tags=["hide-input"]
names = cnnpapers.get_budget(budget).pick(
    smoke=bookpages.one_per_family(), cpu=cnnpapers.list_models(), gpu=cnnpapers.list_models())
zoo = bookpages.model_zoo(names)
s = bookpages.zoo_summary(zoo)
Markdown(
    f"{s['variants']} variants of {s['families']} families are counted here. "
    f"{s['with_quoted_params']} cards quote a parameter count, and for {s['params_agree']} of "
    f"them our count rounds to the quoted figure; {s['with_quoted_macs']} quote a cost in "
    "multiply-adds or FLOPs."
)

# %% tags=["hide-input", "full-width"]
Markdown(bookpages.zoo_markdown(zoo))

# %% [markdown]
# (zoo-remarks)=
# ## Sources, remarks and departures
#
# For every variant with a quote: where the paper prints it. A *remark* says what is odd about a
# quoted number — a figure printed for a different configuration, or one the paper's own
# architecture does not reproduce (each such disagreement is pinned by a test in
# `tests/models/`). A *departure* says where a variant differs from its paper, usually to match
# torchvision's layout; the paper's own form is then registered beside it.

# %% tags=["hide-input"]
Markdown(bookpages.zoo_notes_markdown(zoo))
