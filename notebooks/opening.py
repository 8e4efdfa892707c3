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
# # Fashion-MNIST and LeNet-5: the pipeline end to end
#
# Before the papers, the machinery. This chapter loads the book's default dataset, shows it, and
# trains the oldest network in the notes — LeNet-5 (LeCun et al., 1998), the first entry of the
# survey's *spatial exploitation* family — through the same engine, budgets and results cache that
# every later chapter uses.
#
# The papers in the notes train on CIFAR, SVHN and ImageNet, none of which can be downloaded where
# this book is built. Fashion-MNIST (Xiao et al., 2017) is installed from Debian's
# `dataset-fashion-mnist` package and parsed by `cnnpapers.data` straight from its IDX files: 60,000
# training and 10,000 test images of clothing, 28×28 grey levels, ten classes. It is a drop-in
# replacement for MNIST that is hard enough for architecture differences to show.

# %% tags=["parameters"]
budget = "smoke"  # smoke | cpu | gpu | paper
dataset = "fashion-mnist"
seed = 0
device = "auto"  # auto | cpu | cuda

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch

from IPython.display import Markdown

from cnnpapers import data, experiments
from cnnpapers.analysis.seedruns import (curves_frame, final_accuracies, mean_and_standard_error,
                                         plot_error_curves, published_table)
from cnnpapers.book import page_provenance, table
from cnnpapers.experiments.opening import MODEL
from cnnpapers.schedules import get_schedule

page_provenance(budget, device)

# %% [markdown]
# ## The data

# %%
train_set = data.load_dataset(dataset, "train")
test_set = data.load_dataset(dataset, "test")
summary = pd.DataFrame(
    [
        {
            "split": ds.split,
            "images": len(ds),
            "shape (C, H, W)": str(ds.shape),
            "classes": ds.num_classes,
            "mean (measured)": ds.images.float().mean().item() / 255,
            "std (measured)": ds.images.float().std().item() / 255,
            "images per class": f"{ds.labels.bincount().min().item()}–{ds.labels.bincount().max().item()}",
        }
        for ds in (train_set, test_set)
    ]
)
table(summary, floatfmt=".4f")

# %% [markdown]
# The classes are exactly balanced in both splits. The normalisation constants the library uses
# (`mean=0.2860, std=0.3530`) are the training split's measured statistics above, rounded.

# %%
def show_grid(ds, per_class: int = 8):
    """The first ``per_class`` test images of every class, one row per class."""
    fig, axes = plt.subplots(ds.num_classes, per_class, figsize=(per_class * 0.9, ds.num_classes * 0.95))
    for c, row in enumerate(axes):
        images = ds.images[ds.labels == c][:per_class]
        for ax, img in zip(row, images):
            ax.imshow(img[0], cmap="gray_r", vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(ds.classes[c], rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(f"Fashion-MNIST {ds.split} split: {per_class} images per class (28×28 px)")
    fig.tight_layout()
    return fig


show_grid(test_set)
plt.show()

# %% [markdown]
# ## LeNet-5 through the engine
#
# `cnnpapers.experiments` declares every training run of the book by budget; this chapter's are
# LeNet-5 with one run per seed. The engine zero-pads the 28×28 images to the 32×32 input of the
# paper (Sec. II.B: the characters are centred in a 32×32 field) and stores each run's curves
# under `results/<budget>/opening/` with their provenance, so the book renders again without
# retraining. The recipe is the book's short one, not LeCun et al.'s.

# %%
runs = [experiments.run(e, device=device) for e in experiments.experiments(budget, "opening")]
first = runs[0].metrics
Markdown(
    f"Each run: {first['train_images']:,} training and {first['test_images']:,} test images, "
    f"{first['epochs']} epoch(s) of batch {first['batch_size']} "
    f"({first['epochs'] * (first['train_images'] // first['batch_size']):,} optimiser steps), "
    f"input {' × '.join(map(str, first['input_size']))}, {first['parameters']:,} parameters, "
    f"on {first['device']}."
)

# %% tags=["remove-input"]
recipe = get_schedule(first["schedule"])
augmentation = ("without the recipe's shifts and flips (a net this small underfits with them)"
                if first["augmentation"] == "none" else f"with {first['augmentation']} augmentation")
Markdown(f"**Recipe.** {recipe.describe()}; here {augmentation}.  \n*Where it departs from the "
         f"papers:* {recipe.source.split(': ', 1)[1]}.")

# %% tags=["trained-numbers"]
finals = final_accuracies(runs)
table(finals.assign(converged=finals["converged"].map({True: "✓", False: "✗"})),
      floatfmt=".2f")

# %%
plot_error_curves(curves_frame({"LeNet-5": runs}), [("LeNet-5", ["LeNet-5"])],
                  caption=runs[0].caption,
                  title="LeNet-5 on Fashion-MNIST: training (solid) and test (dashed) error")
plt.show()

# %% [markdown]
# What networks of LeNet-5's kind are known to reach on Fashion-MNIST — quoted, not measured
# here (the dataset's benchmark table; other recipes, other preprocessing):

# %%
table(published_table(MODEL), floatfmt=".1f")

# %% tags=["trained-numbers"]
mean, se = mean_and_standard_error(finals["final test accuracy (%)"])
spread = (f" ± {se:.2f} (standard error over {len(runs)} seeds; they range from "
          f"{finals['final test accuracy (%)'].min():.2f} % to "
          f"{finals['final test accuracy (%)'].max():.2f} %, the run-to-run noise later chapters "
          "must exceed before calling one net better)" if se is not None else "")
reached = finals["converged"].all()
verdict = ("Every run reached the book's floor for LeNet-5, so these runs count as evidence."
           if reached else
           "Not every run reached the book's floor for LeNet-5: these numbers show the pipeline "
           "running, not what LeNet-5 can do" + (" (the `smoke` budget trains a few steps)."
                                                  if budget == "smoke" else "."))
Markdown(f"LeNet-5 ends at a test accuracy of **{mean:.2f} %**{spread}. {verdict}")
