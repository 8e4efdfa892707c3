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
# # The survey's taxonomy, filled from the model zoo
#
# The survey note (note 001) opens with a figure from Khan et al. (2020) and one sentence
# (translated): *"The figure above divides the main algorithms into Spatial Exploitation based
# CNNs, Depth based CNNs, Multi-Path based CNNs, Width based Multi-Connection CNNs, Feature Map
# (Channel_FMap) Exploitation based CNNs, Attention based CNNs — 7 categories."* The sentence
# names six categories and counts seven; the survey's seventh is *channel boosting*.
#
# This page files every network the library registers under the survey's categories — the
# `category` on each model card (`cnnpapers.registry.Category`) — and counts each one's
# parameters and multiply-accumulates (MACs; 1 MAC = 2 FLOPs) at its native input, on PyTorch's
# `meta` device so that even the largest model costs no memory. The chapters that follow walk
# through the categories in the note's order: {doc}`survey_spatial`, {doc}`survey_depth`,
# {doc}`survey_width` and {doc}`survey_attention`.

# %% tags=["parameters"]
budget = "smoke"  # smoke | cpu | gpu | paper
dataset = "fashion-mnist"  # unused: counting needs no data
seed = 0  # unused: nothing here is random
device = "auto"  # auto | cpu | cuda (counting runs on the meta device)

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown

from cnnpapers import claims, list_models
from cnnpapers.analysis import caption_for
from cnnpapers.book import page_provenance, resolve_device
from cnnpapers.chapters import survey_taxonomy as tax

page_provenance(budget, device)

# %% [markdown]
# ## The seven categories
#
# Every registered variant, by category. A *variant* is one configuration of a paper (ResNet-50
# and ResNet-101 are two variants of the family `resnet`); the families are listed in the order
# of their papers.

# %%
overview = tax.categories()
tax.formatted(overview)

# %%
empty = tax.empty_categories()
variants, families = tax.zoo_size()
Markdown(
    f"The library registers {variants} variants of {families} families. "
    f"{len(overview) - len(empty)} of the {len(overview)} categories hold networks from the "
    f"notes; {', '.join(f'*{c.value}*' for c in empty) or 'none'} holds none: it is the category "
    "the note counts but does not name. Two families span two categories: `inception` "
    "(Inception-v3 under spatial exploitation; Inception-v4 and Inception-ResNet, which the note "
    "mentions in its Inception-v3 section, under depth, as in the survey) and `attention` "
    "(squeeze-and-excitation under feature-map exploitation, CBAM under attention)."
)

# %%
claims.report(["survey_taxonomy.seven_categories"], budget, resolve_device(device))

# %% [markdown]
# ## Every model with its cost
#
# Year and depth are the card's: the year of the paper, and the number of weighted layers as the
# paper counts them (blank where the paper gives no single figure). Inputs are each paper's own
# (CIFAR networks 32×32, ImageNet networks 224×224 or 299×299), so the MACs of a CIFAR network
# and an ImageNet network are not comparable as costs of the same task.

# %%
names = tax.sample(budget)
models = tax.model_table(names)
Markdown(
    f"Counted here: {len(models)} models"
    + (" — one per family, since the `smoke` budget counts a sample; every other budget counts "
       "all of them." if len(models) < len(list_models()) else ", every registered variant.")
)

# %%
tax.display_model_table(models)

# %%
tax.formatted(tax.category_summary(models), decimals={"params, min (M)": 3, "params, max (M)": 3,
                                                      "GMACs, min": 4, "GMACs, max": 4})

# %%
tax.plot_params_vs_macs(models, caption=caption_for(budget, "cpu") + " · counted on the meta device")
plt.show()

# %%
lightest, heaviest = models.loc[models["MACs"].idxmin()], models.loc[models["MACs"].idxmax()]
largest = models.loc[models["params"].idxmax()]
density = tax.macs_per_parameter(models)
low, high = density.iloc[0], density.iloc[-1]
Markdown(
    f"The counted models span {models['params'].max() / models['params'].min():,.0f}× in "
    f"parameters and {models['MACs'].max() / models['MACs'].min():,.0f}× in MACs: from "
    f"`{lightest['model']}` ({lightest['MACs'] / 1e6:,.2f} million MACs) to `{heaviest['model']}` "
    f"({heaviest['MACs'] / 1e9:,.1f} GMACs); the most parameters belong to `{largest['model']}` "
    f"({largest['params'] / 1e6:,.1f} M). The two measures are far from proportional: MACs per "
    f"parameter range from {low['MACs per parameter']:,.1f} (`{low['model']}`) to "
    f"{high['MACs per parameter']:,.0f} (`{high['model']}`). A weight in a fully connected layer "
    "is used once per image, a weight of a convolution once per output position — which is why "
    "the next chapter, {doc}`survey_spatial`, finds most of AlexNet's parameters in its FC layers "
    "and most of its MACs in its convolutions."
)
