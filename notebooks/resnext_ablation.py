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
# # Cardinality against width: Table 3 and Fig. 5
#
# Note 000 quotes the claim on which ResNeXt rests (基数, cardinality): *"Our method indicates
# that cardinality (the size of the set of transformations) is a concrete, measurable dimension
# that is of central importance, in addition to the dimensions of width and depth. Experiments
# demonstrate that increasing cardinality is a more effective way of gaining accuracy than going
# deeper or wider, especially when depth and width starts to give diminishing returns for
# existing models."* Its evidence is Table 3 of Xie et al. (2017), which the note copies: at the
# complexity of ResNet-50 (and of ResNet-101), trading bottleneck width d for cardinality C —
# 1×64d, 2×40d, 4×24d, 8×14d, 32×4d — lowers the ImageNet top-1 error step by step; and Fig. 5,
# whose caption the note keeps: training curves of ResNet and ResNeXt *"with preserved complexity
# (∼4.1 billion FLOPs, ∼25 million parameters)"*.
#
# This page first checks that the ten networks of Table 3 really have the same cost, then asks
# the accuracy question of networks small enough to train here: CIFAR-style ResNeXt-29s at equal
# parameter counts, on Fashion-MNIST, with several seeds to see the noise. The blocks themselves
# (group convolution, Fig. 1, Fig. 3, Table 1) are the subject of {doc}`resnext_blocks`.

# %% tags=["parameters"]
budget = "smoke"  # smoke | cpu | gpu | paper
dataset = "fashion-mnist"  # the runs are declared on Fashion-MNIST (cnnpapers.experiments.resnext_ablation)
seed = 0  # unused: each budget's plan lists the seeds it trains
device = "auto"  # auto | cpu | cuda
force = False  # retrain even if stored results exist

# %%
import math

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from cnnpapers import claims, experiments, model_info
from cnnpapers.book import page_provenance, resolve_device
from cnnpapers.chapters import resnext_ablation as ra
from cnnpapers.chapters.resnext_blocks import markdown_table

run_device = resolve_device(device)
page_provenance(budget, device)

# %% [markdown]
# ## Table 3 at ImageNet size: is the complexity preserved?
#
# Every setting of Table 3 is a registered network (`resnext50_2x40d`, ...; C = 1 with d = 64 is
# ResNet). Their parameters and multiply-accumulates (MACs, which the paper calls FLOPs) at
# 224×224, counted on PyTorch's `meta` device, beside the top-1 error the paper prints — quoted,
# not measured: ImageNet is not available to this book. The column *d from the block formula*
# solves Sec. 3.4's per-block count C·(256·d + 3·3·d·d + d·256) ≈ 70k for d, which is how the
# paper chose its widths.

# %%
table3 = ra.table3_complexity()
markdown_table(table3, percent=["params vs ResNet", "MACs vs ResNet"],
               decimals={"top-1 error % (paper, quoted)": 1})

# %%
worst = table3.loc[table3["MACs vs ResNet"].abs().idxmax()]
Markdown(
    f"Parameters stay within {table3['params vs ResNet'].abs().max():.1%} of the ResNet's. The "
    f"multiply-accumulates drift more — up to {worst['MACs vs ResNet']:+.1%} for "
    f"{worst['net']} {worst['setting']} — because the widths were chosen to match parameters "
    "(Sec. 3.4 counts the weights of one block), while MACs weigh every layer by the size of "
    "the feature map it runs on, which parameters ignore. Both stay within what the caption of "
    "Fig. 5 calls *preserved complexity*:"
)

# %%
claims.report(["resnext.table3.complexity50", "resnext.table3.complexity101",
               "resnext.table3.top1"], budget, run_device)

# %% [markdown]
# ## The ablation at our scale
#
# The scaled-down networks follow the CIFAR template of Sec. 5.3 — a 3×3 stem, three stages of
# three bottleneck blocks (ResNeXt-29), global pooling — narrowed by its base width b: the blocks
# output 4b, 8b and 16b channels, and the grouped 3×3 layer of stage i is C·d·2ⁱ wide. The
# reference is C = 1 with d = b, a bottleneck as wide as its block's planes, which is exactly how
# ResNet-50's 1×64d relates to its 64-plane first stage. For every other cardinality the library
# solves for the integer d whose whole network has the parameter count closest to the
# reference's (`equal_cost_width`), as the paper's Table 2 does per block; settings that cannot
# get as close as Table 3's own nets do (parameters within 3 %, MACs within 5 %, both measured
# above) are listed but not trained. At this budget:

# %%
plan = ra.ablation_plan(budget)
settings = plan.settings()
markdown_table(settings, percent=["params vs C = 1", "MACs vs C = 1"])

# %%
todo = experiments.experiments(budget, "resnext_ablation")
runs = [(e, experiments.run(e, device=device, force=force)) for e in todo]
frame = ra.ablation_frame(runs)
first = runs[0][1].metrics
Markdown(
    f"**What is trained at budget `{budget}`.** ResNeXt-29 with base width "
    f"{plan.template.base_channels} ({settings['params'][0]:,} parameters at C = 1; the paper's "
    f"CIFAR nets have base 64 and {model_info('resnext29_8x64d_cifar').reported.params}M "
    f"parameters at 8×64d), {len(plan.trained())} settings × {len(plan.seeds)} seeds = "
    f"{len(runs)} runs, each {first['epochs']} epoch(s) of {first['train_images']:,} training "
    f"images, tested on {first['test_images']:,} images after every epoch; input "
    f"{'×'.join(map(str, first['input_size']))}, batch {first['batch_size']}, the book's "
    f"`{first['schedule']}` schedule (SGD with Nesterov momentum, learning rate divided by 10 at "
    "50 % and 75 % of training) and its flip-and-shift augmentation. Every run of a seed sees "
    "the same images in the same order."
)

# %% tags=["trained-numbers"]
summary = ra.summarise(frame)
markdown_table(summary.rename(columns={
    "test_error": "test error (mean)", "test_error_sd": "sd over seeds",
    "test_error_min": "min", "test_error_max": "max", "train_error": "training error (mean)"}),
    default_decimals=4)

# %%
ra.plot_ablation(frame, ra.quoted_table3(), caption=runs[0][1].caption)
plt.show()

# %% tags=["trained-numbers"]
cmp = ra.compare_endpoints(frame, "test_error")
Markdown(
    f"**Measured:** {cmp.describe()}. Errors are fractions of the test images misclassified "
    f"after the last epoch. Over all {len(summary)} settings, the rank correlation of mean error "
    f"with cardinality is "
    + ("undefined (two settings)" if math.isnan(cmp.trend) else f"{cmp.trend:+.2f}")
    + " (−1: every step up in cardinality lowers the error). The seed-to-seed spread is the "
    "noise floor: a difference between settings smaller than about twice its standard error "
    "cannot be told apart from a change of seed."
)

# %% tags=["trained-numbers"]
claims.report(["resnext.ablation.cardinality"], budget, run_device)

# %% [markdown]
# Equal parameters and MACs need not mean equal time: a grouped convolution with few channels per
# group does little arithmetic per memory access (see {doc}`performance`). The training engine
# measured the speed of every run while it trained:

# %%
# NBVAL_IGNORE_OUTPUT
speed = frame.groupby("setting", sort=False)[["images_per_s", "wall_time_s"]].mean().reset_index()
display(markdown_table(speed.rename(columns={"images_per_s": "training images/s (mean over seeds)",
                                             "wall_time_s": "wall time per run, s"}),
                       default_decimals=1))
rate = speed.set_index("setting")["images_per_s"]
Markdown(f"{rate.index[-1]} trains at {rate.iloc[-1] / rate.iloc[0]:.2f}× the speed of "
         f"{rate.index[0]} per image on {runs[0][1].provenance.get('device_name', run_device)}; "
         f"the {len(runs)} runs took {frame['wall_time_s'].sum() / 60:.1f} min in all.")

# %% [markdown]
# ## Training curves at equal complexity: Fig. 5
#
# Fig. 5 plots the training error and validation error of ResNet-50 and ResNeXt-50 (32×4d)
# through their ImageNet training, ResNeXt below ResNet on both. Ours are the same runs as above: the C = 1
# network against the one with the most paths, every epoch's training error (measured while
# training, with augmentation) and test error, averaged over the seeds.

# %%
lowest, highest = frame["cardinality"].min(), frame["cardinality"].max()
by_setting = {c: [result.curves for e, result in runs if e.config.model_kwargs["cardinality"] == c]
              for c in (lowest, highest)}
names = dict(zip(frame["cardinality"], frame["setting"]))
ra.plot_training_curves({f"ResNet ({names[lowest]})": by_setting[lowest],
                         f"ResNeXt ({names[highest]})": by_setting[highest]},
                        caption=runs[0][1].caption)
plt.show()

# %% tags=["trained-numbers"]
claims.report(["resnext.fig5.curves"], budget, run_device)
