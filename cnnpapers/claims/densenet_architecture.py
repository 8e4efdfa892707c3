"""Claims checked in the chapter ``densenet_architecture`` (notes 000, 002, 003; DenseNet paper
Sec. 3, Tables 1-3, Fig. 3). All are answered by counting or tracing the models; the ImageNet
error comparisons need ImageNet training and say so."""

from __future__ import annotations

import functools

import torch

from ..chapters import densenet_architecture as arch
from ..registry import create_model, model_info
from . import Context, Evidence, Verdict, claim

CHAPTER = "densenet_architecture"
CHECKED = arch.TABLE2_DENSENETS + arch.IMAGENET_DENSENETS  # the DenseNets the notes print


def _verdict(ok: bool) -> Verdict:
    return Verdict.REPRODUCED if ok else Verdict.NOT_REPRODUCED


@functools.cache
def traces() -> tuple[arch.BlockTrace, ...]:
    """Fig. 1's block, and the first block of DenseNet (L=40, k=12), traced on real tensors."""
    torch.manual_seed(0)
    plain40 = create_model("densenet_40_k12")
    return (arch.trace_block(arch.figure1_model(), torch.randn(1, 3, 8, 8), compression=0.5),
            arch.trace_block(plain40, torch.randn(1, 3, 8, 8), compression=1.0))


@claim("densenet.connections", chapter=CHAPTER,
       source="note 003, 核心: DenseBlock; DenseNet paper Sec. 1",
       statement="Where a plain network with L layers has L connections, a dense block has "
                 "L(L+1)/2: layer ℓ reads the maps of all ℓ layers before it",
       quoted="L(L+1)/2", kind="other")
def _connections(ctx: Context) -> Evidence:
    parts, ok = [], True
    for t in traces():
        expected = t.num_readers * (t.num_readers + 1) // 2
        ok &= t.connections == expected and bool(t.readers["agrees"].all())
        parts.append(f"{t.connections} for L = {t.num_readers} (L(L+1)/2 = {expected})")
    return Evidence("; ".join(parts), _verdict(ok),
                    "connections found by comparing each layer's input, channel slice by channel "
                    "slice, with the maps produced before it: Fig. 1's block (4 layers and the "
                    "transition) and the first block of DenseNet (L=40, k=12)")


def _dense_layers(names):
    for name in names:
        for block in arch.meta_model(name).dense_blocks():
            for i, layer in enumerate(block.values()):
                yield name, block, i, layer


@claim("densenet.growth_inputs", chapter=CHAPTER,
       source="note 000, 增长率; note 003, 增长率; note 004, DenseBlock",
       statement="With growth rate k, layer ℓ of a block has k0 + (ℓ-1)·k input feature maps",
       quoted="k0 + (ℓ-1)·k", kind="other")
def _growth_inputs(ctx: Context) -> Evidence:
    layers = list(_dense_layers(CHECKED))
    good = sum(layer.conv1.in_channels == layer.norm1.num_features
               == block.num_input_features + i * block.growth_rate
               for _, block, i, layer in layers)
    return Evidence(f"{good:,} of {len(layers):,} layers", _verdict(good == len(layers)),
                    f"every dense layer of the {len(CHECKED)} DenseNets of Tables 1 and 2, read "
                    "from its BN and first convolution")


@claim("densenet.compression", chapter=CHAPTER, source="note 000, 压缩; note 003, 压缩(C标记)",
       statement="A transition after a block with m maps outputs ⌊θm⌋ maps (θ = 0.5 in "
                 "DenseNet-C/BC, 1 otherwise)",
       quoted="⌊θm⌋", kind="other")
def _compression(ctx: Context) -> Evidence:
    frame = arch.channel_bookkeeping(CHECKED)
    transitions = frame[frame["transition out (module)"] != "–"]
    good = int(transitions["agree"].sum())
    return Evidence(f"{good} of {len(transitions)} transitions", _verdict(good == len(transitions)),
                    f"the transitions of the {len(CHECKED)} DenseNets of Tables 1 and 2; each "
                    "block's output m also equals k0 + n·k")


@claim("densenet.bottleneck_4k", chapter=CHAPTER, source="note 000, Bottleneck Layer; note 003, 瓶颈层",
       statement="In DenseNet-B the 1x1 bottleneck convolution produces 4k feature maps",
       quoted="4k", kind="other")
def _bottleneck(ctx: Context) -> Evidence:
    layers = [(block, layer) for _, block, _, layer in _dense_layers(CHECKED) if layer.bottleneck]
    good = sum(layer.conv1.out_channels == 4 * block.growth_rate
               and layer.conv1.kernel_size == (1, 1) for block, layer in layers)
    return Evidence(f"{good:,} of {len(layers):,} bottleneck layers", _verdict(good == len(layers)),
                    "DenseNet-BC rows of Table 2 and the ImageNet DenseNets")


@claim("densenet.stem", chapter=CHAPTER, source="note 003, 实现细节",
       statement="The first convolution outputs 16 maps on CIFAR (2k for DenseNet-BC); on "
                 "ImageNet it is 2k 7x7 convolutions with stride 2",
       quoted="16 / 2k", kind="other")
def _stem(ctx: Context) -> Evidence:
    good = 0
    for name in CHECKED:
        model = arch.meta_model(name)
        conv, k = model.features.conv0, model.dense_blocks()[0].growth_rate
        if name in arch.IMAGENET_DENSENETS:
            good += conv.out_channels == 2 * k and conv.kernel_size == (7, 7) and conv.stride == (2, 2)
        else:
            good += conv.out_channels == (2 * k if "_bc_" in name else 16)
    return Evidence(f"{good} of {len(CHECKED)} networks", _verdict(good == len(CHECKED)),
                    "stem convolution read from each model")


@claim("densenet.table1.sizes", chapter=CHAPTER, source="notes 000 and 002, Table 1",
       statement="At 224x224 input the stages output 112, 56, 56, 28, 28, 14, 14, 7, 7 and 1 "
                 "pixels square",
       quoted="112 × 112 … 1 × 1", kind="other")
def _table1_sizes(ctx: Context) -> Evidence:
    table = arch.table1()  # raises if the five networks' stage sizes differ
    good = int(table["agree"].sum())
    return Evidence(f"{good} of {len(table)} rows, all {len(arch.IMAGENET_DENSENETS)} networks",
                    _verdict(good == len(table)),
                    "output sizes hooked on a meta-device forward pass of DenseNet-121/169/201/"
                    "264/161")


@claim("densenet.table1.depth", chapter=CHAPTER, source="notes 000 and 002, Table 1 (model names)",
       statement="DenseNet-121, -169, -201, -264 (and -161) are named by their number of "
                 "weighted layers",
       quoted="121 / 169 / 201 / 264 / 161", kind="other")
def _table1_depth(ctx: Context) -> Evidence:
    counts = {name: arch.weighted_layers(arch.meta_model(name)) for name in arch.IMAGENET_DENSENETS}
    wrong = {n: c for n, c in counts.items() if c != int(n.removeprefix("densenet"))}
    ours = ", ".join(f"{c}" for c in counts.values())
    detail = ("convolutions plus the classifier; "
              + ("; ".join(f"{n} has {arch.depth_breakdown(n)} (dense layers of two "
                           "convolutions, transitions, stem, classifier)" for n in wrong)
                 if wrong else "all names agree"))
    verdict = Verdict.REPRODUCED if not wrong else (
        Verdict.PARTLY if len(wrong) < len(counts) else Verdict.NOT_REPRODUCED)
    return Evidence(ours, verdict, detail)


def _table2_param_claim(row: arch.Table2Row) -> None:
    @claim(f"densenet.table2.params.{row.model}", chapter=CHAPTER,
           source=f"notes 000 and 002, Table 2, row {row.method}, depth {row.depth}",
           statement=f"{row.method} with L = {row.depth} has {row.params}M parameters",
           quoted=f"{row.params}M", kind="params")
    def check(ctx: Context) -> Evidence:
        n = arch.params(row.model)
        return Evidence(f"{n:,} ({n / 1e6:.2f}M)", _verdict(arch.rounds_to(row.params, n)),
                        "exact count with a 10-class head, at the table's rounding")


for _row in arch.TABLE2:
    if _row.model in arch.TABLE2_DENSENETS:
        _table2_param_claim(_row)


@claim("densenet.bc100_vs_preact1001", chapter=CHAPTER, source="note 003, 参数效率",
       statement="DenseNet-BC (L=100, k=12) has 90% fewer parameters than the 1001-layer "
                 "pre-activation ResNet, whose errors it matches (C10+ 4.51% vs 4.62%, C100+ "
                 "22.27% vs 22.71%)",
       quoted="90% fewer (0.8M vs 10.2M)", kind="savings")
def _bc100_vs_preact(ctx: Context) -> Evidence:
    bc, pre = arch.params("densenet_bc_100_k12"), arch.params("preact_resnet1001_cifar")
    saving = 1 - bc / pre
    return Evidence(f"{saving:.1%} fewer ({bc / 1e6:.2f}M vs {pre / 1e6:.2f}M)",
                    _verdict(saving >= 0.9),
                    "parameter counts ours; the errors are quotes (comparing them needs CIFAR)")


@claim("densenet.bc250_params", chapter=CHAPTER, source="note 003, 参数效率",
       statement="The 250-layer DenseNet-BC has only 15.3M parameters, yet beats FractalNet and "
                 "Wide ResNets with more than 30M",
       quoted="15.3M vs > 30M", kind="params")
def _bc250(ctx: Context) -> Evidence:
    bc = arch.params("densenet_bc_250_k24")
    others = {n: arch.params(n) for n in ("fractalnet20", "wrn_28_10")}
    ok = arch.rounds_to("15.3", bc) and all(v > 30e6 for v in others.values())
    listed = ", ".join(f"{n} {v / 1e6:.1f}M" for n, v in others.items())
    return Evidence(f"{bc / 1e6:.2f}M vs {listed}", _verdict(ok),
                    "counts ours (FractalNet's printed 38.6M is 33.7M as built, still > 30M); "
                    "'beats' is a quoted error comparison that needs CIFAR")


def _fig3_params() -> tuple[int, int]:
    return arch.cost("densenet201").params, arch.cost("resnet101").params


@claim("densenet.fig3.params", chapter=CHAPTER, source="note 003, ImageNet上的分类结果 (Fig. 3)",
       statement="DenseNet-201 has about 20M parameters, the 101-layer ResNet more than 40M",
       quoted="20M vs > 40M", kind="params")
def _fig3_param_counts(ctx: Context) -> Evidence:
    d201, r101 = _fig3_params()
    return Evidence(f"{d201 / 1e6:.2f}M vs {r101 / 1e6:.2f}M",
                    _verdict(arch.rounds_to("20", d201) and r101 > 40e6))


@claim("densenet.fig3.error_at_params", chapter=CHAPTER,
       source="note 003, ImageNet上的分类结果 (Fig. 3 left)",
       statement="At 20M parameters DenseNet-201 reaches about the validation error of ResNet-101 "
                 "with more than 40M",
       quoted="similar top-1 error", kind="error")
def _fig3_error_params(ctx: Context) -> Evidence:
    d, r = (model_info(n).reported.errors[arch.TOP1_10] for n in ("densenet201", "resnet101"))
    return Evidence(f"quoted 10-crop top-1: {d:.2f}% vs {r:.2f}%", Verdict.NEEDS_DATA,
                    "needs ImageNet training; the quotes come from two papers and two training "
                    "codes (DenseNet Table 3, He et al. Table 3)")


@claim("densenet.fig3.flops", chapter=CHAPTER, source="note 003, ImageNet上的分类结果 (Fig. 3 right)",
       statement="DenseNet-201 costs about as much compute as ResNet-50; ResNet-101 needs about "
                 "twice as much",
       quoted="≈ ResNet-50, ResNet-101 ≈ 2×", kind="flops")
def _fig3_flops(ctx: Context) -> Evidence:
    d201, r50, r101 = (arch.cost(n).gmacs for n in ("densenet201", "resnet50", "resnet101"))
    ok = abs(d201 / r50 - 1) <= 0.15 and 1.7 <= r101 / d201 <= 2.3
    return Evidence(f"{d201:.2f} vs {r50:.2f} GMACs ({d201 / r50:.2f}×); ResNet-101 {r101:.2f} "
                    f"GMACs ({r101 / d201:.2f}× DenseNet-201)", _verdict(ok),
                    "multiply-accumulates at 224x224, ResNets as in fb.resnet.torch (stride in "
                    "the 3x3); 'about' taken as within 15%, 'twice' as 1.7-2.3×")


@claim("densenet.fig3.error_at_flops", chapter=CHAPTER,
       source="note 003, ImageNet上的分类结果 (Fig. 3 right)",
       statement="With ResNet-50's compute DenseNet-201 reaches about ResNet-101's validation "
                 "error",
       quoted="similar top-1 error", kind="error")
def _fig3_error_flops(ctx: Context) -> Evidence:
    d, r50, r101 = (model_info(n).reported.errors[arch.TOP1_10]
                    for n in ("densenet201", "resnet50", "resnet101"))
    return Evidence(f"quoted 10-crop top-1: DenseNet-201 {d:.2f}%, ResNet-50 {r50:.2f}%, "
                    f"ResNet-101 {r101:.2f}%", Verdict.NEEDS_DATA,
                    "needs ImageNet training; quotes from two papers and two training codes")

