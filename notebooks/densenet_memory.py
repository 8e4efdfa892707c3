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
# # DenseNet's memory: quadratic by implementation, linear by design
#
# Note 003 lists DenseNet's best-known weakness ("DenseNet的不足: Dense Connection 的显存占用大"):
# "in theory DenseNet saves parameters, yet it takes more GPU memory"; a DenseNet with 100
# layers and growth rate 24 already has nearly three times the parameters of ResNet-1001, and
# "a small lab's Titan X cannot fit a deeper DenseNet" — until the authors' optimisation, after
# which "the memory problem is much improved". Note 004 (Q&A, "DenseNet特别耗费显存吗?") explains
# why: the hunger "comes from a sub-optimal implementation". If every concatenation allocates new
# memory, an L-layer network uses the memory of L(L+1)/2 layers, because layer l's output is
# stored L−l+1 times; one pre-allocated buffer shared by all concatenations, refilled in the
# backward pass, brings memory "from quadratic down to linear". Note 004 also writes out how the
# gradient passes back through a concatenation, compared with ResNet's sum.
#
# `cnnpapers`' DenseNet implements both forms (`memory_efficient=False/True`, the second after
# Pleiss et al. 2017). This chapter counts what each keeps for backward as the network deepens,
# checks the L(L+1)/2 count and the backward formula, shows that both forms are the same network,
# and measures what the recomputation costs in time. No training is involved; the architecture
# itself is in {doc}`densenet_architecture`.

# %% tags=["parameters"]
budget = "smoke"  # smoke | cpu | gpu | paper
dataset = "fashion-mnist"  # unused: memory is measured on random inputs
seed = 0
device = "auto"  # auto | cpu | cuda

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from cnnpapers import claims
from cnnpapers.analysis import caption_for, plot_memory_sweep
from cnnpapers.book import page_provenance, resolve_device, table
from cnnpapers.chapters import densenet_memory as mem

device = resolve_device(device)
page_provenance(budget, device)

# %% [markdown]
# ## Where L(L+1)/2 comes from
#
# A naive block builds the input of layer ℓ with `torch.cat`, a fresh tensor holding
# $x_0, \dots, x_{\ell-1}$; batch norm keeps it for the backward pass. The memory-efficient block
# writes every $x_j$ once into a buffer and hands layer ℓ a view of its first channels. Hooks on
# each layer's first BN record which storage its input lives in; with $k_0 = k$ every $x_j$ is one
# "layer output" of memory. How many stored copies of each layer's output a 5-layer block holds:

# %%
table(mem.copies_per_layer(5))

# %% [markdown]
# And the total memory of the concatenated inputs, in layer outputs, for blocks of 1 to 10
# layers ("saved for backward" counts the naive storages autograd's saved-tensor hooks saw):

# %%
copies = mem.copies_table(10)
table(copies)

# %%
Markdown(
    f"For every block size the naive form holds exactly L(L+1)/2 layer outputs "
    f"({'all' if copies['agrees'].all() else 'not all'} {len(copies)} rows agree), layer l's "
    "output in L−l+1 copies, as note 004 says; the shared buffer holds each output once, "
    "L + 1 in all."
)

# %% [markdown]
# ## Saved activations against depth
#
# Whole networks now: the CIFAR DenseNet of Table 2 (no bottleneck, k = 12) at depths
# L = 3n + 4, a training forward pass on a batch of 64 images of 32×32 (the paper's CIFAR batch),
# counting every distinct storage autograd saves for backward (`cnnpapers.analysis.memory`, on
# the meta device: exact and deterministic, nothing is computed). Parameters are identical in
# both forms.

# %%
sweep = mem.saved_sweep(budget)
table(mem.saved_table(sweep), floatfmt=".1f")

# %% [markdown]
# Least-squares fits of saved MiB against L: $a_2L^2 + a_1L + a_0$ and $b_1L + b_0$, with their
# R²; *growth* is "quadratic" when the L² term makes up more than 5% of the fitted value at the
# deepest point.

# %%
table(mem.growth_fits(sweep), floatfmt=".4g")

# %%
plot_memory_sweep(sweep, caption=caption_for(budget, "meta"),
                  title=f"Saved for backward, batch {mem.BATCH} at 32×32: naive vs memory-efficient")
plt.show()

# %%
fits = mem.growth_fits(sweep).set_index("model")
saved = mem.saved_table(sweep)
Markdown(
    f"Naive: **{fits.loc['naive', 'growth']}** (a₂ = {fits.loc['naive', 'a2']:.3g} MiB per L², "
    f"R² = {fits.loc['naive', 'quadratic_r2']:.6f}); memory-efficient: "
    f"**{fits.loc['memory-efficient', 'growth']}** (b₁ = {fits.loc['memory-efficient', 'b1']:.3g} "
    f"MiB per unit of L, R² = {fits.loc['memory-efficient', 'linear_r2']:.6f}). On a log-log "
    f"scale the slopes are {mem.log_log_slope(sweep, 'naive'):.2f} and "
    f"{mem.log_log_slope(sweep, 'memory-efficient'):.2f}. At L = {saved['depth'].iloc[-1]} the "
    f"naive network keeps {saved['naive / efficient'].iloc[-1]:.1f}× as much as the "
    "memory-efficient one, and the gap widens with every layer."
)

# %% [markdown]
# ## Peak memory of a real pass
#
# Saved-tensor bytes leave out what a real pass also holds (parameter gradients, the allocator's
# temporaries). Two real measurements: the peak resident memory of a fresh process that runs one
# training forward and backward on this CPU (its growth during the pass; coarse, since the
# allocator and the runtime add their own), and, on a GPU, CUDA's peak allocation over the
# sweep's depths up to L = 190 (deeper naive networks outgrow a GPU's memory).

# %%
# NBVAL_IGNORE_OUTPUT
if mem.rss_plan(budget)["depths"]:
    rss = mem.rows_frame(mem.process_peak(budget, seed))
    rss["batch"] = mem.rss_plan(budget)["batch_size"]
    display(table(rss[["model", "depth", "batch", "params", "rss_increase_mib", "rss_method"]],
                  floatfmt=".1f"))
else:
    display(Markdown(f"*Process peaks are not measured at the `{budget}` budget (each point "
                     "starts a fresh Python process).*"))

# %%
# NBVAL_IGNORE_OUTPUT
if device.startswith("cuda"):
    cuda = mem.rows_frame(mem.cuda_peak(budget, device, seed))
    display(table(mem.memory_table(cuda, "cuda_increase_mib", "depth"), floatfmt=".1f"))
    display(table(mem.growth_fits(cuda, "cuda_increase_mib"), floatfmt=".4g"))
    plot_memory_sweep(cuda, column="cuda_increase_mib", caption=caption_for(budget, device))
    plt.show()
else:
    display(Markdown("*CUDA peak memory needs a GPU; this page was built on a CPU. The "
                     "saved-tensor bytes above do not depend on the device.*"))

# %% [markdown]
# ## Fewer parameters, more memory
#
# Note 003's complaint, measured at the batch above: DenseNet-BC (L = 100, k = 12), the notes'
# parameter-efficient network, against two CIFAR ResNets of Table 2.

# %%
pvm = mem.params_vs_memory()
table(pvm, floatfmt=".1f")

# %%
pvm = pvm.set_index("model")
naive, eff = pvm.loc["densenet_bc_100_k12 (naive)"], pvm.loc["densenet_bc_100_k12 (memory-efficient)"]
resnets = pvm[~pvm.index.str.startswith("densenet")]
Markdown(
    "With " + " and ".join(f"{r['params'] / naive['params']:.1f}× fewer parameters than {n}"
                           for n, r in resnets.iterrows())
    + ", the naive DenseNet-BC keeps "
    + " and ".join(f"{naive['saved MiB'] / r['saved MiB']:.1f}× as much" for _, r in resnets.iterrows())
    + f" for backward; the memory-efficient form keeps {eff['saved MiB']:.0f} MiB, "
    f"{naive['saved MiB'] / eff['saved MiB']:.1f}× less than the naive one."
)

# %% [markdown]
# ## Backpropagation through a concatenation (note 004)
#
# Note 004 ("ResNet和DensNet如何进行反向传播?") writes, for $l_1 \to o_1 = W l_1$ and a next layer
# $l_2$ that reads $o$:
#
# $$\text{ResNet: } o = o_1 + l_1,\quad \frac{\partial L}{\partial l_1} = \frac{\partial L}{\partial l_2}\frac{\partial l_2}{\partial o}(W + 1);\qquad
# \text{DenseNet: } o = o_1 \,\mathrm{cat}\, l_1,\quad \frac{\partial L}{\partial l_1} = \frac{\partial L}{\partial l_2}\frac{\partial l_2}{\partial o}(W \,\mathrm{cat}\, 1),$$
#
# "W cat 1" being W with an identity block of $l_1$'s shape stacked onto it: through the
# concatenation, $l_1$ receives exactly its own slice of the upstream gradient. Checked against
# autograd in float64, Jacobian and gradient:

# %%
table(mem.show_roundoff(mem.concat_backprop_check(seed=seed)))

# %% [markdown]
# On a real dense block (5 layers, k = 4, float64) the same rule, summed: every feature map $x_j$
# is read by all later layers and by the block's output concatenation, and its gradient must be
# the sum of the slices that belong to it in each reader's input gradient — note 004's "a large
# amount of gradient information is reused to update different dense layers".

# %%
table(mem.block_gradient_check(num_layers=5, growth_rate=4, seed=seed), floatfmt=".3g")

# %% [markdown]
# ## Two implementations, one network
#
# If the memory hunger is an implementation artefact, the memory-efficient form must compute the
# same function with the same gradients. Naive and memory-efficient DenseNet (L = 22, k = 12)
# with shared weights, one training forward and backward in float64:

# %%
table(mem.show_roundoff(mem.equivalence_check(depth=22, seed=seed)))

# %% [markdown]
# ## What the recomputation costs
#
# The shared buffer is overwritten as the block runs, so the backward pass recomputes each
# layer's BN-ReLU from it. Time of one training step (forward, loss, backward, SGD update) on
# this machine, median of the repeats, for our DenseNet-BC (L = 100, k = 12) and for torchvision's
# DenseNet-121, whose `memory_efficient=True` recomputes BN-ReLU-Conv 1×1 by checkpointing (at a
# small input, for reference). At budgets above `smoke` the timings are stored in the results
# cache and reused when the book is rebuilt.

# %%
# NBVAL_IGNORE_OUTPUT
times = mem.step_time_table(mem.step_times(budget, device, seed))
display(table(times, floatfmt=".3g"))
slower = times["time vs naive"].iloc[[1, 3]]
caveat = " (at the `smoke` budget: one step each without warm-up, which only exercises the code)"
display(Markdown(f"On this machine the memory-efficient step takes {slower.iloc[0]:.2f}× the naive "
                 f"one for our DenseNet-BC and {slower.iloc[1]:.2f}× for torchvision's "
                 f"DenseNet-121{caveat if budget == 'smoke' else ''}."))

# %% [markdown]
# What the DenseNet-121s keep for backward at the same input (saved-tensor bytes): torchvision's
# and ours alike in the naive form; memory-efficient, torchvision checkpoints BN-ReLU-Conv 1×1
# over the list of earlier maps (and still concatenates each block's output), ours recomputes
# BN-ReLU over the one shared buffer.

# %%
table(mem.reference_saved_bytes(budget), floatfmt=".2f")

# %% [markdown]
# ## The claims, checked

# %%
claims.report([c.id for c in claims.list_claims("densenet_memory")], budget, device)
