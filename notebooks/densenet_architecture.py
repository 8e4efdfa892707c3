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
# # DenseNet's architecture: Figs. 1–3 and Tables 1–3, rebuilt from the models
#
# The notes on DenseNet (Huang et al., CVPR 2017) — note 000 (first half), the slides of note 002
# and the paper notes of note 003 — describe one rule and its consequences. Inside a *dense block*
# layer ℓ reads the concatenation of every feature map produced before it,
#
# $$x_\ell = H_\ell([x_0, x_1, \dots, x_{\ell-1}]),$$
#
# where ResNet would add, $x_\ell = H_\ell(x_{\ell-1}) + x_{\ell-1}$ (note 000, "ResNet与DenseNet的
# 运算对比"). If every $H_\ell$ produces $k$ maps (the *growth rate*), layer ℓ has
# $k_0 + (\ell-1)k$ inputs (note 000 "增长率"; note 004); a block of $L$ layers has $L(L+1)/2$
# direct connections where a plain network has $L$ (note 003). *DenseNet-B* puts a 1×1
# convolution with $4k$ outputs in front of each 3×3, *DenseNet-C* lets the transition between
# blocks keep $\lfloor\theta m\rfloor$ of a block's $m$ maps, *DenseNet-BC* does both with
# $\theta = 0.5$. The notes then claim that DenseNets need far fewer parameters and less compute
# than ResNets for the same error (Tables 2 and 3, Fig. 3).
#
# This chapter rebuilds those figures and tables from the registered models: every channel count,
# output size, connection, parameter and multiply-accumulate below is read off a built model or
# traced through it; every error rate is a quote, labelled as such. The trained errors on
# Fashion-MNIST are in {doc}`densenet_training`, memory in {doc}`densenet_memory`.

# %% tags=["parameters"]
budget = "smoke"  # smoke | cpu | gpu | paper
dataset = "fashion-mnist"  # unused: counting and tracing need no data
seed = 0
device = "auto"  # auto | cpu | cuda; counting runs on the meta device and tracing on the CPU

# %%
import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown

from cnnpapers import claims
from cnnpapers.analysis import caption_for
from cnnpapers.book import page_provenance, resolve_device, table
from cnnpapers.chapters import densenet_architecture as arch

device = resolve_device(device)
caption = caption_for(budget, "cpu")
page_provenance(budget, device)

# %% [markdown]
# ## Fig. 1: a dense block with growth rate k = 4
#
# Note 003 describes the paper's Fig. 1 as "a 5-layer dense block with growth rate k = 4; every
# layer takes the outputs of all previous layers as input": five feature maps $x_0 \dots x_4$,
# four composite functions $H_1 \dots H_4$ (BN-ReLU-Conv 3×3), and the transition layer after
# them, which reads all five. We build that block (the figure prints no $k_0$; we take $2k = 8$)
# with a transition of $\theta = 0.5$ behind it, push one random image through it, and draw only
# what the pass showed: an arrow $x_j \to$ layer wherever the layer's input holds $x_j$'s exact
# values in $x_j$'s channels.

# %%
torch.manual_seed(seed)
trace = arch.trace_block(arch.figure1_model(seed=seed), torch.randn(1, 3, 8, 8), compression=0.5)
arch.plot_dense_block(trace, caption=caption)
plt.show()

# %% [markdown]
# Per layer, the input width measured in the pass and declared by the module, beside
# $k_0 + (\ell-1)k$; the transition is the fifth reader, $\ell = 5$:

# %%
table(trace.table())

# %%
n = trace.num_readers
Markdown(
    f"The pass found **{trace.connections} connections** among {n} layers, "
    f"{n}·{n + 1}/2 = {n * (n + 1) // 2} as the note counts (a plain chain would have {n}); "
    f"every layer's input is exactly $k_0 + (\\ell-1)k$ channels wide "
    f"({'all' if trace.readers['agrees'].all() else 'not all'} rows agree), and the transition "
    f"keeps ⌊0.5·{trace.readers['in_measured'].iloc[-1]}⌋ = "
    f"{trace.readers['out_measured'].iloc[-1]} maps."
)

# %% [markdown]
# ## Fig. 2: a DenseNet with three dense blocks
#
# Fig. 2 (notes 000 and 003) shows the CIFAR layout: a convolution, three dense blocks, and
# between them transition layers of BN, 1×1 convolution and 2×2 average pooling, which change
# the feature-map size (concatenation needs equal sizes, so the network is split into blocks).
# Drawn here from DenseNet-BC (L = 100, k = 12), the note's 0.8M-parameter network: the boxes,
# their wording and the sizes under them come from the modules and from forward hooks on a
# 32×32 input; each block is drawn as its layers with every earlier one joined to every later one.

# %%
stages = arch.stage_shapes(arch.meta_model("densenet_bc_100_k12"), (3, 32, 32))
arch.plot_densenet(stages, name="DenseNet-BC (L=100, k=12)", caption=caption)
plt.show()

# %% [markdown]
# ## Table 1: the ImageNet DenseNets
#
# Table 1 of the paper (note 000; note 002 adds the DenseNet-161 of the revised paper) lists the
# four-block DenseNet-BC for ImageNet. Generated from the models: every configuration cell is
# worded from the module it describes, and the output sizes are those measured by hooks on a
# 224×224 forward pass (on the meta device), beside the sizes the table prints.

# %%
table(arch.table1())

# %% [markdown]
# Depth, parameters and multiply-accumulates (MACs; 1 MAC = 2 FLOPs, the unit the DenseNet paper
# and torchvision call "FLOPs") of the same networks. The paper prints a parameter count only for
# DenseNet-201 ("20M", Sec. 4.4); torchvision's weight metadata quotes parameters and GMACs for
# the four it ships, which our counters must and do reproduce exactly.

# %%
costs = arch.table1_costs()
table(costs)

# %%
odd = costs[costs["weighted layers (ours)"] != costs["name says"]]
Markdown(
    "Each name counts the network's weighted layers (convolutions and the classifier) — except "
    + "; ".join(f"**{r.model}** (blocks {r['layers per block']}), which has "
                f"{arch.depth_breakdown(r.model)}: dense layers of two convolutions, then the "
                "transitions, the stem and the classifier" for _, r in odd.iterrows())
    + "." if len(odd) else "Every name counts the network's weighted layers."
)

# %% [markdown]
# Where the channels go: each block's output $m$ is $k_0 + n k$, and each transition keeps
# $\lfloor\theta m\rfloor$ (note 000, "压缩"), read from the modules.

# %%
table(arch.channel_bookkeeping(arch.IMAGENET_DENSENETS))

# %% [markdown]
# ## Table 2: CIFAR and SVHN
#
# Every row of the notes' Table 2 (notes 000 and 002 print the same numbers). *Params (ours)* is
# the exact count of our model of that row with a 10-class head; *match* says whether it rounds
# to the printed figure. The error columns are **quotes** from the notes, in percent (\* = run by
# the DenseNet authors; C10/C100 without augmentation used dropout 0.2). All-CNN and Deeply
# Supervised Net are not in the registry and are shown as quotes only. Our own trained errors, on
# Fashion-MNIST (CIFAR and SVHN cannot be downloaded where this book is built), are in
# {doc}`densenet_training`.

# %%
table(arch.table2())

# %%
remarks = arch.table2_remarks()
Markdown("Where our count and the printed figure differ, the model card says why:\n\n"
         + "\n".join(f"- {', '.join(f'`{n}`' for n in names)}: {text}" for names, text in remarks))

# %% [markdown]
# ## Table 3: ImageNet errors
#
# Table 3's top-1 and top-5 validation errors (single-crop / 10-crop, percent) are quotes from
# the model cards; parameters and GMACs at 224×224 are ours. For reference, the errors of the
# weights torchvision distributes (single 224 crop, converted from accuracy), quoted from their
# metadata; there is no DenseNet-264 among them and no DenseNet-161 in Table 3.

# %%
table(arch.table3())

# %% [markdown]
# ## Fig. 3: error against parameters and against compute
#
# Note 003 ("ImageNet上的分类结果"): "a DenseNet-201 with 20M parameters reaches a validation
# error close to that of a 101-layer ResNet with more than 40M", and "DenseNet-201 needs only the
# compute of ResNet-50 to reach about the error of ResNet-101, which needs twice as much". The
# x-axes below are our counts. The errors are quotes, and the ResNet ones need a warning: the
# paper's Fig. 3 plotted single-crop errors of ResNets that the DenseNet authors trained with
# the same Torch code (fb.resnet.torch) — numbers the notes do not print. Our ResNet cards quote
# He et al. 2016, Table 3: 10-crop errors of their own Caffe-trained networks. So the ResNet line
# is compared with DenseNet's **10-crop** line (DenseNet's single-crop line dashed); both
# families' x-values are the networks as fb.resnet.torch builds them (stride in the 3×3 conv).

# %%
points = arch.figure3_points()
arch.plot_figure3(points, caption=caption)
plt.show()

# %%
c = {name: arch.cost(name) for name in ("densenet201", "resnet50", "resnet101")}
err = points[points["crop"] == "10-crop"].set_index("model")["top1_error"]
Markdown(
    f"DenseNet-201 has {c['densenet201'].params / 1e6:.2f}M parameters and "
    f"{c['densenet201'].gmacs:.2f} GMACs; ResNet-101 {c['resnet101'].params / 1e6:.2f}M and "
    f"{c['resnet101'].gmacs:.2f} GMACs, ResNet-50 {c['resnet50'].params / 1e6:.2f}M and "
    f"{c['resnet50'].gmacs:.2f} GMACs. The quoted 10-crop top-1 errors are "
    f"{err['densenet201']:.2f}% (DenseNet-201), {err['resnet101']:.2f}% (ResNet-101) and "
    f"{err['resnet50']:.2f}% (ResNet-50): the counting half of both sentences holds as stated; "
    "the error half would need ImageNet training, and the two quotes come from different papers "
    "and training codes."
)

# %% [markdown]
# ## The claims, checked
#
# Every claim of these notes that counting or tracing can decide, with our number and a verdict
# (the ledger of all chapters is in {doc}`appendix_claims`).

# %%
claims.report([c.id for c in claims.list_claims("densenet_architecture")], budget, device)
