"""Claims of note 001's width / multi-connection sections (DenseNet, PyramidNet, Xception,
MobileNet v1/v2, ShuffleNet v2), checked in the chapter ``survey_width``.

The structural and cost claims are answered by counting. The ShuffleNet v2 speed claims read
the guideline benchmarks and the run-time decomposition through
:func:`cnnpapers.chapters.survey_width.guideline_result` / ``decomposition_result``: with
``run=False`` (the ledger page) only what a chapter already measured or stored.
"""

from __future__ import annotations

from ..chapters import survey_width as width
from . import Context, Evidence, Verdict, claim

CHAPTER = "survey_width"
NOTE = "note 001"


def _verdict(ok: bool) -> Verdict:
    return Verdict.REPRODUCED if ok else Verdict.NOT_REPRODUCED


def _not_measured(ctx: Context, what: str) -> Evidence:
    return Evidence("not measured", Verdict.NOT_RUN,
                    f"{what}: measured only when the chapter runs (budget {ctx.budget!r}; stored "
                    "from budget 'cpu' up)")


# --------------------------------------------------------------------------- counted claims


@claim("survey_width.densenet_connections", chapter=CHAPTER, source=f"{NOTE}, DenseNet",
       statement="Every layer is connected to every other layer of its block, so L layers have "
                 "L(L+1)/2 connections instead of L", quoted="L(L+1)/2", kind="other")
def _densenet_connections(ctx: Context) -> Evidence:
    df = width.dense_connections("densenet121")
    ok = (df["connections (counted)"] == df["L(L+1)/2"]).all()
    pairs = ", ".join(f"L={r['layers L']}: {r['connections (counted)']}" for _, r in df.iterrows())
    return Evidence(pairs, _verdict(ok), "DenseNet-121's four blocks; each layer's sources "
                                         "read from its input width")


@claim("survey_width.pyramidnet_gradual", chapter=CHAPTER, source=f"{NOTE}, Pyramidal Net",
       statement="PyramidNet widens every layer gradually instead of doubling the width where "
                 "the resolution halves", quoted="每层的宽度都会逐步增加 (every layer's width "
                                                 "increases step by step)", kind="other")
def _pyramidnet_gradual(ctx: Context) -> Evidence:
    s = width.ramp_summary(width.width_ramp()).set_index("model")
    p, r = s.loc["pyramidnet110_a48"], s.loc["resnet110_cifar"]
    ok = p["never narrows"] and p["steps that widen"] > 0.8 * p["steps"]
    return Evidence(f"PyramidNet-110 (α=48): {p['first width']} → {p['last width']} channels, wider at "
                    f"{p['steps that widen']} of {p['steps']} unit steps (ResNet-110: "
                    f"{r['steps that widen']})", _verdict(ok),
                    "the steps that do not widen are where α/N < 1 channel rounds to no change")


@claim("survey_width.xception_channelwise", chapter=CHAPTER, source=f"{NOTE}, Xception",
       statement="An Xception block applies as many spatial transformations as there are "
                 "channels (a 1×1 convolution and a per-channel spatial convolution), lowering "
                 "the computational complexity", quoted="变换个数等于通道个数 (as many "
                                                         "transformations as channels)",
       kind="flops")
def _xception_channelwise(ctx: Context) -> Evidence:
    sep = width.xception_separable().iloc[0]
    cmp = width.separable_vs_standard()
    ratio = cmp["relative to standard"].iloc[1]
    ok = bool(sep["depthwise groups = channels"]) and ratio < 1
    return Evidence(f"{sep['separable convolutions']} separable convolutions, each with one 3×3 "
                    f"filter per channel; {ratio:.1%} of a standard 3×3's MACs at 728 channels",
                    _verdict(ok), f"order {sep['first step']} first with nothing in between "
                                  "(the TensorFlow order the note describes, not Inception's)")


@claim("survey_width.mobilenet_cost_formulas", chapter=CHAPTER, source=f"{NOTE}, MobileNetV1",
       statement="A standard convolution costs D_k·D_k·M·N·D_F·D_F and a depthwise separable one "
                 "D_k·D_k·M·D_F·D_F + M·N·D_F·D_F", quoted="D_k·D_k·M·N·D_F·D_F vs "
                                                          "D_k·D_k·M·D_F·D_F + M·N·D_F·D_F",
       kind="flops")
def _mobilenet_cost_formulas(ctx: Context) -> Evidence:
    df = width.separable_layers()
    ok = ((df["separable (counted)"] == df["separable (formula)"]).all()
          and (df["standard (counted)"] == df["standard (formula)"]).all())
    return Evidence(f"both formulas equal the counted MACs of all {len(df)} layers; separable/standard "
                    f"= {df['ratio'].min():.3f}–{df['ratio'].max():.3f}", _verdict(ok),
                    "MobileNet v1 (α = 1, 224×224); the ratio is exactly 1/N + 1/9 (Eq. 5): "
                    f"{1 / df['ratio'].max():.1f}× to {1 / df['ratio'].min():.1f}× fewer MACs")


@claim("survey_width.mobilenet_width_multiplier", chapter=CHAPTER,
       source=f"{NOTE}, MobileNetV1 (宽度乘子); Howard et al. 2017, Table 6",
       statement="The width multiplier α (typically 1, 0.75, 0.5, 0.25) thins every layer and cuts "
                 "the computation: 569, 325, 149, 41 million mult-adds and 4.2, 2.6, 1.3, 0.5 "
                 "million parameters", quoted="569/325/149/41 M mult-adds; 4.2/2.6/1.3/0.5 M params",
       kind="flops")
def _mobilenet_width_multiplier(ctx: Context) -> Evidence:
    df = width.width_multiplier_table()
    ok = df["MACs agree"].all() and df["params agree"].all()
    macs = "/".join(f"{m / 1e6:.1f}" for m in df["MACs"])
    params = "/".join(f"{p / 1e6:.2f}" for p in df["params"])
    return Evidence(f"{macs} M MACs; {params} M params", _verdict(ok),
                    f"MACs fall about as α² ({df['MACs / MACs(α=1)'].iloc[-1]:.3f} at α = 0.25 vs "
                    f"α² = {df['α²'].iloc[-1]:.4f}); parameters fall more slowly, since the "
                    "classifier's 1024α × 1000 weights shrink only linearly in α")


@claim("survey_width.mobilenet_resolution_multiplier", chapter=CHAPTER,
       source=f"{NOTE}, MobileNetV1 (分辨率乘子); Howard et al. 2017, Table 7",
       statement="The resolution multiplier ρ shrinks the input and with it the computation: 569, "
                 "418, 290, 186 million mult-adds at 224, 192, 160, 128 pixels, parameters unchanged",
       quoted="569/418/290/186 M mult-adds", kind="flops")
def _mobilenet_resolution_multiplier(ctx: Context) -> Evidence:
    df = width.resolution_multiplier_table()
    wrong = df[~df["MACs agree"]]
    macs = "/".join(f"{m / 1e6:.1f}" for m in df["MACs"])
    verdict = Verdict.REPRODUCED if wrong.empty else Verdict.PARTLY
    detail = "parameters identical at every ρ; MACs scale as ρ² except for the classifier"
    if not wrong.empty:
        detail += "; " + ", ".join(f"{r['input']}×{r['input']}: {r['MACs'] / 1e6:.1f} M, printed "
                                   f"{r['quoted MACs (M)']} M" for _, r in wrong.iterrows())
    return Evidence(f"{macs} M MACs", verdict, detail)


@claim("survey_width.mobilenet_v2_block", chapter=CHAPTER, source=f"{NOTE}, Mobilenet V2 (points 1–5)",
       statement="MobileNet v2's inverted residual expands by a default factor of 6 with a 1×1 "
                 "convolution, filters depthwise, projects back with a linear 1×1 convolution, "
                 "uses ReLU6(x) = min(max(x, 0), 6), and has a shortcut when input and output "
                 "match", quoted="expansion 6; ReLU6 = min(max(x,0),6)", kind="other")
def _mobilenet_v2_block(ctx: Context) -> Evidence:
    c = width.inverted_residual_census()
    sixes = int((c["t"] == 6).sum())
    shortcut_rule = (c["shortcut"] == ((c["stride"] == 1) & (c["in"] == c["out"]))).all()
    ok = sixes == len(c) - 1 and c["linear end"].all() and shortcut_rule and width.relu6_matches()
    return Evidence(f"t = 6 in {sixes} of {len(c)} blocks (t = 1 in the first); {int(c['shortcut'].sum())} "
                    f"shortcuts, exactly where stride = 1 and in = out; every block ends linear",
                    _verdict(ok), "nn.ReLU6 equals min(max(x, 0), 6) on a grid of 1,001 points")


@claim("survey_width.channel_shuffle", chapter=CHAPTER, source=f"{NOTE}, shufflenet_v2 (code)",
       statement="channel_shuffle reshapes the channels to (groups, C/groups), transposes and "
                 "flattens, so that channels of every group reach every group",
       quoted="view(b, g, c/g, h, w) → transpose(1, 2) → view(b, -1, h, w)", kind="other")
def _channel_shuffle(ctx: Context) -> Evidence:
    df = width.shuffle_checks()
    cols = ["permutation", "unshuffle restores input", "equals nn.ChannelShuffle",
            "transpose of g × C/g"]
    ok = df[cols].all().all()
    return Evidence(f"a permutation for g = {', '.join(map(str, df['g']))} (C = {df['C'].iloc[0]}), "
                    "undone by channel_unshuffle, equal to torch.nn.ChannelShuffle", _verdict(ok),
                    "the library's channel_shuffle is the note's code")


@claim("survey_width.shufflenet_v2_unit", chapter=CHAPTER, source=f"{NOTE}, shufflenet_v2",
       statement="ShuffleNet v2 drops the 1×1 group convolutions for plain 1×1 convolutions with "
                 "equal input and output widths, splits the channels so that half pass "
                 "untouched, concatenates instead of adding, and doubles the channels in its "
                 "downsampling units", quoted="ChannelSplit; concat instead of Element-wise sum",
       kind="other")
def _shufflenet_v2_unit(ctx: Context) -> Evidence:
    s = width.unit_structure().set_index("model")
    v1, v2 = s.loc["shufflenet_v1_x1_0_g3"], s.loc["shufflenet_v2_x1_0"]
    units = width.shufflenet_v2_units()
    split = units[units["stride"] == 1]
    down = units[units["stride"] == 2]
    doubled = (down["out"] == 2 * down["in"]).sum()
    ok = (v2["grouped 1×1 convs"] == 0 and v2["element-wise adds"] == 0
          and (split["reads"] == "half (channel split)").all() and doubled == len(down) - 1)
    return Evidence(f"v2: {v2['grouped 1×1 convs']} grouped 1×1 convs (v1: {v1['grouped 1×1 convs']}), "
                    f"{v2['1×1 convs with in = out']} of {v2['1×1 convs']} 1×1 convs with in = out, "
                    f"{v2['element-wise adds']} adds (v1: {v1['element-wise adds']}), "
                    f"{v2['concatenations']} concatenations", _verdict(ok),
                    f"{doubled} of {len(down)} downsampling units double the width; the first "
                    "goes from the 24-channel stem to 116")


def _relative(df):
    return df.rename(columns={"memory access vs first": "relative"}).itertuples()


@claim("survey_width.g1_memory_access", chapter=CHAPTER,
       source=f"{NOTE}, shufflenet_v2 (guideline 1); Ma et al. 2018, Eq. 1, Table 1",
       statement="For a 1×1 convolution of fixed FLOPs, the memory access cost (MAC) is lowest "
                 "when the input and output channel numbers are equal",
       quoted="输入、输出channels数目相同时 MAC 最为节省", kind="memory")
def _g1_memory_access(ctx: Context) -> Evidence:
    df = width.memory_access_table()
    g1 = df[df["guideline"] == "G1"]
    ok = g1["memory access"].idxmin() == g1.index[0]
    return Evidence(f"{', '.join(f'{r.setting}: {r.relative:.2f}×' for r in _relative(g1))} the MAC of 1:1",
                    _verdict(ok), "Eq. 1, hw(c1 + c2) + c1·c2 per 1×1 conv, summed over the "
                                  "paper's G1 network at 56×56 (MACs equal within "
                                  f"{g1['MACs'].max() / g1['MACs'].min() - 1:.0%})")


@claim("survey_width.g2_memory_access", chapter=CHAPTER,
       source=f"{NOTE}, shufflenet_v2 (guideline 2); Ma et al. 2018, Eq. 2, Table 2",
       statement="Excessive group convolution increases the memory access cost",
       quoted="过多的Group convolution会加大MAC开销", kind="memory")
def _g2_memory_access(ctx: Context) -> Evidence:
    g2 = width.memory_access_table().query("guideline == 'G2'")
    ok = g2["memory access"].is_monotonic_increasing
    return Evidence(f"{', '.join(f'{r.setting}: {r.relative:.2f}×' for r in _relative(g2))} the MAC of g=1",
                    _verdict(ok), "Eq. 2 at equal FLOPs: the width grows as √g, and so does "
                                  "the feature-map traffic")


# --------------------------------------------------------------------------- measured claims


def _guideline_claim(guideline: str, ctx: Context) -> Evidence:
    result = width.guideline_result(guideline, ctx.budget, ctx.device, run=ctx.run)
    if result is None:
        return _not_measured(ctx, f"the {guideline} benchmark")
    table = width.guideline_table(result)
    summary, every, some = width.guideline_verdict(table)
    verdict = Verdict.REPRODUCED if every else (Verdict.PARTLY if some else Verdict.NOT_REPRODUCED)
    row = table.iloc[0]
    return Evidence(summary, verdict,
                    f"median of {result.config['size']['repeats']} timings, {row['spatial']}×"
                    f"{row['spatial']} input, batch {row['batch_size']}, {row['device']}; a "
                    f"direction counts when the gap exceeds {width.SPEEDUP_THRESHOLD - 1:.0%}")


@claim("survey_width.g1_speed", trained=True, chapter=CHAPTER,
       source=f"{NOTE}, shufflenet_v2 (guideline 1); Ma et al. 2018, Table 1",
       statement="Equal input and output channel widths make 1×1 convolutions fastest at equal "
                 "FLOPs", quoted="1:1 fastest", kind="speed")
def _g1_speed(ctx: Context) -> Evidence:
    return _guideline_claim("G1", ctx)


@claim("survey_width.g2_speed", trained=True, chapter=CHAPTER,
       source=f"{NOTE}, shufflenet_v2 (guideline 2); Ma et al. 2018, Table 2",
       statement="More groups make a 1×1 convolution slower at equal FLOPs",
       quoted="g=1 fastest", kind="speed")
def _g2_speed(ctx: Context) -> Evidence:
    return _guideline_claim("G2", ctx)


@claim("survey_width.g3_speed", trained=True, chapter=CHAPTER,
       source=f"{NOTE}, shufflenet_v2 (guideline 3); Ma et al. 2018, Table 3",
       statement="Network fragmentation (many small operators) reduces the parallelism and the "
                 "speed at equal FLOPs", quoted="1-fragment fastest", kind="speed")
def _g3_speed(ctx: Context) -> Evidence:
    return _guideline_claim("G3", ctx)


@claim("survey_width.g4_speed", trained=True, chapter=CHAPTER,
       source=f"{NOTE}, shufflenet_v2 (guideline 4); Ma et al. 2018, Table 4",
       statement="Element-wise operations (ReLU, shortcut addition) take considerable time that "
                 "cannot be neglected", quoted="Element-wise操作会消耗较多的时间", kind="speed")
def _g4_speed(ctx: Context) -> Evidence:
    return _guideline_claim("G4", ctx)


@claim("survey_width.speed_not_flops", trained=True, chapter=CHAPTER,
       source=f"{NOTE}, shufflenet_v2 (高效CNN网络设计的四个准则)",
       statement="Designing networks by FLOPs alone is incomplete: at equal FLOPs, speed differs",
       quoted="一味以FLOPs来作为指导准则 [...] 是不完备的", kind="speed")
def _speed_not_flops(ctx: Context) -> Evidence:
    spreads = []
    for g in ("G1", "G2", "G3"):
        result = width.guideline_result(g, ctx.budget, ctx.device, run=ctx.run)
        if result is None:
            return _not_measured(ctx, "the guideline benchmarks")
        c = width.contrast(width.guideline_table(result))
        spreads.append((g, c["MACs max/min"].max(), c["speed max/min"].max()))
    ok = any(speed > 1.2 and macs < 1.06 for _, macs, speed in spreads)
    return Evidence("; ".join(f"{g}: MACs within {macs - 1:.0%}, speed varies {speed:.2f}×"
                              for g, macs, speed in spreads), _verdict(ok),
                    "reproduced when some guideline's settings differ in speed by more than 20% "
                    "while their MACs differ by less than 6%")


def _decomposition(ctx: Context):
    result = width.decomposition_result(ctx.budget, ctx.device, run=ctx.run)
    return None if result is None else width.decomposition_table(width.breakdowns(result))


@claim("survey_width.fig2_conv_majority", trained=True, chapter=CHAPTER,
       source=f"{NOTE}, shufflenet_v2 (Fig. 2); Ma et al. 2018, Fig. 2",
       statement="Convolution and other compute-intensive operators take most of the run time "
                 "of ShuffleNet v1 and MobileNet v2", quoted="占了其时间的绝大多数 (the vast "
                                                               "majority)", kind="speed")
def _fig2_conv_majority(ctx: Context) -> Evidence:
    df = _decomposition(ctx)
    if df is None:
        return _not_measured(ctx, "the run-time decomposition")
    ok = (df["convolution"] > 0.5).all()
    return Evidence(", ".join(f"{r.model}: {r.convolution:.0%}" for r in df.itertuples()),
                    _verdict(ok), "share of operator time in convolutions and the FC layer, "
                                  "one forward pass")


@claim("survey_width.fig2_memory_bound_share", trained=True, chapter=CHAPTER,
       source=f"{NOTE}, shufflenet_v2 (Fig. 2); Ma et al. 2018, Fig. 2",
       statement="Memory-bound operators (element-wise, data I/O such as shuffle and concat) also "
                 "take a considerable share of the run time, which FLOPs do not count",
       quoted="也占了相当比例的时间 (a considerable share)", kind="speed")
def _fig2_memory_bound_share(ctx: Context) -> Evidence:
    df = _decomposition(ctx)
    if df is None:
        return _not_measured(ctx, "the run-time decomposition")
    unfused = (df["memory-bound"] >= width.CONSIDERABLE_SHARE).all()
    folded = (df["memory-bound, BN folded"] >= width.CONSIDERABLE_SHARE).all()
    verdict = Verdict.REPRODUCED if unfused and folded else (
        Verdict.PARTLY if unfused or folded else Verdict.NOT_REPRODUCED)
    return Evidence(", ".join(f"{m}: {a:.0%} ({b:.0%} with BN folded)" for m, a, b in
                              zip(df["model"], df["memory-bound"], df["memory-bound, BN folded"])),
                    verdict, "element-wise plus data-movement operators; batch norm counts as "
                             "element-wise in an eager PyTorch run, but a deployed model folds it "
                             f"into the convolution; 'considerable' read as at least "
                             f"{width.CONSIDERABLE_SHARE:.0%}, required both ways to reproduce")
