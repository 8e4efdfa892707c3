# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -papermill,-execution
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -papermill,-widgets,-varInspector
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: cnnpapers (venv)
#     language: python
#     name: cnnpapers
# ---

# %% [markdown]
# # Performance: fast and memory-lean DenseNet training
#
# The notes' claims this page measures:
#
# * A naive DenseNet is memory-hungry: when every concatenation allocates a new tensor, an
#   L-layer dense block keeps L(L+1)/2 layer outputs for backward, O(L²); one buffer shared by
#   all concatenations and re-filled in backward makes it O(L) (note 004; the depth sweep is in
#   {doc}`densenet_memory`).
# * Pleiss et al. (2017, abstract, quoted): shared memory allocations cut the memory for
#   storing feature maps *"from quadratic to linear"*, so that *"networks with 14M parameters
#   can be trained on a single GPU, up from 4M"*. Their released PyTorch code states the price
#   as *"15-20%"* extra compute time (quoted from its README, not measured here).
# * This book's targets for its own implementation: on a GPU, the memory-efficient DenseNet at
#   ≤40 % of the naive peak memory for ≤15 % extra time, and our training loop ≥3× a plain eager
#   fp32 loop (≥2× on a CPU that computes bf16 natively).
#
# Every number below is measured side by side in one process (the variants take turns round by
# round) by `python -m cnnpapers bench densenet-memory` and `... bench vs-torchvision`. On the
# CPU the sizes are much smaller than the GPU's (batch 64 at 224×224), and memory is the bytes
# saved for backward (or a fresh process's peak RSS), not a CUDA peak; each figure says which.

# %% tags=["parameters"]
budget = "smoke"  # smoke | cpu | gpu | paper
dataset = "fashion-mnist"  # unused: the benchmarks run on random images of the model's input
seed = 0  # the benchmarks' weights and inputs
device = "auto"  # auto | cpu | cuda

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from cnnpapers.book import page_provenance, resolve_device, table
from cnnpapers.chapters import performance as perf

where = resolve_device(device)
page_provenance(budget, device)

# %%
Markdown(perf.gpu_status())

# %% [markdown]
# ## The targets, against the best stored measurement of each
#
# Speed targets compare our training loop (`cnnpapers.train.fit` with its fast path) with the
# textbook loop: a `DataLoader` over float tensors, eager fp32, NCHW, the loss read back every
# step. Both train the same DenseNet-BC-100 (k = 12) on the same Fashion-MNIST images at batch 64,
# in one run (`python -m cnnpapers bench train-speed`). Memory targets come from the GPU run of
# `bench densenet-memory` (last section). Every stored measurement is used, whichever budget this
# page runs at: GPU numbers are measured on a GPU machine and committed.

# %%
# NBVAL_IGNORE_OUTPUT
table(perf.targets_table())

# %% [markdown]
# ## Our training loop vs a plain eager fp32 loop
#
# DenseNet-BC-100 at batch 64 on 28×28 images is a *launch-bound* network on a GPU: each of its
# few hundred kernels per step finishes faster than Python and the CUDA driver can issue the next.
# Switches that make the arithmetic cheaper (bf16 autocast, channels_last) then do not help and
# can hurt — autocast adds a cast kernel per convolution —, while CUDA graphs, which replay the
# whole compiled step as one launch, remove exactly that overhead. On a CPU the arithmetic is the
# bottleneck, so bf16 pays only where the CPU computes it natively (AVX-512 BF16 or AMX); the
# fast path turns it on only there (`cnnpapers.train.resolve_fast_path`).

# %%
# NBVAL_IGNORE_OUTPUT
speeds = perf.train_speed_table()
table(speeds.drop(columns=["kind"]), floatfmt=".3g")

# %%
# NBVAL_IGNORE_OUTPUT
if len(speeds):
    perf.plot_train_speed(speeds)
    plt.show()

# %% [markdown]
# ## Does the fast path change what the network learns?
#
# A faster loop is only useful if it trains the same network. `python -m cnnpapers bench
# fast-path-parity` trains the same short run three times: with the plain path (fp32, NCHW),
# with the fast path at the same seed (same initial weights, same batches), and with the plain
# path at the next seed. The last run measures the noise: the fast path counts as leaving the
# learning curve unchanged when its largest per-epoch gap to the plain run is no larger than the
# next seed's, in training loss and in test error. For test error the margin is never below two
# binomial standard errors of a difference of two error rates on the test set, because one seed
# pair can land close by chance (`cnnpapers.bench.parity_gaps`). It is a rough check: one seed
# pair is one draw of the noise. bf16 autocast rounds the same way on every device, so a CPU
# without native bf16 can check its accuracy (slowly, by emulation) even though it cannot show
# its speed.

# %%
# NBVAL_IGNORE_OUTPUT
table(perf.one_column_per_run(perf.parity_table()))

# %%
# NBVAL_IGNORE_OUTPUT
parity_runs = perf.parity_results()
for parity in parity_runs:
    perf.plot_parity(parity)
    plt.show()
if not parity_runs:
    display(Markdown("No parity run is stored yet."))

# %% [markdown]
# ## The engine's reference run
#
# DenseNet-BC-100 (k = 12) with a 1-channel stem, trained on Fashion-MNIST with the engine's
# default fast path for the device. A plain eager loop trains it at about 20 images/s on this
# project's 2-core CPU, so the `cpu` budget trains on a subset for a few epochs (the table gives
# the sizes), while the `gpu` budget trains on all 60,000 images (`python -m cnnpapers train
# --model densenet_bc_100_k12 --dataset fashion-mnist --budget gpu`). Every stored run of this
# model on this dataset is listed, whichever chapter stored it.

# %%
# NBVAL_IGNORE_OUTPUT
reference = perf.reference_runs()
table(perf.reference_table().drop(columns=["provenance"]), floatfmt=".3g")

# %%
# NBVAL_IGNORE_OUTPUT
display(Markdown(perf.reference_status(reference)))
if reference:
    perf.plot_reference(reference)
    plt.show()

# %% [markdown]
# ## Naive vs memory-efficient DenseNet-BC-100 (k = 12)
#
# The same model and weights in both forms; one training step each (forward, cross-entropy,
# backward, SGD step), interleaved. The ratio on the memory-efficient bar is efficient/naive.

# %%
# NBVAL_IGNORE_OUTPUT
memory_result = perf.measured("densenet-memory", budget, where)
table(perf.memory_table(memory_result), floatfmt=".3g")

# %%
# NBVAL_IGNORE_OUTPUT
perf.plot_memory(memory_result)
plt.show()

# %% [markdown]
# ## Ours vs torchvision's DenseNet-121
#
# `cnnpapers.create_model("densenet121")` loads torchvision's `state_dict` strictly, so both run
# with the same weights, each with `memory_efficient` False and True. The ratio on each of our
# bars is ours/torchvision at the same setting.

# %%
# NBVAL_IGNORE_OUTPUT
tv_result = perf.measured("vs-torchvision", budget, where)
table(perf.torchvision_table(tv_result), floatfmt=".3g")

# %%
# NBVAL_IGNORE_OUTPUT
perf.plot_torchvision(tv_result)
plt.show()

# %% [markdown]
# ## The same benchmarks measured on a GPU
#
# The committed GPU results of both benchmarks (budget `gpu`: batch 64, 20 interleaved rounds),
# drawn here whatever device this page runs on; the caption under each figure names the card.

# %%
# NBVAL_IGNORE_OUTPUT
gpu_memory, gpu_tv = perf.stored_gpu("densenet-memory"), perf.stored_gpu("vs-torchvision")
if gpu_memory is None or gpu_tv is None:
    display(Markdown("No GPU result of these benchmarks is stored yet."))
else:
    display(table(perf.memory_table(gpu_memory), floatfmt=".3g"))
    perf.plot_memory(gpu_memory)
    plt.show()
    display(table(perf.torchvision_table(gpu_tv), floatfmt=".3g"))
    perf.plot_torchvision(gpu_tv)
    plt.show()
