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
# # Depth: the degradation problem, ResNet's block and highway networks
#
# The survey's second family (note 001, *Depth based CNNs*; {doc}`survey_taxonomy`) has two
# entries. Translated:
#
# > **Highway.** The first to propose a cross-layer connection mechanism, but its performance is
# > not as good as ResNet's; I think the reason is that it uses the sigmoid activation function.
# >
# > **ResNet.** Deep convolutional networks brought great breakthroughs to image classification,
# > but deeper networks are often hard to train, with higher training and test error, and two
# > problems: *vanishing/exploding gradients* — normalized initialization and intermediate
# > normalization address it, but only within tens of layers; as depth grows, the vanishing or
# > exploding of gradients in back-propagation gets ever more serious; and the *degradation
# > problem* — the deeper the net, the harder to train: the training error does not fall but
# > rises, which shows that not every system is equally easy to optimise. Against these two
# > problems (mainly the second) the authors propose the residual network, built from the
# > residual block [code follows in the note].
#
# This chapter shows the note's block as the library's, reproduces the degradation experiment
# of He et al. (2016, Fig. 6) on Fashion-MNIST, measures the gradients the note blames, and puts
# a deep highway network (Srivastava et al., 2015) beside its plain twin and beside a ResNet of
# the same size.

# %% tags=["parameters"]
budget = "smoke"  # smoke | cpu | gpu | paper
dataset = "fashion-mnist"  # the runs are declared for Fashion-MNIST
seed = 0  # seed of the initialisation probes; the runs' seeds are in the budget's plan
device = "auto"  # auto | cpu | cuda

# %%
import inspect

import matplotlib.pyplot as plt
from IPython.display import Markdown

from cnnpapers import claims
from cnnpapers.analysis import caption_for, plot_gradient_flow
from cnnpapers.analysis.seedruns import curves_frame, plot_error_curves
from cnnpapers.book import page_provenance, resolve_device
from cnnpapers.chapters import survey_depth as sd
from cnnpapers.chapters.survey_taxonomy import formatted
from cnnpapers.experiments.survey_depth import DEGRADATION, HIGHWAY
from cnnpapers.models.resnet import BasicBlock

where = resolve_device(device)
page_provenance(budget, device)

# %% [markdown]
# ## The residual block of the note
#
# The note's code is torchvision's `BasicBlock`: two 3×3 convolutions with batch normalisation,
# and the input added back before the last ReLU, `y = relu(F(x) + x)` (Eq. 1 of the paper), or
# `F(x) + W_s x` through a `downsample` module where the shape changes (Eq. 2). The library's
# block, `cnnpapers.models.resnet.BasicBlock`, keeps the note's arguments, attribute names and
# forward pass; its `residual` method is `F`:

# %%
print(inspect.getsource(BasicBlock))

# %%
formatted(sd.block_signature_table())

# %% [markdown]
# The one added argument, `attention`, is keyword-only and off by default: it is how
# {doc}`survey_attention` puts SE and CBAM blocks on `F(x)`. The block on a tensor, in the forms
# the CIFAR networks use (a plain block is the same block without its shortcut):

# %%
formatted(sd.block_shapes())

# %%
claims.report(["resnet.basic_block"], budget, where)

# %% [markdown]
# ## The degradation problem
#
# He et al. trained plain nets of 20 to 56 layers and ResNets of the same shapes on CIFAR-10
# (Sec. 4.2, Fig. 6): the deeper *plain* net had the higher **training** error throughout —
# not overfitting but an optimisation failure — while the deeper ResNet trained to a lower one.
# We train the two depths of each on Fashion-MNIST (28×28 grey images, so every map is 28/14/7
# instead of 32/16/8), with the paper's CIFAR schedule shortened to the budget: the learning rate
# still drops tenfold at 50 % and 75 % of training. A plain net here is its ResNet without
# shortcuts: same layers, same parameters.

# %%
runs = sd.collect(budget, device=device)
formatted(sd.setup_table(runs))

# %%
curves = curves_frame(runs)
plot_error_curves(curves, [("Plain nets", ["plain20", "plain56"]),
                           ("ResNets", ["resnet20", "resnet56"])],
                  caption=runs["plain20"][0].caption,
                  title="Fashion-MNIST: training error (solid) and test error (dashed), as in "
                        "He et al. Fig. 6")
plt.show()

# %% tags=["trained-numbers"]
formatted(sd.final_table(runs, DEGRADATION), decimals={"final training error (%)": 2,
                                                       "final test error (%)": 2})

# %% tags=["trained-numbers"]
plain, residual = sd.gap(runs, "plain56", "plain20"), sd.gap(runs, "resnet56", "resnet20")
steps = sd.optimiser_steps(runs)
if plain.above:
    seen = "The deeper plain net trains worse: the degradation appears at this budget."
elif budget == "smoke":
    seen = "At the `smoke` budget (one step) these numbers only show that the pipeline runs."
else:
    seen = (f"Within {steps:,} steps the plain nets' curves do not separate beyond the margin: "
            "the degradation does not appear at this budget.")
Markdown(
    f"After {steps:,} optimiser steps, plain-56 ends {plain.diff * 100:+.2f} points of training "
    f"error from plain-20 ({plain.noise()}), and ResNet-56 {residual.diff * 100:+.2f} points from "
    f"ResNet-20. {seen} The training error of an epoch is measured on the augmented images as "
    "they are trained on, which is the quantity the paper plots."
)

# %% tags=["trained-numbers"]
claims.report(["resnet.degradation.plain", "resnet.degradation.residual"], budget, where)

# %% [markdown]
# ## Vanishing or exploding gradients?
#
# The note names vanishing/exploding gradients as the first problem of depth and says that
# normalised initialisation and intermediate normalisation hold it off only for tens of layers.
# He et al. argue the opposite for their plain nets: with BN, *"the backward propagated
# gradients exhibit healthy norms"*, so the degradation is not caused by vanishing gradients
# (Sec. 4.1). Measured at initialisation, on one batch of training images (128; 32 at `smoke`):
# the norm of each layer's weight gradient, from the input (left) to the classifier (right).

# %%
init = sd.gradient_flow_at_init(DEGRADATION, sd.probe_images(budget), seed=seed)
plot_gradient_flow(init, caption=caption_for(budget, "cpu") + " · at initialisation",
                   relative_depth=True,
                   title="‖∂L/∂W‖ per layer at initialisation (He init, BN in train mode)")
plt.show()

# %% tags=["trained-numbers"]
spread = sd.gradient_spread(init)
formatted(spread, decimals={"input-side third": 3, "output-side third": 3, "ratio": 1,
                            "orders": 2})

# %% tags=["trained-numbers"]
s = spread.set_index("model")["orders"]
grows = "grows" if s["plain56"] > 0 else "shrinks"
Markdown(
    f"In plain-56 the gradient is {10 ** s['plain56']:.3g}× as large in the input-side third of "
    f"the layers as in the output-side third (plain-20: {10 ** s['plain20']:.3g}×; ResNet-20: "
    f"{10 ** s['resnet20']:.3g}×; ResNet-56: {10 ** s['resnet56']:.3g}×): with BN, the deep plain "
    f"net's gradient {grows} towards the input. Yang et al. (2019) prove, for batch-normalised "
    "fully connected nets at initialisation, that the gradient explodes exponentially with depth; "
    "here the shortcuts take most of that imbalance away."
)

# %% [markdown]
# During training, the `gradient_flow` probe recorded the same per-layer norms about ten times
# per run; the imbalance, as orders of magnitude between the input-side and the output-side
# thirds:

# %%
probe = sd.probe_frame(runs, DEGRADATION)
sd.plot_spread_during_training(sd.gradient_spread(probe, by=("model", "seed", "step")),
                               caption=runs["plain20"][0].caption)
plt.show()

# %% tags=["trained-numbers"]
claims.report(["resnet.gradients.depth"], budget, where)

# %% [markdown]
# ## Highway networks
#
# A highway layer (Srivastava et al. 2015, Eq. 3) gates a plain layer `H` with a learned
# *transform gate* `T` and lets the rest of its input through:
#
# $$ y = H(x, W_H)\cdot T(x, W_T) + x\cdot\bigl(1 - T(x, W_T)\bigr), \qquad
#    T(x) = \sigma(W_T x + b_T). $$
#
# The gate's bias starts negative ($b_T = -2$), so at first every layer mostly *carries* its
# input. In the library's block `H` is a 3×3 convolution with ReLU and `T` a 3×3 convolution
# with a sigmoid, as in the authors' Caffe layer:

# %%
highway = sd.build("highway32", seed)
print(inspect.getsource(type(sd.highway_layers(highway)[0][1])))
x, y = sd.probe_batch(sd.probe_images(budget))
Markdown(f"On one batch of training images, every highway layer's output and Eq. 3 written out "
         f"on that layer's input differ by at most {sd.gate_equation_error(highway, x):.1e}.")

# %% [markdown]
# We re-shape the authors' 19-layer CIFAR model (`highway_19`) to the CIFAR ResNet's widths,
# 16-32-64 maps with 9 highway layers per stage: 32 layers as the highway paper counts them
# (each with a transform and a gate convolution), within a few per cent of ResNet-56's
# parameters and multiply-adds. Its plain twin replaces every highway layer by `H` alone. Both
# have no batch normalisation, as in the paper, and we drop the paper's dropout: the question is
# optimisation.

# %%
formatted(sd.cost_table(HIGHWAY), decimals={"MMACs per image": 1})

# %% [markdown]
# At initialisation the gates do what the negative bias asks (on the batch above):

# %%
gates = sd.gate_statistics(highway, x)
formatted(sd.gate_summary(gates), decimals={"mean T": 3, "saturated share": 3,
                                            "carry product through the stage": 3})

# %%
carry = sd.gate_summary(gates)["carry product through the stage"]
Markdown(
    f"Each layer passes on about {1 - gates['mean T'].mean():.2f} of its input ungated, so a "
    f"stage of nine layers carries only {carry.min():.2f}–{carry.max():.2f} of its input through "
    "to its end — where a ResNet's identity shortcut carries all of it. Trained at the budget, "
    "with the same schedule as the ResNets:"
)

# %%
plot_error_curves(curves, [("Highway-32, its plain twin and ResNet-56", list(HIGHWAY))],
                  caption=runs["highway32"][0].caption,
                  title="Fashion-MNIST: training error (solid) and test error (dashed)")
plt.show()

# %% tags=["trained-numbers"]
formatted(sd.final_table(runs, HIGHWAY), decimals={"final training error (%)": 2,
                                                   "final test error (%)": 2})

# %% tags=["trained-numbers"]
final = sd.final_table(runs, HIGHWAY).set_index("net")["final training error (%)"]
logits = sd.output_scale(sd.gradient_flow_at_init(HIGHWAY, sd.probe_images(budget), seed=seed))
Markdown(
    f"After {steps:,} steps the highway net's training error is {final['highway32']:.1f} %, its "
    f"plain twin's {final['highway32_plain']:.1f} % (chance: 90 %) and ResNet-56's "
    f"{final['resnet56']:.1f} %. At initialisation, on the batch above, the logits have a "
    f"standard deviation of {logits['highway32_plain']:.1e} in the plain twin, "
    f"{logits['highway32']:.1e} in the highway net and {logits['resnet56']:.2f} in ResNet-56. "
    "Without normalisation, each plain layer — weights of variance 1/fan-in, then a ReLU — halves "
    "the second moment of its input, so 27 of them leave almost nothing of the image for the "
    "classifier; the highway layers carry their input past the transform."
)

# %% [markdown]
# The probe also recorded the gradient of each gate's weights beside that of the transform it
# gates. The sigmoid's slope is at most 1/4 and about 0.10 at the initial bias, so the gates
# learn more slowly than the layers they control unless their inputs push them back:

# %% tags=["trained-numbers"]
ratio = sd.gate_gradient_ratio(sd.probe_frame(runs, ["highway32"]))
formatted(ratio, decimals={"median gate/transform gradient ratio": 3})

# %% [markdown]
# For scale, the papers' own CIFAR-10 figures (quoted from the model cards):

# %%
formatted(sd.quoted_cifar_errors())

# %% tags=["trained-numbers"]
claims.report(["highway.vs_plain", "highway.below_resnet"], budget, where)

# %% tags=["trained-numbers"]
r = ratio.groupby("step")["median gate/transform gradient ratio"].mean()
Markdown(
    "**What this says about the note's sigmoid conjecture.** Our measurements show two things "
    "the sigmoid does: the carry path is never an identity — through one stage at initialisation "
    f"it keeps {carry.min():.2f}–{carry.max():.2f} of the signal — and the gate weights receive "
    f"{r.iloc[0]:.2f}× (first probe) to {r.iloc[-1]:.2f}× (last probe) the gradient of the "
    "transform weights. He et al. (2016b, Sec. 3) make the related argument — multiplicative "
    "gates on the shortcut hamper propagation — with a gating ablation on ResNet-110. What our "
    "measurements cannot say is that the sigmoid is *why* highway nets trail ResNets: our highway "
    "net also differs from ResNet-56 by having no batch normalisation, a different "
    "initialisation and a gate convolution in place of a second convolution per layer. The "
    "experiment that would answer it — the same net with the gate replaced by an identity "
    "shortcut, everything else equal — is not run here."
)
