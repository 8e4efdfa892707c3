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
# # Spatial exploitation: LeNet-5 to Inception-v3, counted
#
# The first family of the survey (note 001; {doc}`survey_taxonomy`) is about *what a layer looks
# at*: kernel sizes, strides, and how many filters of which size sit side by side. The note walks
# from LeNet-5 (1998) through AlexNet, ZFNet and VGG to GoogLeNet and Inception-v3, and makes a
# handful of quantitative statements on the way — AlexNet's fully connected layers "bring nearly
# 1 GB of model parameters", global average pooling takes GoogLeNet "from 138 million to 4
# million", factorising a 5×5 convolution "saves 28%". This chapter counts them.
#
# Nothing is trained here. Every model is built on PyTorch's `meta` device (shapes, no memory)
# and counted by `cnnpapers.analysis.cost`: parameters exactly, and multiply-accumulates
# (**MACs**, 1 MAC = 2 FLOPs) of convolutions and fully connected layers per image — the
# convention of the papers. Receptive fields are measured from the gradient of one output pixel
# with respect to the input.

# %% tags=["parameters"]
budget = "smoke"  # smoke | cpu | gpu | paper
dataset = "fashion-mnist"  # unused: counting needs no data
seed = 0  # unused: nothing here is random
device = "auto"  # auto | cpu | cuda (counting runs on the meta device)

# %%
import inspect

import matplotlib.pyplot as plt
from IPython.display import Markdown

from cnnpapers import claims
from cnnpapers.analysis import caption_for
from cnnpapers.book import page_provenance, resolve_device
from cnnpapers.chapters import survey_spatial as sp
from cnnpapers.chapters.survey_taxonomy import formatted
from cnnpapers.models.googlenet import Inception

where = resolve_device(device)
caption = caption_for(budget, "cpu") + " · counted on the meta device"
shares = ["params share", "MACs share"]
page_provenance(budget, device)

# %% [markdown]
# ## LeNet-5
#
# *"LeNet was proposed by LeCun et al. in 1998. It is known for its historical importance as the
# first CNN to show state-of-the-art performance on handwritten digit recognition."* (note 001,
# translated). The library builds the paper's network exactly — the sparse C3 of Table I, the
# trainable sub-sampling layers — with a linear output layer in place of the fixed RBF units.
# Its 32×32 input and its layer names are the paper's.

# %%
lenet = sp.layer_table("lenet5", sp.LENET5_LAYERS)
formatted(lenet, percent=shares)

# %%
claims.report(["lenet5.params"], budget, where)

# %% [markdown]
# ## AlexNet
#
# The note (translated): *"AlexNet contains 8 layers of transformations: 5 convolutional layers,
# 2 fully connected hidden layers and 1 fully connected output layer. The convolution window of
# its first layer is 11×11 [...]; the window of the second layer shrinks to 5×5, and 3×3 is used
# after that. In addition, max-pooling layers with a 3×3 window and stride 2 follow the first,
# second and fifth convolutional layers. AlexNet also uses tens of times more convolution
# channels than LeNet. The last convolutional layer is followed by two fully connected layers
# with 4,096 outputs. These two huge fully connected layers bring nearly 1 GB of model
# parameters. Because of the limited GPU memory of the time, the original AlexNet used a
# two-stream design so that one GPU only has to process half of the model."*
#
# Below, the 2012 network of the paper's Fig. 2 (`alexnet_paper`: 227×227 input, conv2, conv4 and
# conv5 split over the two GPUs as two-group convolutions).

# %%
alexnet = sp.layer_table("alexnet_paper", sp.ALEXNET_PAPER_LAYERS)
formatted(alexnet, percent=shares)

# %%
sp.plot_layer_shares({"LeNet-5 (32×32)": lenet, "AlexNet, 2012 (227×227)": alexnet},
                     caption=caption)
plt.show()

# %%
fc = alexnet[alexnet["layer"].str.startswith("fc")]
conv = alexnet[alexnet["layer"].str.startswith("conv")]
Markdown(
    f"The three fully connected layers hold {fc['params share'].sum():.1%} of AlexNet's "
    f"parameters but do {fc['MACs share'].sum():.1%} of its multiply-accumulates; the five "
    f"convolutions do {conv['MACs share'].sum():.1%} of the work with "
    f"{conv['params share'].sum():.1%} of the parameters. LeNet-5 has the same split in miniature: "
    f"C5 (a convolution that sees a 5×5 map, i.e. a fully connected layer in effect) holds "
    f"{lenet.set_index('layer').loc['C5', 'params share']:.0%} of the parameters."
)

# %% [markdown]
# The two-stream split, the same network with every layer dense, and the single-stream network
# torchvision ships (Krizhevsky's 2014 "one weird trick" form, 64-192-384-256-256 channels).
# The fully connected layers are identical in all three.

# %%
forms = sp.alexnet_forms()
formatted(forms.drop(columns=["model"]), percent=["FC share"],
          decimals={"fc6+fc7 fp32 (GB)": 3, "all weights fp32 (GB)": 3})

# %%
paper, dense = forms.iloc[0], forms.iloc[1]
Markdown(
    f"Splitting conv2, conv4 and conv5 into two groups removed "
    f"{dense['conv params'] - paper['conv params']:,} of the dense network's "
    f"{dense['conv params']:,} convolution weights and {1 - paper['MACs'] / dense['MACs']:.0%} of "
    f"its MACs; the fully connected layers, where the parameters are, stay dense. What does "
    f"not hold is the note's gigabyte: fc6 and fc7 have {paper['fc6+fc7 params']:,} parameters, "
    f"{paper['fc6+fc7 fp32 (GB)']:.2f} GB in 32-bit floats; all of AlexNet's weights are "
    f"{paper['all weights fp32 (GB)']:.2f} GB; weights, gradients and SGD momentum together "
    f"{sp.training_state_bytes(paper['params']) / sp.GB:.2f} GB."
)

# %%
claims.report(["survey_spatial.alexnet_layers", "survey_spatial.alexnet_windows",
               "survey_spatial.alexnet_channels", "survey_spatial.alexnet_fc_gigabyte"],
              budget, where)

# %% [markdown]
# ## ZFNet: a smaller first layer
#
# The note (translated): *"[ZFNet] visualised the computation state of the intermediate layers
# (Conv, ReLU) and pointed out that only very few of AlexNet's neurons are active."* Zeiler and
# Fergus traced the dead and aliased first-layer filters they saw to conv1's 11×11 kernels with
# stride 4, and changed conv1 to 7×7 with stride 2 (and conv2 to stride 2). The neuron-activity
# observation needs a trained AlexNet and ImageNet, which this book does not have; the change of
# the first layer can be counted.

# %%
first = sp.first_layers()
formatted(sp.first_layers_long())

# %%
a, z = first.set_index("model").loc["alexnet_paper"], first.set_index("model").loc["zfnet"]
a_side, z_side = (int(r["conv1 output"].split("×")[1]) for r in (a, z))
Markdown(
    f"With stride 2 instead of 4, conv1 evaluates its filters at {z_side}×{z_side} instead of "
    f"{a_side}×{a_side} positions ({(z_side / a_side) ** 2:.1f}× as many); the smaller 7×7 kernel "
    f"more than halves its weights ({z['conv1 params']:,} vs {a['conv1 params']:,}), yet conv1 "
    f"costs {z['conv1 MACs'] / a['conv1 MACs']:.2f}× AlexNet's MACs. The larger maps would have "
    f"made every later layer more expensive, so ZFNet also gives conv2 a stride of 2, which brings "
    f"the maps back to AlexNet's 13×13 by conv3; conv2, now dense and producing "
    f"{z['conv2 output']} outputs, still costs {z['conv2 MACs'] / a['conv2 MACs']:.1f}× AlexNet's "
    f"(split) conv2. The whole network does {z['network MACs'] / 1e9:.2f} GMACs against "
    f"AlexNet's {a['network MACs'] / 1e9:.2f}."
)

# %%
formatted(sp.layer_table("zfnet", sp.ZFNET_LAYERS), percent=shares)

# %% [markdown]
# ## VGG: small kernels, stacked
#
# Under its ZFNet heading the note continues (translated): *"the first to build the network by
# iterating modules of the same structure as feature-extraction units, which greatly reduces the
# difficulty of building large models, while using small kernels instead of large ones"* — a
# description of VGG, whose figure ("From AlexNet to VGG that is designed from building blocks")
# the note reproduces. VGG's argument (Simonyan & Zisserman 2015, Sec. 2.3): a stack of two 3×3
# convolutions sees a 5×5 field and a stack of three sees 7×7, with fewer weights and more
# nonlinearities than one large kernel. For C input and C output channels, on a 56×56 grid:

# %%
stacks = sp.stacked_kernels()
formatted(stacks, decimals={"weights / C²": 0})

# %%
claims.report(["survey_spatial.vgg_small_kernels"], budget, where)

# %% [markdown]
# The four VGG columns of the paper's Table 1, with Table 2's parameter counts (quoted, in
# millions) beside ours. The "138 million" of the GoogLeNet section below is column D, VGG-16.

# %%
formatted(sp.vgg_costs(), percent=["FC share of params"])

# %% [markdown]
# ## GoogLeNet: Inception modules and global average pooling
#
# The note lists GoogLeNet's contributions (translated): *"1. Convolutions of 1×1, 3×3 and 5×5
# extract spatial features at different scales [...]; 2. 1×1 convolutional layers pre-process
# the input; 3. global average pooling instead of fully connected layers lowers the
# computational complexity (138 million to 4 million); 4. RMSProp as the optimiser, and batch
# normalisation."* Point 4 belongs to the later Inception papers: the 2014 network was trained
# with asynchronous SGD with momentum and has no batch normalisation (`googlenet_paper` is built
# that way; torchvision's `googlenet` adds BN). And on the module (translated): *"2. The kernel
# sizes 1, 3 and 5 are chosen mainly for easy alignment: with stride 1 and padding 0, 1 and 2 the
# convolutions give features of the same size, which can be concatenated directly."*
#
# The note's code for the module is the library's `cnnpapers.models.googlenet.Inception`,
# argument for argument:

# %%
print(inspect.getsource(Inception))

# %% [markdown]
# Module 3a (Table 1's first Inception row) on its 28×28×192 input, with the library's default
# layer (convolution, batch norm, ReLU):

# %%
formatted(sp.inception_branches("3a"))

# %%
formatted(sp.same_size_padding())

# %%
claims.report(["survey_spatial.inception_same_size"], budget, where)

# %% [markdown]
# ### What the 1×1 reductions save
#
# Each of the nine modules of Table 1 with its 1×1 reductions (Fig. 2(b), the paper's layers with
# biases and real 5×5 kernels) against the *naive* module of Fig. 2(a): the same numbers of 1×1,
# 3×3 and 5×5 filters, applied straight to the input, and a pooling branch that passes all input
# channels on.

# %%
savings = sp.reduction_savings()
formatted(savings, decimals={"MACs naive / reduced": 2})

# %%
total_r, total_n = savings["MACs (1×1 reductions)"].sum(), savings["MACs (naive)"].sum()
Markdown(
    f"Over the nine modules, the reductions cut the multiply-accumulates from "
    f"{total_n / 1e9:.2f} G to {total_r / 1e9:.2f} G ({total_n / total_r:.1f}× fewer) and the "
    f"parameters from {savings['params (naive)'].sum() / 1e6:.1f} M to "
    f"{savings['params (1×1 reductions)'].sum() / 1e6:.1f} M. This even understates the naive "
    f"design: its pooling branch makes every module wider than its input (3a: "
    f"{savings.iloc[0]['output C (naive)']} channels out instead of "
    f"{savings.iloc[0]['output C (reductions)']}), so in a stack of naive modules each one would "
    "also read a wider input than counted here — the 'computational blow up within a few stages' "
    "of the paper's Section 4."
)

# %% [markdown]
# ### "138 million to 4 million"
#
# What can the note's numbers mean? Counted: VGG-16 and GoogLeNet as built, each with the other
# kind of head — VGG-16 with global average pooling and one linear layer, GoogLeNet with its 7×7×
# 1024 map flattened into the classifier instead of averaged.

# %%
formatted(sp.gap_vs_fc(), percent=["head share of MACs"])

# %%
claims.report(["survey_spatial.googlenet_gap"], budget, where)

# %% [markdown]
# ## Inception-v3: factorised convolutions
#
# The note (translated): *"Replace large kernels by small ones to reduce computation: a 5×5 is
# factorised into two 3×3; the receptive field is the same before and after. [...] The ratio of
# the parameters of two 3×3 convolutions to one 5×5 is (9+9)/25: the factorisation removes 28%
# of the parameters, and 28% of the computation as well. Likewise, an asymmetric factorisation
# splits a 3×3 convolution into 1×3 and 3×1; for fixed numbers of input and output filters it
# reduces the computation by 33%."* The library's `Factorized5x5` and `AsymmetricConv` blocks,
# with C = 192 channels throughout on a 35×35 grid (the size of Inception-v3's first modules),
# bias-free convolutions:

# %%
formatted(sp.factorisations(), percent=["weights saved", "MACs saved"],
          decimals={"weight ratio": 3})

# %%
claims.report(["survey_spatial.inception_v3_5x5", "survey_spatial.inception_v3_asymmetric"],
              budget, where)

# %% [markdown]
# The savings hold exactly when the intermediate width equals the output width, as the paper
# assumes; a narrower middle layer saves more, a wider one less. In the released network
# (`inception_v3`, torchvision's layout) the factorisations are everywhere — but not
# exclusively: its 35×35 modules keep one plain 5×5 convolution each.

# %%
formatted(sp.kernel_census("inception_v3"))
