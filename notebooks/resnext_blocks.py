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
# # Group convolution and the ResNeXt block
#
# The second half of note 000 reads ResNeXt (Xie, Girshick, Dollár, Tu and He, 2017). Its summary,
# translated: *"Traditionally one raises accuracy by making a network deeper or wider, but as the
# hyper-parameters multiply (numbers of channels, filter sizes, ...) the design gets harder and
# the computation more expensive. The ResNeXt structure proposed here raises accuracy without
# increasing the parameter complexity, and reduces the number of hyper-parameters too."*
#
# The tool is the **group convolution**, and the note spends most of its ResNeXt pages on it: what
# it costs, what it connects, what it gives and what it takes away. Then the ResNeXt block itself:
# a ResNet bottleneck split into C parallel paths — C, the *cardinality*, being the new dimension
# beside depth and width (Fig. 1) — which can be written in three equivalent ways (Fig. 3), and
# the 50-layer network built from it (Table 1). This page checks each of those statements with the
# library's models; {doc}`resnext_ablation` trains networks to test the accuracy claims.

# %% tags=["parameters"]
budget = "smoke"  # smoke | cpu | gpu | paper (only the Fig. 3 timing depends on it)
dataset = "fashion-mnist"  # unused: nothing is trained on this page
seed = 0  # random weights of the blocks compared
device = "auto"  # auto | cpu | cuda: where the Fig. 3 timing runs
force = False  # re-measure the Fig. 3 timing even if a stored result exists

# %%
from fractions import Fraction

import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import Markdown, display

import cnnpapers
from cnnpapers import claims
from cnnpapers.analysis import caption_for, plot_throughput
from cnnpapers.book import page_provenance, resolve_device
from cnnpapers.chapters import resnext_blocks as rb

run_device = resolve_device(device)
page_provenance(budget, device)

# %% [markdown]
# ## Group convolution
#
# *"First seen in AlexNet, which could not run on one GPU"* (note 000, Group Convolution): the
# two-GPU AlexNet split its layers into two halves that saw only their own GPU's maps. The note
# defines it (分组卷积): *"the previous layer outputs N feature maps (channels = N); the
# convolution has M groups; each group takes N/M channels and is connected to them alone; after
# each group's convolution the outputs are stacked (concatenated) as this layer's output
# channels."*
#
# ### What it costs
#
# The note counts a plain convolution of an H×W input with c2 filters of h1×w1×c1 (stride 1, no
# padding) as (H−h1+1)·(W−w1+1)·h1·w1·c1·c2 operations (传统的卷积运算), and asks what the grouped
# one costs (Group卷积的运算量). Each filter now spans N/M = c1/M input maps instead of c1, so
# operations and weights are both divided by M. Below, the formula against PyTorch's FLOP counter
# and the weight tensor of the same `nn.Conv2d`, for a 3×3 convolution from 128 to 128 maps on a
# 56×56 input — the grouped layer of ResNeXt-50's first stage — as M grows to 128 (one map per
# group: a depthwise convolution). Operations are multiply-accumulates (MACs).

# %%
cost = rb.group_conv_cost_table()
rb.markdown_table(cost)

# %%
claims.report(["resnext.groupconv.cost"], budget, run_device)

# %% [markdown]
# ### What it connects
#
# Written as one ungrouped convolution, a grouped one has a block-diagonal kernel: the note's
# *"Kernel对角化"* (kernel diagonalisation). The heatmaps show, for every output map, how
# strongly it is connected to every input map (mean |weight| over the 3×3 kernel) in two real
# layers, freshly initialised: the 3×3 convolution of ResNet-50's first block (dense, 64 → 64) and
# of ResNeXt-50 (32×4d)'s (128 → 128, 32 groups), whose first 16 channels are enlarged on the
# right.

# %%
torch.manual_seed(seed)
resnet_conv = cnnpapers.create_model("resnet50").layer1[0].conv2
resnext_conv = cnnpapers.create_model("resnext50_32x4d").layer1[0].conv2
resnext_map = rb.connectivity(resnext_conv)
rb.plot_connectivity({
    "ResNet-50 layer1.0.conv2 (dense)": rb.connectivity(resnet_conv),
    "ResNeXt-50 layer1.0.conv2 (C = 32)": resnext_map,
    "the same, channels 0–15": resnext_map[:16, :16],
}, caption=caption_for(budget, run_device))
plt.show()

# %%
seen = rb.inputs_per_output(resnext_conv).unique().tolist()
Markdown(
    f"Each output map of the ResNeXt layer is connected to {', '.join(map(str, seen))} of its "
    f"{resnext_conv.in_channels} input maps — N/M = {resnext_conv.in_channels}/"
    f"{resnext_conv.groups} — and each of the ResNet layer's to all {resnet_conv.in_channels}. "
    "The note's remark *\"C=32 in fact splits the input channels evenly into C parts, processes "
    "them in parallel, and merges them afterwards\"* is exactly this picture."
)

# %%
claims.report(["resnext.groupconv.connectivity"], budget, run_device)

# %% [markdown]
# ### What it gives and what it takes
#
# The note lists the pros — *parallelism, fewer operations, fewer parameters, a diagonal kernel*
# — and one con: *"an output channel comes from only a small part of the input channels, so the
# features it learns are very limited."* It then reads both sides as one fact (Group Conv):
# *"it restricts the function space to be searched, so it hardly overfits; the drawback is also
# that it restricts the function space searched, so it misses many minima, which might perform
# much better than the ones we have."*
#
# The restriction can be made exact. A grouped convolution **is** a dense convolution whose
# off-diagonal blocks are zero, so a dense layer can represent it — the weight mapping above, and
# equally a least-squares fit of a dense layer to a grouped layer's outputs, which finds the zero
# blocks by itself. The converse fails: the best grouped layer fitted to a dense layer's outputs
# misses everything that crosses groups. Both fits are exact (linear least squares over every
# output pixel of random inputs, float64).

# %%
space = rb.function_space_table(seed=seed)
rb.markdown_table(space, bounds={"relative residual ‖y−ŷ‖/‖y‖": 1e-9,
                                 "largest fitted weight off the diagonal blocks": 1e-9,
                                 "weight mapping: ‖Δ output‖∞": 1e-9})

# %%
dense_fit, grouped_fit = space["relative residual ‖y−ŷ‖/‖y‖"]
Markdown(
    f"The dense layer reproduces the grouped one to rounding error, with {space['weights of the family'][0]:,} "
    f"weights where {space['weights of the family'][1]:,} suffice; the grouped layer cannot follow the dense "
    f"one: {grouped_fit:.0%} of its output's norm is left unexplained, close to the "
    f"{space['expected residual if inexpressible, sqrt(1−1/M)'][1]:.0%} expected when, of M equally "
    "strong groups of inputs, only one may reach each output. Whether the smaller space *helps* — "
    "fewer bad minima, less overfitting — or *hurts* is an empirical question, which "
    "{doc}`resnext_ablation` asks of trained networks."
)

# %%
claims.report(["resnext.groupconv.function_space"], budget, run_device)

# %% [markdown]
# ## Cardinality: Fig. 1
#
# *"A block of ResNet (left) and a block of ResNeXt with cardinality = 32 (right), with roughly
# the same complexity. A layer is shown as (# in channels, filter size, # out channels)."* The
# note (基数 Cardinality) writes the block as an aggregation of C transformations,
# F(x) = Σᵢ₌₁ᶜ 𝒯ᵢ(x) and y = x + Σᵢ₌₁ᶜ 𝒯ᵢ(x), and adds that *"the authors call C the
# cardinality and state that its effect on the result matters more than width and depth."*
# Both blocks of Fig. 1, built and counted on a 56×56 map (the first stage of a 50-layer net):

# %%
fig1 = rb.fig1_blocks()
rb.markdown_table(fig1, percent=["weights vs ResNet", "MACs vs ResNet"])

# %%
claims.report(["resnext.fig1.complexity"], budget, run_device)

# %% [markdown]
# ## Three equivalent forms: Fig. 3
#
# *"Equivalent building blocks of ResNeXt. (a) Aggregated residual transformations, the same as
# Fig. 1 right. (b) A block equivalent to (a), implemented as early concatenation. (c) A block
# equivalent to (a, b), implemented as grouped convolutions."* In (b) the 32 paths' last 1×1
# layers become one 1×1 layer over the concatenated 4-channel outputs; in (c) the paths' first
# 1×1 layers also merge into one, and their 3×3 layers into one grouped convolution. The library
# builds (c) — a `Bottleneck` with `groups=32`, the block torchvision's ResNeXt uses — gives it
# random weights and random batch-norm statistics, and copies its weights into (a) and (b)
# (`to_aggregated`, `to_early_concatenation`). Below, the largest difference of each form's
# output from (c)'s on the same input, with BN in inference mode (running statistics) and in
# training mode (batch statistics), and of the gradient with respect to the input.

# %%
equal = rb.fig3_equivalence_table(seed)
rb.markdown_table(equal, bounds={c: 1e-4 for c in ("eval: ‖Δ output‖∞", "train: ‖Δ output‖∞",
                                                   "train: ‖Δ input gradient‖∞")})

# %%
claims.report(["resnext.fig3.equivalent"], budget, run_device)

# %%
layers = dict(zip(equal["form"], equal["conv layers"]))
Markdown(
    "Equal to float32 rounding, with the same parameters: the three drawings are one function. "
    "They are not one program: "
    + ", ".join(f"form {name.split()[0]} runs {n} convolutions" for name, n in layers.items())
    + ". Xie et al. (Sec. 4) chose (c) *\"because it is more succinct and faster than the other "
    "two forms.\"* The timing below measures all three on this page's device — forward alone "
    "(inference) and a full training step (forward, loss, backward, SGD update) — at a size the "
    "budget allows. Timings vary from run to run; at budgets above `smoke` they are stored with "
    "their provenance and shown as measured."
)

# %%
# NBVAL_IGNORE_OUTPUT
speed = rb.fig3_speed_result(budget, run_device, force=force)
speed_table = pd.DataFrame(speed.metrics["rows"])
display(rb.markdown_table(speed_table[["form", "mode", "batch_size", "device", "images_per_s",
                                       "images_per_s_min", "images_per_s_max", "ms_per_batch",
                                       "× time of the fastest"]], default_decimals=1))
plot_throughput(speed_table.rename(columns={"form": "model"}), caption=speed.caption,
                title=f"Fig. 3 forms, C = 32, {speed.config['batch']} maps of "
                      f"{speed.config['size']}×{speed.config['size']}")
plt.show()
claims.report(["resnext.fig3.speed"], budget, run_device)

# %% [markdown]
# ## ResNet-50 and ResNeXt-50 (32×4d): Table 1
#
# *"(Left) ResNet-50. (Right) ResNeXt-50 with a 32×4d template (using the reformulation in
# Fig. 3(c)). Inside the brackets are the shape of a residual block, and outside the brackets is
# the number of stacked blocks on a stage. 'C=32' suggests grouped convolutions with 32 groups.
# The numbers of parameters and FLOPs are similar between these two models."* The table below is
# generated from the two registered networks (`resnext50_1x64d` is ResNet-50; `resnext50_32x4d`
# loads torchvision's weights): output size, the bracket of each stage read from its first block,
# and each stage's parameters and multiply-accumulates at 224×224.

# %%
rb.markdown_table(rb.table1())

# %%
claims.report(["resnext.table1.stages"], budget, run_device)

# %%
inner = {n: rb.stage_shapes(rb.meta_model(n))["conv2"] for n in rb.TABLE1_NETS}
(resnet_inner, resnext_inner) = inner.values()
ratio = Fraction(resnext_inner.widths[1] ** 2 // resnext_inner.groups, resnet_inner.widths[1] ** 2)
Markdown(
    f"The ResNeXt bracket is {resnext_inner.widths[1] / resnet_inner.widths[1]:g} times as wide "
    f"inside ({resnext_inner.widths[1]} channels in conv2 against {resnet_inner.widths[1]}) but "
    f"has {resnext_inner.groups} groups, so its 3×3 layer holds {ratio} of the ResNet one's "
    "weights; the saving pays for the wider 1×1 layers around it. The totals, beside the "
    "paper's printed figures (the model cards' quotes):"
)

# %%
rb.markdown_table(rb.table1_totals())

# %%
claims.report(["resnext.table1.params", "resnext.table1.flops"], budget, run_device)

# %%
totals = rb.table1_totals()
Markdown(
    f"ResNet-50 has {totals['parameters'][0]:,} parameters: {totals['ours rounded'][0]}M to one "
    f"decimal, printed as {totals['params (M), paper'][0]}M. Xie et al. truncate parameter counts "
    "rather than round them (their CIFAR ResNeXt-29 16×64d of Table 7 is printed the same way; "
    "see the model cards in {doc}`appendix_models`). The FLOPs of both papers are "
    "multiply-accumulates; the ResNet-50 here and in Xie et al. strides in its 3×3 convolutions "
    f"(as fb.resnet.torch and torchvision do), which is why it costs {totals['GMACs, ours'][0]:.2f} "
    f"GMACs rather than the {cnnpapers.model_info('resnet50').reported.gflops} G that He et al. "
    "print for their own version, which strides in the first 1×1 convolution."
)
