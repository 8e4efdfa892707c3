"""Claims checked in the chapter ``densenet_memory`` (note 003 "DenseNet的不足: 显存占用", note
004 "DenseNet特别耗费显存吗?" and the backward-pass questions). Memory is counted as bytes saved
for backward on the meta device (deterministic); the GPU claim needs a CUDA device."""

from __future__ import annotations

from ..chapters import densenet_memory as mem
from ..chapters import performance as perf
from ..chapters.densenet_architecture import params
from . import Context, Evidence, Verdict, claim

CHAPTER = "densenet_memory"
NOTE4_MEMORY = "note 004, DenseNet特别耗费显存吗?"


def _verdict(ok: bool) -> Verdict:
    return Verdict.REPRODUCED if ok else Verdict.NOT_REPRODUCED


def _fit(budget: str, variant: str):
    fits = mem.growth_fits(mem.saved_sweep(budget)).set_index("model")
    return fits.loc[variant]


def _depths(budget: str) -> str:
    d = mem.sweep_depths(budget)
    return f"L = {d[0]}…{d[-1]} ({len(d)} depths)"


@claim("densenet.memory.naive_quadratic", chapter=CHAPTER, source=NOTE4_MEMORY,
       statement="When every concatenation allocates new memory, a DenseNet's memory grows "
                 "quadratically with its depth",
       quoted="平方级别 (quadratic)", kind="memory")
def _naive_quadratic(ctx: Context) -> Evidence:
    fit = _fit(ctx.budget, "naive")
    ok = fit["growth"] == "quadratic" and fit["quadratic_r2"] > 0.9999
    return Evidence(f"{fit['growth']}: a2 = {fit['a2']:.3g} MiB per L², quadratic R² = "
                    f"{fit['quadratic_r2']:.6f}, L² term = {fit['quadratic_share']:.0%} of the "
                    "deepest value", _verdict(ok),
                    f"saved-tensor bytes, batch {mem.BATCH} at 32x32, {_depths(ctx.budget)}")


@claim("densenet.memory.efficient_linear", chapter=CHAPTER, source=NOTE4_MEMORY,
       statement="With one pre-allocated buffer shared by all concatenations, memory grows "
                 "linearly with depth",
       quoted="线性级别 (linear)", kind="memory")
def _efficient_linear(ctx: Context) -> Evidence:
    fit = _fit(ctx.budget, "memory-efficient")
    ok = fit["growth"] == "linear" and fit["linear_r2"] > 0.9999
    return Evidence(f"{fit['growth']}: b1 = {fit['b1']:.3g} MiB per layer of depth, linear R² = "
                    f"{fit['linear_r2']:.6f}, L² term = {fit['quadratic_share']:.1e} of the "
                    "deepest value", _verdict(ok),
                    f"saved-tensor bytes, batch {mem.BATCH} at 32x32, {_depths(ctx.budget)}")


@claim("densenet.memory.copies", chapter=CHAPTER, source=NOTE4_MEMORY,
       statement="A naive L-layer block uses the memory of L(L+1)/2 layers, because layer l's "
                 "output is stored L-l+1 times",
       quoted="L(L+1)/2; L-l+1 copies", kind="memory")
def _copies_claim(ctx: Context) -> Evidence:
    table, per_layer = mem.copies_table(10), mem.copies_per_layer(5)
    ok = bool(table["agrees"].all()) and bool(
        (per_layer["copies, naive"] == per_layer["L - l + 1"]).all())
    return Evidence(f"{int(table['agrees'].sum())} of {len(table)} block sizes (L = 1…"
                    f"{len(table)}): L(L+1)/2 layer outputs naive, L + 1 shared", _verdict(ok),
                    "storages read by the layers' first BN, in units of one layer's output "
                    "(k0 = k); every naive one is also saved for backward")


@claim("densenet.memory.backprop_formula", chapter=CHAPTER,
       source="note 004, ResNet和DensNet如何进行反向传播?",
       statement="Through o = o1 + l1 the gradient to l1 is (W + 1)ᵀ∂L/∂o; through o = o1 cat l1 "
                 "it is (W cat 1)ᵀ∂L/∂o, so l1 receives its own slice of the upstream gradient",
       quoted="∂L/∂l1 = ∂L/∂l2 · ∂l2/∂o · (W cat 1)", kind="other")
def _backprop_formula(ctx: Context) -> Evidence:
    table = mem.concat_backprop_check()
    worst = float(table[["max |∂o/∂l1 − note's Jacobian|", "max |autograd − formula|"]].max().max())
    return Evidence(f"largest difference from autograd {mem.roundoff_text(worst)}",
                    _verdict(worst < mem.ROUNDOFF),
                    "float64; Jacobians and gradients of both cases")


@claim("densenet.memory.backprop_block", chapter=CHAPTER,
       source="note 004, DenseNet的梯度传播特点",
       statement="In a dense block each layer's output gets the gradients of all later layers "
                 "that read it: the same gradient information is reused by many layers",
       quoted="大量梯度信息被重新用于更新不同密集层的权重", kind="other")
def _backprop_block(ctx: Context) -> Evidence:
    table = mem.block_gradient_check()
    worst = float(table["max |autograd − Σ reader slices|"].max())
    return Evidence(f"{len(table)} feature maps, largest difference {mem.roundoff_text(worst)}",
                    _verdict(worst < mem.ROUNDOFF),
                    "autograd's gradient of every x_j equals the sum of its slices of the input "
                    "gradients of all its readers (float64, a 5-layer block, k = 4)")


@claim("densenet.memory.artefact", chapter=CHAPTER, source=NOTE4_MEMORY,
       statement="DenseNet's memory hunger is an artefact of the implementation, not of the "
                 "architecture: a shared buffer refilled in backward computes the same network",
       quoted="算法实现不优带来的", kind="memory")
def _artefact(ctx: Context) -> Evidence:
    diff = float(mem.equivalence_check()["max |naive − memory-efficient|"].max())
    table = mem.saved_table(mem.saved_sweep(ctx.budget))
    deepest = table.iloc[-1]
    linear = _fit(ctx.budget, "memory-efficient")["growth"] == "linear"
    ok = diff < 1e-10 and linear and bool((table["naive / efficient"] > 1).all())
    return Evidence(f"same outputs and gradients (largest difference {mem.roundoff_text(diff)}); "
                    f"{deepest['naive / efficient']:.1f}× less saved memory at L = "
                    f"{int(deepest['depth'])}", _verdict(ok),
                    "float64 forward and backward with shared weights; memory from the depth sweep")


@claim("densenet.memory.params_vs_memory", chapter=CHAPTER,
       source="note 003, DenseNet的不足: Dense Connection 的显存占用大",
       statement="DenseNet saves parameters but uses more memory",
       quoted="省参数的却占用了更多的显存", kind="memory")
def _params_vs_memory(ctx: Context) -> Evidence:
    frame = mem.params_vs_memory().set_index("model")
    dense = frame.loc["densenet_bc_100_k12 (naive)"]
    resnets = frame.loc[[n for n in frame.index if not n.startswith("densenet")]]
    ok = bool((dense["params"] < resnets["params"]).all()
              and (dense["saved MiB"] > resnets["saved MiB"]).all())
    eff = frame.loc["densenet_bc_100_k12 (memory-efficient)", "saved MiB"]
    listed = ", ".join(f"{n} {r['params'] / 1e6:.2f}M / {r['saved MiB']:.0f} MiB"
                       for n, r in resnets.iterrows())
    return Evidence(f"DenseNet-BC-100 {dense['params'] / 1e6:.2f}M params / "
                    f"{dense['saved MiB']:.0f} MiB vs {listed}", _verdict(ok),
                    f"saved for backward at batch {mem.BATCH}, 32x32; the memory-efficient "
                    f"DenseNet-BC-100 saves {eff:.0f} MiB")


@claim("densenet.memory.k24_vs_resnet1001", chapter=CHAPTER, source="note 003, 显存占用对比",
       statement="DenseNet with 100 layers and growth rate 24 (no bottleneck) has close to three "
                 "times the parameters of ResNet-1001",
       quoted="接近三倍 (close to 3×)", kind="params")
def _k24_vs_1001(ctx: Context) -> Evidence:
    dense, resnet = params("densenet_100_k24"), params("preact_resnet1001_cifar")
    ratio = dense / resnet
    return Evidence(f"{ratio:.2f}× ({dense / 1e6:.2f}M vs {resnet / 1e6:.2f}M)",
                    _verdict(2.5 <= ratio <= 3.0),
                    "ResNet-1001 is the pre-activation net of Table 2; 'close to 3×' taken as "
                    "2.5-3×")


@claim("densenet.memory.gpu", chapter=CHAPTER, source="note 003, 显存占用对比",
       statement="After the shared-memory optimisation (Huang, taineleau) DenseNet's GPU-memory "
                 "problem is much improved",
       quoted="显存问题已大有改善", kind="memory")
def _gpu(ctx: Context) -> Evidence:
    result = None
    if ctx.device.startswith("cuda"):
        result = (mem.cuda_peak(ctx.budget, ctx.device) if ctx.run
                  else mem.lookup_cuda_peak(ctx.budget, ctx.device))
    if result is None:
        return _gpu_from_benchmark(ctx)
    frame = mem.rows_frame(result)
    fits = mem.growth_fits(frame, "cuda_increase_mib").set_index("model")
    deepest = frame[frame["depth"] == frame["depth"].max()].set_index("model")
    naive, eff = (deepest.loc[v, "cuda_increase_mib"] for v in mem.VARIANTS)
    ok = eff < naive and fits.loc["memory-efficient", "growth"] == "linear"
    return Evidence(f"CUDA peak {naive:.0f} → {eff:.0f} MiB at L = {int(frame['depth'].max())} "
                    f"({fits.loc['naive', 'growth']} → {fits.loc['memory-efficient', 'growth']})",
                    _verdict(ok), f"{result.provenance.get('device_name')}, batch {mem.BATCH}")


def _gpu_from_benchmark(ctx: Context) -> Evidence:
    """Without this page's CUDA depth sweep: the committed GPU run of ``bench densenet-memory``
    (DenseNet-BC-100, one depth). 'Much improved' is read as at most half the naive peak."""
    bench = perf.stored_gpu("densenet-memory")
    if bench is None:
        return (Evidence("no GPU on this machine", Verdict.NEEDS_GPU,
                         "the device-independent saved-tensor bytes above show the same effect")
                if not ctx.device.startswith("cuda")
                else Evidence("not measured yet", Verdict.NOT_RUN, "run the chapter on a GPU"))
    m = bench.metrics
    naive, eff = (m[form]["train_cuda_peak_bytes"] / 2**20 for form in ("naive", "efficient"))
    ratio = m["efficient_over_naive"]["train_cuda_peak_bytes"]
    return Evidence(f"CUDA peak {naive:.0f} → {eff:.0f} MiB ({ratio:.2f}×) for "
                    f"{bench.config['model']}", _verdict(ratio <= 0.5),
                    f"`bench densenet-memory` at budget {bench.config['budget']}, "
                    f"{perf.sizes(bench)} (committed); 'much improved' read as ≤ 0.5×")
