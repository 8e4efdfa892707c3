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
from cnnpapers.analysis.seedruns import curves_frame, plot_error_curves
from cnnpapers.book import page_provenance, table

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
# paper (Sec. II.B: the characters are centred in a 32×32 field), trains with our Fashion-MNIST schedule (`schedules.py`: SGD with
# Nesterov momentum, learning rate 0.1 divided by 10 at 50 % and 75 % of the budget's epochs,
# random shifts and flips) and stores the curves under `results/<budget>/opening/` with their
# provenance, so the book renders again without retraining.

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

# %% tags=["trained-numbers"]
finals = pd.DataFrame(
    [
        {
            "seed": str(r.config["seed"]),
            "final training error (%)": 100 * r.metrics["train_error"],
            "final test error (%)": 100 * r.metrics["test_error"],
            "best test error (%)": 100 * r.metrics["best_test_error"],
        }
        for r in runs
    ]
)
table(finals, floatfmt=".2f")

# %%
plot_error_curves(curves_frame({"lenet5": runs}), [("LeNet-5", ["lenet5"])],
                  caption=runs[0].caption,
                  title="LeNet-5 on Fashion-MNIST: training (solid) and test (dashed) error")
plt.show()

# %% tags=["trained-numbers"]
test = finals["final test error (%)"]
spread = (f"; over {len(runs)} seeds they range from {test.min():.2f} % to {test.max():.2f} %, "
          "a spread later chapters must exceed before calling one net better"
          if len(runs) > 1 else "")
Markdown(
    f"LeNet-5 ends at a test error of **{test.mean():.2f} %** (mean){spread}. At the `{budget}` "
    f"budget that is {first['epochs']} epoch(s) on {first['train_images']:,} images, not the "
    "schedule's 40 epochs on all 60,000: a measurement of this run, not of LeNet-5's best."
)
