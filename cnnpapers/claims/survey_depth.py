"""Claims checked in the chapter ``survey_depth``: note 001, "Depth based CNNs" (Highway, ResNet).

The block and gradient claims are answered without training (a library block, one batch at
initialisation); the degradation and highway claims read the chapter's runs
(:mod:`cnnpapers.experiments.survey_depth`), from stored results when the context may not train.
"""

from __future__ import annotations

from ..chapters import survey_depth as sd
from ..registry import model_info
from . import Context, Evidence, Verdict, claim, trained_verdict

CHAPTER = "survey_depth"
NOTE_RESNET = "note 001, Depth based CNNs, ResNet 简介"


def _runs(ctx: Context, keys) -> sd.Runs | None:
    return sd.collect(ctx.budget, device=ctx.device, run=ctx.run, keys=keys)


def _setup(runs: sd.Runs) -> str:
    images = next(iter(runs.values()))[0].metrics["train_images"]
    return (f"Fashion-MNIST, {images:,} training images, {sd.optimiser_steps(runs):,} steps of "
            "the resnet-cifar schedule")


def _judge(runs: sd.Runs, gap, expect: str) -> tuple[Verdict, str]:
    """:func:`trained_verdict` on the runs of the two nets compared."""
    return trained_verdict(gap, expect=expect, runs=[r for rs in runs.values() for r in rs])


def _with(detail: str, why: str) -> str:
    return f"{detail}; {why}" if why else detail


def _not_run(ctx: Context) -> Evidence:
    return Evidence("no stored run", Verdict.NOT_RUN,
                    f"the chapter's runs at budget {ctx.budget} are not stored yet")


@claim("resnet.basic_block", chapter=CHAPTER, source="note 001, ResNet, Residual Block (code)",
       statement="The note's BasicBlock code (torchvision's) is the library's residual block: "
                 "same arguments, same parameter names, same output",
       quoted="class BasicBlock(nn.Module): expansion = 1 ... out += identity", kind="other")
def _basic_block(ctx: Context) -> Evidence:
    p = sd.block_parity()
    ok = p.same_state_dict_keys and p.arguments_in_order and p.max_abs_difference <= 1e-6
    return Evidence(f"max |Δ output| = {p.max_abs_difference:.1e} after a strict state-dict load",
                    Verdict.REPRODUCED if ok else Verdict.NOT_REPRODUCED,
                    "stride-2 block with a 1x1 projection shortcut, eval mode, random BN "
                    "statistics; ours adds one keyword-only argument (attention)")


@claim("resnet.degradation.plain", trained=True, chapter=CHAPTER, source=NOTE_RESNET + "; He et al. 2016, Fig. 6 left",
       statement="Degradation: a deeper plain net has a higher training error (plain-56 above "
                 "plain-20)",
       quoted="层数越深…训练错误率不会减小,反而也会增加 (deeper: training error increases)",
       kind="error")
def _degradation_plain(ctx: Context) -> Evidence:
    runs = _runs(ctx, ("plain20", "plain56"))
    if runs is None:
        return _not_run(ctx)
    g = sd.gap(runs, "plain56", "plain20")
    verdict, why = _judge(runs, g, "above")
    return Evidence(f"plain-56 − plain-20: {g.diff * 100:+.2f} points of training error",
                    verdict, _with(f"{sd.describe_gap('plain56', 'plain20', g)}; {_setup(runs)}",
                                   why))


@claim("resnet.degradation.residual", trained=True, chapter=CHAPTER,
       source=NOTE_RESNET + "; He et al. 2016, Fig. 6 middle",
       statement="Residual learning removes the degradation: ResNet-56 trains to a lower "
                 "training error than ResNet-20",
       quoted="ResNet-56 below ResNet-20 (Fig. 6, plotted, not printed)", kind="error")
def _degradation_residual(ctx: Context) -> Evidence:
    runs = _runs(ctx, ("resnet20", "resnet56", "plain56"))
    if runs is None:
        return _not_run(ctx)
    g = sd.gap(runs, "resnet56", "resnet20")
    cure = sd.gap(runs, "plain56", "resnet56")
    verdict, why = _judge({k: runs[k] for k in ("resnet20", "resnet56")}, g, "below")
    return Evidence(f"ResNet-56 − ResNet-20: {g.diff * 100:+.2f} points of training error",
                    verdict, _with(f"{sd.describe_gap('resnet56', 'resnet20', g)}; plain-56 − "
                                   f"ResNet-56: {cure.diff * 100:+.2f} points; {_setup(runs)}",
                                   why))


@claim("resnet.gradients.depth", chapter=CHAPTER, source=NOTE_RESNET + " (vanishing/exploding gradients)",
       statement="Normalised initialisation and intermediate normalisation (BN) keep gradients "
                 "in check only for tens of layers: the imbalance of gradients across the "
                 "layers of a plain net grows with depth, and the shortcuts of a ResNet reduce it",
       quoted="只在几十层内有效 (only effective within tens of layers)", kind="other")
def _gradients(ctx: Context) -> Evidence:
    keys = ("plain20", "plain56", "resnet20", "resnet56")
    n = sd.probe_images(ctx.budget)
    s = sd.gradient_spread(sd.gradient_flow_at_init(keys, n)).set_index("model")["orders"]
    grows = abs(s["plain56"]) > abs(s["plain20"])
    shortcut_helps = abs(s["resnet56"]) < abs(s["plain56"])
    verdict = (Verdict.REPRODUCED if grows and shortcut_helps else
               Verdict.PARTLY if grows or shortcut_helps else Verdict.NOT_REPRODUCED)
    direction = "larger" if s["plain56"] > 0 else "smaller"
    return Evidence(
        " / ".join(f"{k} {s[k]:+.1f}" for k in keys) + " orders of magnitude", verdict,
        "log10 of the input-side over the output-side third's mean ‖∂L/∂W‖ at initialisation "
        f"(BN, He init, one batch of {n} Fashion-MNIST images); in plain-56 the gradient is "
        f"{direction} near the input — it explodes towards the input rather than vanishing")


@claim("highway.vs_plain", trained=True, chapter=CHAPTER,
       source="note 001, Depth based CNNs, Highway; Srivastava et al. 2015, Fig. 1",
       statement="Gated cross-layer connections let a deep net train where its plain "
                 "counterpart (no shortcuts, no BN) does not",
       quoted="第一个提出来跨层连接机制 (the first cross-layer connection mechanism)",
       kind="error")
def _highway_vs_plain(ctx: Context) -> Evidence:
    runs = _runs(ctx, ("highway32", "highway32_plain"))
    if runs is None:
        return _not_run(ctx)
    g = sd.gap(runs, "highway32_plain", "highway32")
    # the claim is that the plain twin does *not* train: only the highway net must converge
    verdict, why = _judge({"highway32": runs["highway32"]}, g, "above")
    return Evidence(f"plain twin − highway: {g.diff * 100:+.2f} points of training error",
                    verdict, _with(f"{sd.describe_gap('highway32_plain', 'highway32', g)}; 32 "
                                   f"layers at widths 16-32-64; {_setup(runs)}", why))


def quoted_highway_vs_resnet() -> str:
    hw, rn = model_info("highway_19").reported, model_info("resnet56_cifar").reported
    return (f"不如ResNet (below ResNet); C10+ error: Highway {hw.errors['C10+']} % "
            f"({hw.params} M), ResNet-56 {rn.errors['C10+']} % ({rn.params} M)")


@claim("highway.below_resnet", trained=True, chapter=CHAPTER,
       source="note 001, Depth based CNNs, Highway; DenseNet Table 2 and He et al. Table 6 "
              "(the cards' quotes)",
       statement="Highway networks perform worse than ResNets",
       quoted=quoted_highway_vs_resnet(), kind="error")
def _highway_below_resnet(ctx: Context) -> Evidence:
    runs = _runs(ctx, ("highway32", "resnet56"))
    if runs is None:
        return _not_run(ctx)
    g = sd.gap(runs, "highway32", "resnet56", column="test_error")
    verdict, why = _judge(runs, g, "above")
    return Evidence(f"highway − ResNet-56: {g.diff * 100:+.2f} points of test error", verdict,
                    _with(f"{sd.describe_gap('highway32', 'resnet56', g, 'test_error')}; equal "
                          "parameters and multiply-adds within a few per cent, but the highway "
                          f"net has no BN (as in its paper); {_setup(runs)}", why))
