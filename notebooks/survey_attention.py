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
# # Attention: squeeze-and-excitation and CBAM
#
# The survey (note 001; {doc}`survey_taxonomy`) ends its taxonomy with *Feature-map
# (channel) exploitation based CNNs* and *Attention based CNNs*, and says nothing more about
# them: the note names the families but discusses no network of either. Their best-known members
# are the two blocks the registry files there, both of which re-weight the output `U = F(x)` of a
# residual branch before it is added to the shortcut:
#
# * **Squeeze-and-excitation** (SE; Hu et al. 2018): squeeze each channel of `U` to its mean
#   `z_c` (Eq. 2), excite through a bottleneck `s = σ(W₂ ReLU(W₁ z))` with reduction ratio
#   r = 16 (Eq. 3), and scale each channel by `s_c` (Eq. 4).
# * **CBAM** (Woo et al. 2018): a channel map from one MLP applied to both the average- and the
#   max-pooled descriptor (Eq. 2), then a spatial map from a 7×7 convolution over the per-pixel
#   channel average and maximum (Eq. 3), applied in that order.
#
# Both papers make the same two claims: the blocks cost almost nothing, and they lower the error
# of the network they are added to. This chapter counts the first and tests the second at the
# budget, against the same ResNet without attention.

# %% tags=["parameters"]
budget = "smoke"  # smoke | cpu | gpu | paper
dataset = "fashion-mnist"  # the runs are declared for Fashion-MNIST
seed = 0  # the timed nets' weights; the runs' seeds are in the budget's plan
device = "auto"  # auto | cpu | cuda

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown

import cnnpapers
from cnnpapers import claims
from cnnpapers.analysis.seedruns import curves_frame, plot_error_curves
from cnnpapers.book import page_provenance, resolve_device
from cnnpapers.chapters import survey_attention as sa
from cnnpapers.chapters.survey_taxonomy import formatted
from cnnpapers.experiments.survey_attention import BASELINE

where = resolve_device(device)
page_provenance(budget, device)

# %% [markdown]
# ## The blocks in a ResNet-20 branch
#
# The library's blocks plug into every residual block through its `attention` argument (see the
# residual block in {doc}`survey_depth`). The first residual block of each CIFAR-size net:

# %%
for name in ("se_resnet20_cifar", "cbam_resnet20_cifar"):
    print(name, "layer1[0].attention =", cnnpapers.create_model(name).layer1[0].attention, "\n")

# %% [markdown]
# With 16 channels and r = 16, the SE bottleneck of the first stage has a single hidden unit.
#
# ## What they cost
#
# On ImageNet, on the paper's ResNet-50 (down-sampling blocks stride in their first 1×1
# convolution, the net both papers count). Multiply-accumulates (MACs) are those of
# convolutions and fully connected layers, the convention of the papers' "FLOPs"; the blocks'
# pooling and scaling are counted separately, one operation per element and pass:

# %%
imagenet = sa.cost_table(sa.IMAGENET_PAIRS)
formatted(imagenet, decimals={"added parameters (%)": 2, "MMACs (conv + fc)": 1,
                              "added MMACs": 2, "added MACs (%)": 3, "pooling/scaling ops (M)": 1})

# %%
formatted(sa.quoted_costs())

# %%
claims.report(["se.params_added", "se.flops", "cbam.cost"], budget, where)

# %%
se, cbam = imagenet.set_index("net").loc["se_resnet50"], imagenet.set_index("net").loc["cbam_resnet50"]
Markdown(
    f"Almost all of SE's {se['added parameters']:,} parameters sit in the fully connected layers "
    f"of the last stage's 2048-channel blocks, yet they add only {se['added MACs (%)']:.3f} % "
    f"to the multiply-adds: an fc layer on a pooled vector costs one MAC per weight, once per "
    f"image. CBAM adds {cbam['added MACs (%)']:.3f} % (its 7×7 convolution runs at every pixel). "
    "The two papers count differently: Hu et al.'s 3.87 GFLOPs includes the squeeze and the "
    "scale, Woo et al.'s 3.864 for CBAM includes neither its pooling nor its scaling."
)

# %% [markdown]
# At the size we train, ResNet-20 on 1×28×28 Fashion-MNIST images (and, for reference, on
# 3×32×32 CIFAR images):

# %%
cifar = sa.cost_table(sa.CIFAR_PAIRS, (1, 28, 28), num_classes=10)
formatted(pd.concat([sa.cost_table(sa.CIFAR_PAIRS), cifar], ignore_index=True),
          decimals={"added parameters (%)": 2, "MMACs (conv + fc)": 2, "added MMACs": 3,
                    "added MACs (%)": 3, "pooling/scaling ops (M)": 3})

# %% [markdown]
# ## Trained against the same ResNet
#
# `resnet20_cifar`, `se_resnet20_cifar` and `cbam_resnet20_cifar` trained on Fashion-MNIST with
# the ResNet paper's CIFAR schedule (SGD, momentum 0.9, weight decay 1e-4, batch 128, learning
# rate 0.1 divided by 10 at 50 % and 75 %, shift-and-flip augmentation), shortened to the budget,
# one run per seed; each seed gives the three nets the same data order and augmentation draws.

# %%
runs = sa.collect(budget, device=device)
plan = runs[BASELINE][0].metrics
Markdown(f"Each run: {plan['train_images']:,} training images, {plan['epochs']} epoch(s) = "
         f"{plan['epochs'] * (plan['train_images'] // plan['batch_size']):,} optimiser steps, "
         f"tested on {plan['test_images']:,} images; seeds "
         f"{', '.join(str(r.config['seed']) for r in runs[BASELINE])}.")

# %%
plot_error_curves(curves_frame(runs), [("ResNet-20 with and without attention", list(runs))],
                  caption=runs[BASELINE][0].caption,
                  title="Fashion-MNIST: training error (solid) and test error (dashed)")
plt.show()

# %% tags=["trained-numbers"]
formatted(sa.seed_table(runs), decimals={"gain over baseline (points)": 2, "margin (points)": 2})

# %% tags=["trained-numbers"]
noise = sa.seed_noise(runs)
top1_base, top1_se, top1_gain = sa.quoted_top1_gain()
margin = sa.improvement(runs, "se_resnet20_cifar")
Markdown(
    ("With one seed per net the run-to-run noise is not measured. " if noise is None else
     f"The final test error of one net varies by {noise * 100:.2f} points between seeds (pooled "
     f"standard deviation; with {len(runs[BASELINE])} seeds a rough estimate). ")
    + f"A gain counts only beyond its margin — here {margin.margin * 100:.2f} points for SE: two "
      "standard errors combining the seed spread and the sampling error of an error rate on "
      f"{plan['test_images']:,} test images, and never below {sa.MIN_GAP * 100:.0f} point. "
    + f"The papers' gains were measured on ImageNet: {top1_base:.2f} % → {top1_se:.2f} % top-1 "
      f"error for ResNet-50 → SE-ResNet-50, {top1_gain:.2f} points (Hu et al. Table 2, quoted). "
      "On a 10-class task of small grey images with a shortened schedule the gain may well be "
      "smaller than that margin."
)

# %% tags=["trained-numbers"]
claims.report(["se.improves", "cbam.improves"], budget, where)

# %% [markdown]
# ## Multiply-adds against time
#
# Does the time follow the multiply-adds? One training step of each net (forward, loss,
# backward, SGD) on the same batch, the three taking turns round by round in one process so that
# they share whatever else the machine is doing; medians, relative to the plain ResNet-20.
# (The speeds the training runs logged are not comparable: those runs did not share a machine
# state.)

# %%
# NBVAL_IGNORE_OUTPUT
speed = sa.speed_table(budget, where, seed)
formatted(speed, decimals={"training images/s": 1, "time per image vs baseline": 2,
                           "MACs vs baseline": 3})

# %%
# NBVAL_IGNORE_OUTPUT
row = speed.set_index("model").loc["cbam_resnet20_cifar"]
Markdown(f"CBAM adds {(row['MACs vs baseline'] - 1):.1%} to ResNet-20's multiply-adds and "
         f"{(row['time per image vs baseline'] - 1):+.0%} to its training time per image here: "
         "pooling across channels and space, and the element-wise scaling, are memory-bound "
         "operations that a count of multiply-adds does not see (the point of ShuffleNet v2's "
         "guidelines, {doc}`survey_width`).")
