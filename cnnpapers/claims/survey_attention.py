"""Claims checked in the chapter ``survey_attention``: squeeze-and-excitation and CBAM, the
blocks of note 001's feature-map-exploitation and attention families (the note names them in
its taxonomy only, so the claims are the papers').

Cost claims are counted on the ImageNet nets; the accuracy claims need ImageNet and are answered
on the chapter's Fashion-MNIST runs (:mod:`cnnpapers.experiments.survey_attention`), read from
stored results when the context may not train.
"""

from __future__ import annotations

from ..analysis.cost import model_cost
from ..chapters import survey_attention as sa
from ..registry import count_parameters, create_model, model_info
from . import Context, Evidence, Verdict, claim, trained_verdict

CHAPTER = "survey_attention"
TAXONOMY = "note 001, taxonomy (Feature-map exploitation; Attention based CNNs)"


def _gmacs(name: str, pointwise: bool = False) -> float:
    import torch

    with torch.device("meta"):
        model = create_model(name)
    size = model_info(name).input_size
    macs = model_cost(model, size).macs
    return (macs + (sa.attention_pointwise_ops(model, size) if pointwise else 0)) / 1e9


@claim("se.params_added", chapter=CHAPTER, source=TAXONOMY + "; Hu et al. 2018, Sec. 4",
       statement="SE blocks add about 2.5 million parameters to ResNet-50's 25 million (about 10 %)",
       quoted=sa.SE_ADDED_PARAMS_QUOTE, kind="params")
def _se_params(ctx: Context) -> Evidence:
    added = count_parameters("se_resnet50") - count_parameters("resnet50_v1")
    share = added / count_parameters("resnet50_v1")
    ok = round(added / 1e6, 1) == 2.5
    return Evidence(f"{added:,} ({share:.1%})", Verdict.REPRODUCED if ok else Verdict.NOT_REPRODUCED,
                    "two fc layers per block, reduction 16, with biases; most of them in the "
                    "last stage's 2048-channel blocks")


@claim("se.flops", chapter=CHAPTER, source=TAXONOMY + "; Hu et al. 2018, Table 2, row ResNet-50",
       statement="SE blocks cost little computation: SE-ResNet-50 needs 3.87 GFLOPs against "
                 "ResNet-50's 3.86",
       quoted="3.86 → 3.87 GFLOPs", kind="flops")
def _se_flops(ctx: Context) -> Evidence:
    base, se_conv, se_all = _gmacs("resnet50_v1"), _gmacs("se_resnet50"), _gmacs("se_resnet50", True)
    ok = sa.printed_match(base, "3.86") and sa.printed_match(se_all, "3.87")
    return Evidence(f"{base:.3f} → {se_all:.3f} G (+{se_all / base - 1:.2%})",
                    Verdict.REPRODUCED if ok else Verdict.NOT_REPRODUCED,
                    f"multiply-adds of convolutions and fc layers ({se_conv:.3f} G with SE, "
                    f"+{se_conv / base - 1:.2%}) plus SE's squeeze and scale, one operation per "
                    "element each; the paper's 'GFLOPs' are multiply-adds, and its Sec. 4 quotes "
                    "'a 0.26% relative increase', between our two counts; down-sampling stride "
                    "in the first 1x1")


@claim("cbam.cost", chapter=CHAPTER, source=TAXONOMY + "; Woo et al. 2018, Table 4",
       statement="ResNet-50 + CBAM has 28.09 M parameters and 3.864 GFLOPs against the "
                 "baseline's 25.56 M and 3.858",
       quoted="25.56M, 3.858 → 28.09M, 3.864", kind="flops")
def _cbam_cost(ctx: Context) -> Evidence:
    p0, p1 = count_parameters("resnet50_v1"), count_parameters("cbam_resnet50")
    g0, g1 = _gmacs("resnet50_v1"), _gmacs("cbam_resnet50")
    ok = (sa.printed_match(p0 / 1e6, "25.56") and sa.printed_match(p1 / 1e6, "28.09")
          and sa.printed_match(g0, "3.858") and sa.printed_match(g1, "3.864"))
    return Evidence(f"{p0 / 1e6:.2f} M, {g0:.3f} G → {p1 / 1e6:.2f} M, {g1:.3f} G",
                    Verdict.REPRODUCED if ok else Verdict.NOT_REPRODUCED,
                    "multiply-adds of convolutions and fc layers only (CBAM's pooling and scaling "
                    "are not in the printed figure); down-sampling stride in the first 1x1")


def _trained(ctx: Context, model: str, against: str = sa.BASELINE) -> Evidence:
    runs = sa.collect(ctx.budget, device=ctx.device, run=ctx.run)
    if runs is None:
        return Evidence("no stored run", Verdict.NOT_RUN,
                        f"the chapter's runs at budget {ctx.budget} are not stored yet")
    d = sa.improvement(runs, model, against)
    verdict, why = trained_verdict(d, expect="above",
                                   runs=[r for net in (model, against) for r in runs[net]])
    r = runs[model][0].metrics
    steps = r["epochs"] * (r["train_images"] // r["batch_size"])
    return Evidence(
        f"{against} − {model} test error: {d.diff * 100:+.2f} points", verdict,
        f"{d.noise()}; Fashion-MNIST, ResNet-20, {r['train_images']:,} training images, "
        f"{steps:,} steps" + (f"; {why}" if why else ""))


@claim("se.improves", trained=True, chapter=CHAPTER, source=TAXONOMY + "; Hu et al. 2018, Table 2",
       statement="Adding an SE block to every residual branch lowers a ResNet's error",
       quoted="ResNet-50 24.80 % → SE-ResNet-50 23.29 % top-1 (ImageNet)", kind="error")
def _se_improves(ctx: Context) -> Evidence:
    return _trained(ctx, "se_resnet20_cifar")


@claim("cbam.improves", trained=True, chapter=CHAPTER, source=TAXONOMY + "; Woo et al. 2018, Table 4",
       statement="CBAM (channel then spatial attention) lowers a ResNet's error more than SE does",
       quoted="ResNet50 + CBAM 22.66 % top-1, the lowest ResNet-50 row of Table 4", kind="error")
def _cbam_improves(ctx: Context) -> Evidence:
    return _trained(ctx, "cbam_resnet20_cifar", against="se_resnet20_cifar")
