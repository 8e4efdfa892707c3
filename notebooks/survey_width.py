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
# # Width and multi-connection: DenseNet to ShuffleNet v2
#
# The last stretch of the survey note (note 001) covers networks that grow *sideways* — more
# connections, wider or gradually widening layers, more parallel paths — and ends with the
# networks built for phones, where the question is no longer how to afford more layers but how
# to spend as few multiply-accumulates as possible: MobileNet v1 and v2, and ShuffleNet v2. The
# note states MobileNet's cost formulas, the effect of its two multipliers, and ShuffleNet v2's
# four design guidelines, whose point is that FLOPs do not predict speed. The formulas are
# checked here by counting; the guidelines by timing small benchmark networks on this machine.
#
# As in {doc}`survey_spatial`, models are built on PyTorch's `meta` device and counted by
# `cnnpapers.analysis.cost`: parameters exactly, and multiply-accumulates (**MACs**; 1 MAC =
# 2 FLOPs; the "FLOPs" of the MobileNet and ShuffleNet papers are MACs) per image. In the
# ShuffleNet v2 sections, as in that paper, **MAC** also names the *memory access cost*; the
# tables spell it out as "memory access". Nothing is trained.

# %% tags=["parameters"]
budget = "smoke"  # smoke | cpu | gpu | paper
dataset = "fashion-mnist"  # unused: nothing is trained
seed = 0  # inputs of the timing benchmarks
device = "auto"  # auto | cpu | cuda: timings run on the CPU, and on the GPU when there is one

# %%
import inspect

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown

from cnnpapers import claims
from cnnpapers.analysis import caption_for, plot_runtime_breakdown
from cnnpapers.book import page_provenance, resolve_device
from cnnpapers.chapters import survey_width as sw
from cnnpapers.chapters.survey_taxonomy import formatted
from cnnpapers.models import mobilenet, shufflenet

where = resolve_device(device)
timing_devices = ["cpu"] + (["cuda"] if where.startswith("cuda") else [])
counted = caption_for(budget, "cpu") + " · counted on the meta device"


def costs(*names):
    """The cost rows of some models, beside their cards' quotes."""
    return formatted(sw.cost_rows(names), decimals={"GMACs": 3, "quoted GMACs": 3})


page_provenance(budget, device)

# %% [markdown]
# ## DenseNet
#
# The note files DenseNet under *multi-path* (translated): *"to ensure maximum information flow
# between the layers of the network, all layers are connected directly with each other [...]
# the ℓ-th layer has ℓ inputs, consisting of the feature maps of all preceding blocks, and its
# own feature maps are passed on to all L − ℓ subsequent layers. This gives L(L+1)/2 connections
# in an L-layer network instead of the traditional L."* The DenseNet part of the book rebuilds
# the paper in depth ({doc}`densenet_architecture`); here, the count, read from DenseNet-121's
# dense blocks (each layer's input width says how many earlier feature maps it reads):

# %%
costs("densenet121", "densenet_bc_100_k12")

# %%
formatted(sw.dense_connections("densenet121"))

# %%
claims.report(["survey_width.densenet_connections"], budget, where)

# %% [markdown]
# ## PyramidNet
#
# The note (translated): *"In earlier models such as ResNet, the depth of the feature maps grows
# with the number of layers through convolutions, while the spatial size shrinks through
# down-sampling [...]. PyramidNet's feature is that the width of every layer increases step by
# step, which increases the model's representational power."* The widths of the 54 residual
# units of the 110-layer CIFAR networks, read from a forward pass:

# %%
costs("pyramidnet110_a48", "pyramidnet272_a200_bottleneck", "resnet110_cifar")

# %%
ramp = sw.width_ramp("pyramidnet110_a48", "resnet110_cifar")
sw.plot_width_ramp(ramp, caption=counted)
plt.show()

# %%
formatted(sw.ramp_summary(ramp))

# %%
claims.report(["survey_width.pyramidnet_gradual"], budget, where)

# %% [markdown]
# ## Xception
#
# The note (translated): *"[Xception] makes the Inception block wider. A traditional model uses
# one transformation, an Inception block three; the number of transformations of an Xception
# block equals the number of channels. It uses a 1×1 convolution and a channel-wise spatial
# convolution (each channel convolved on its own), which increases the representational power
# and lowers the computational complexity."* And the two differences from a depthwise separable
# convolution: the order (TensorFlow's separable convolution runs the depthwise step first,
# Inception the 1×1 first), and whether a nonlinearity follows the first step (Inception: yes;
# separable convolutions: usually not).

# %%
costs("xception")

# %%
formatted(sw.xception_separable())

# %%
formatted(sw.separable_vs_standard(), percent=["relative to standard"])

# %%
claims.report(["survey_width.xception_channelwise"], budget, where)

# %% [markdown]
# ## ResNeXt
#
# Note 001 files ResNeXt under width without discussing it; the notes on the paper (note 000)
# have a part of their own, starting with {doc}`resnext_blocks`. The two configurations the
# paper centres on:

# %%
costs("resnext50_32x4d", "resnext29_8x64d_cifar")

# %% [markdown]
# ## MobileNet v1: the cost of a depthwise separable convolution
#
# The note (translated): *"MobileNet uses depthwise separable convolutions to reduce the
# computation and the model size [...]. The cost of a standard convolution is
# D_k·D_k·M·N·D_F·D_F; the cost of a depthwise separable convolution is D_k·D_k·M·D_F·D_F +
# M·N·D_F·D_F"* — for a D_k×D_k kernel, M input and N output channels and a D_F×D_F output map.
# Both formulas against the MACs the counter finds, layer by layer in MobileNet v1 (α = 1,
# 224×224), and against a standard 3×3 convolution of the same shape built for the comparison:

# %%
costs("mobilenet_v1_x1_0")

# %%
layers = sw.separable_layers("mobilenet_v1_x1_0")
formatted(layers, decimals={"ratio": 4, "1/N + 1/D_k²": 4})

# %%
claims.report(["survey_width.mobilenet_cost_formulas"], budget, where)

# %% [markdown]
# ### The width multiplier α and the resolution multiplier ρ
#
# The note (translated): *"the width multiplier α thins every layer of the network uniformly; it
# is usually set to 1, 0.75, 0.5 or 0.25 and cuts the computation effectively [...]. The second
# hyper-parameter that reduces the computation is the resolution multiplier ρ, applied to the
# input image."* The paper's Table 6 (α, at 224×224) and Table 7 (ρ, at α = 1) quote
# mult-adds and parameters; they are on the model cards, shown here as quoted beside our counts.

# %%
formatted(sw.width_multiplier_table(), decimals={"α": 2, "MACs / MACs(α=1)": 3,
                                                 "params / params(α=1)": 3, "α²": 4})

# %%
formatted(sw.resolution_multiplier_table(), decimals={"ρ": 3, "MACs / MACs(ρ=1)": 3, "ρ²": 3})

# %%
claims.report(["survey_width.mobilenet_width_multiplier",
               "survey_width.mobilenet_resolution_multiplier"], budget, where)

# %% [markdown]
# ## MobileNet v2: the inverted residual
#
# The note's code for MobileNet v2 is the library's `ConvBNReLU` and `InvertedResidual`
# (`cnnpapers.models.mobilenet`, with torchvision's module names so its weights load):

# %%
print(inspect.getsource(mobilenet.ConvBNReLU))
print(inspect.getsource(mobilenet.InvertedResidual))

# %% [markdown]
# The note (translated): *"ReLU6(x) = min(max(x, 0), 6). Inverted residual block: first expand
# the dimension, then reduce it [...]. ReLU loses much information on low-dimensional features:
# the activation [after the projection] is linear, and a shortcut is used when the input and
# output features are the same. [...] The expansion layer maps the low-dimensional space to a
# high-dimensional one; its factor is a hyper-parameter, 6 by default. [...] The lower the
# dimension of a tensor, the fewer multiplications a convolution needs; but with low-dimensional
# tensors alone the filters cannot extract enough information."* Counted on the second block of
# the paper's Table 2 (24 channels, t = 6, 56×56), next to a MobileNet v1 block and a standard
# 3×3 convolution with the same input and output:

# %%
costs("mobilenet_v2")

# %%
block = sw.inverted_residual_cost(24, 56, 6)
formatted(block)

# %%
whole = block.set_index("part")
Markdown(
    f"The block spends its MACs in the two 1×1 convolutions, which work on the expanded "
    f"{24 * 6}-channel tensor: together "
    f"{(whole.iloc[0]['MACs'] + whole.iloc[2]['MACs']) / whole.loc['whole inverted residual', 'MACs']:.0%} "
    f"of the block; the depthwise 3×3 adds the rest. The tensors that travel between blocks are "
    f"the thin ones ({whole.iloc[2]['output elements']:,} elements), "
    f"{whole.iloc[0]['output elements'] // whole.iloc[2]['output elements']}× smaller than the "
    f"expanded one inside — at {whole.loc['whole inverted residual', 'MACs'] / whole.loc['standard 3×3 convolution (same in/out)', 'MACs']:.1f}× "
    "the MACs of a plain 3×3 convolution between the same thin tensors."
)

# %%
census = sw.inverted_residual_census()
formatted(census)

# %%
claims.report(["survey_width.mobilenet_v2_block"], budget, where)

# %% [markdown]
# ## ShuffleNet v2
#
# ### Channel shuffle
#
# The note's `channel_shuffle` is the library's (`cnnpapers.models.shufflenet`):

# %%
print(inspect.getsource(shufflenet.channel_shuffle))

# %% [markdown]
# Where each of 12 channels in 3 groups goes: output position 3j + i holds channel j of group i,
# so the next grouped convolution's every group reads one channel from each group. Below, the
# checks for 48 channels: the shuffle is a permutation, `channel_unshuffle` undoes it, and it
# equals PyTorch's own `torch.nn.ChannelShuffle`.

# %%
formatted(sw.shuffle_permutation(12, 3))

# %%
formatted(sw.shuffle_checks())

# %%
claims.report(["survey_width.channel_shuffle"], budget, where)

# %% [markdown]
# ### The v2 unit
#
# The note (translated): *"ShuffleNet v2 abandons the 1×1 group convolution and uses plain 1×1
# convolutions whose input and output channel numbers are equal. It introduces a new operation,
# ChannelSplit, which divides the module's input channels into two parts: one is passed straight
# down, the other goes through the actual computation. At the end of the module the two
# branches are concatenated, which avoids ShuffleNet v1's element-wise sum [...]. For
# down-sampling, the split is dropped, so that the number of output channels doubles."* Counted
# in ShuffleNet v1 (1×, g = 3), ShuffleNet v2 (1×) and MobileNet v2, the 1×1 convolutions and
# the operators one forward pass dispatches:

# %%
costs("shufflenet_v1_x1_0_g3", "shufflenet_v2_x1_0")

# %%
formatted(sw.unit_structure())

# %%
formatted(sw.shufflenet_v2_units())

# %%
claims.report(["survey_width.shufflenet_v2_unit"], budget, where)

# %% [markdown]
# ### Four guidelines: memory access, counted
#
# The note (translated): *"1. When the numbers of input and output channels are equal, the MAC
# (memory access cost) of a convolution is lowest. 2. Too many group convolutions increase the
# MAC. 3. Fragmentation of the network reduces the parallelism that can be exploited.
# 4. Element-wise operations take considerable time and cannot be ignored."* The paper builds a
# benchmark network for each: ten stacked blocks on a 56×56 input, at (nearly) constant FLOPs.
# For the first two the memory access cost has a closed form (Eqs. 1, 2: a 1×1 convolution from
# c1 to c2 channels over h×w reads and writes hw(c1 + c2) activations and c1·c2/g weights):

# %%
formatted(sw.memory_access_table(), decimals={"memory access vs first": 3})

# %%
claims.report(["survey_width.g1_memory_access", "survey_width.g2_memory_access"], budget, where)

# %% [markdown]
# ### Four guidelines: speed, measured
#
# The same benchmark networks (`cnnpapers.analysis.runtime`), timed on this machine: inference,
# median of several runs. From the `cpu` budget up they run at the paper's 56×56 input and 1×
# width with batch 1 on the CPU (on a GPU at the `gpu` budget: batch 8, widths 1×, 2×, 4×), and
# the timings are stored in `results/`; `smoke` runs a seconds-long 8×8 version whose numbers
# only show that the code works. Each bar is relative to
# the paper's favourable setting; a grey bar near 1 beside a speed bar far from 1 means: same
# FLOPs, different speed.

# %%
# NBVAL_IGNORE_OUTPUT
timed = {dev: {g: sw.guideline_result(g, budget, dev, seed) for g in sw.GUIDELINES}
         for dev in timing_devices}
guidelines = {dev: {g: sw.guideline_table(r) for g, r in runs.items()} for dev, runs in timed.items()}
for dev, tables in guidelines.items():
    sw.plot_guidelines(tables, caption=timed[dev]["G1"].caption)  # when and where it was measured
    plt.show()

# %%
# NBVAL_IGNORE_OUTPUT
contrasts = pd.concat([sw.contrast(t).assign(device=dev)
                       for dev, tables in guidelines.items() for t in tables.values()])
formatted(contrasts, decimals={"speed-up": 2, "MACs max/min": 3, "speed max/min": 2})

# %%
# NBVAL_IGNORE_OUTPUT
claims.report(["survey_width.g1_speed", "survey_width.g2_speed", "survey_width.g3_speed",
               "survey_width.g4_speed", "survey_width.speed_not_flops"], budget, where)

# %% [markdown]
# The full timing tables (milliseconds per batch, median with the fastest and slowest run):

# %%
# NBVAL_IGNORE_OUTPUT
columns = ["guideline", "setting", "width", "c", "macs", "mem_access", "ms_per_batch", "ms_min",
           "ms_max", "device"]
formatted(pd.concat([t for tables in guidelines.values() for t in tables.values()])
          .reindex(columns=columns), decimals={"ms_per_batch": 3, "ms_min": 3, "ms_max": 3,
                                               "c": 0, "mem_access": 0})

# %% [markdown]
# ### Where the time goes
#
# The paper's Fig. 2 splits the run time of ShuffleNet v1 (1×, g = 3) and MobileNet v2 (1×)
# into convolution and the rest; the note reads it as (translated) *"compute-intensive
# operations such as Conv take the vast majority of the time, but memory-bound operations such
# as Elemwise and Data IO also take a considerable share, so designing networks by FLOPs alone,
# as before, is incomplete, although FLOPs do reflect the convolutions that take most of the
# time."* The same decomposition on this machine, with ShuffleNet v2 (1×) added: every ATen
# operator of a profiled forward pass (`torch.profiler`) filed as convolution (including the FC
# layer), element-wise (activations, additions, batch norm), data movement (concatenation,
# split, shuffle's transpose and copy) or other (pooling). Batch norm is a separate element-wise
# pass in eager PyTorch, but a deployed network folds it into the preceding convolution; the
# last column of the table shows the memory-bound share with its time removed.

# %%
# NBVAL_IGNORE_OUTPUT
profiled = {dev: sw.decomposition_result(budget, dev, seed) for dev in timing_devices}
decompositions = {dev: sw.breakdowns(result) for dev, result in profiled.items()}
for dev, parts in decompositions.items():
    setup = profiled[dev].config
    plot_runtime_breakdown(parts, caption=profiled[dev].caption
                           + f" · {setup['side']}×{setup['side']} input, batch {setup['batch']}")
    plt.show()

# %%
# NBVAL_IGNORE_OUTPUT
formatted(pd.concat([sw.decomposition_table(p).assign(device=d) for d, p in decompositions.items()]),
          percent=["convolution", "elementwise", "data movement", "other", "memory-bound",
                   "memory-bound, BN folded"])

# %%
# NBVAL_IGNORE_OUTPUT
formatted(pd.concat([sw.top_operators(p).assign(device=d) for d, p in decompositions.items()]),
          percent=["share"], decimals={"calls": 0})

# %%
# NBVAL_IGNORE_OUTPUT
claims.report(["survey_width.fig2_conv_majority", "survey_width.fig2_memory_bound_share"],
              budget, where)
