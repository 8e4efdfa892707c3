"""Claims checked in the chapter ``resnext_blocks``: group convolution and the ResNeXt block
(note 000, second half; Xie et al. 2017, Figs. 1 and 3, Table 1)."""

import pandas as pd

from ..chapters import resnext_blocks as rb
from ..registry import create_model
from ..train import resolve_device
from . import Context, Evidence, Verdict, claim

CHAPTER = "resnext_blocks"
GROUPS = (1, 2, 4, 8, 32, 128)


@claim("resnext.groupconv.cost", chapter=CHAPTER,
       source="note 000, 传统的卷积运算 / Group卷积的运算量",
       statement="A convolution costs (H−h1+1)(W−w1+1)·h1·w1·c1·c2 operations; with M groups its "
                 "operations and parameters are divided by M",
       quoted="(H−h1+1)(W−w1+1)·h1·w1·c1·c2, ÷M", kind="flops")
def _group_conv_cost(ctx: Context) -> Evidence:
    t = rb.group_conv_cost_table(groups=GROUPS)
    ok = ((t["MACs: note formula ÷ M"] == t["MACs: FLOP counter"]).all()
          and (t["weights: h1·w1·c1·c2 ÷ M"] == t["weights: counted"]).all())
    return Evidence(f"FLOP counter and weight count equal the formula ÷ M for M = "
                    f"{', '.join(map(str, GROUPS))}",
                    Verdict.REPRODUCED if ok else Verdict.NOT_REPRODUCED,
                    "3×3 convolution, 128 → 128 maps, 56×56 input, no padding")


@claim("resnext.groupconv.connectivity", chapter=CHAPTER, source="note 000, 分组卷积; 分组卷积的优缺点",
       statement="With M groups each group connects N/M input channels independently, so an "
                 "output channel depends on only a fraction of the input channels",
       quoted="N/M channels per group", kind="other")
def _group_conv_connectivity(ctx: Context) -> Evidence:
    conv = create_model("resnext50_32x4d").layer1[0].conv2
    seen = rb.inputs_per_output(conv).unique().tolist()
    expected = conv.in_channels // conv.groups
    return Evidence(f"every output map sees {', '.join(map(str, seen))} of {conv.in_channels} "
                    f"input maps (N/M = {conv.in_channels}/{conv.groups} = {expected})",
                    Verdict.REPRODUCED if seen == [expected] else Verdict.NOT_REPRODUCED,
                    "non-zero connections of ResNeXt-50 (32×4d) layer1.0.conv2, read from "
                    "its weights")


@claim("resnext.groupconv.function_space", chapter=CHAPTER, source="note 000, Group Conv",
       statement="Grouping restricts the function space searched: a grouped convolution is a "
                 "dense one with zero blocks, and cannot represent a dense one",
       quoted="对于待搜索函数空间进行了限制 (qualitative)", kind="other")
def _function_space(ctx: Context) -> Evidence:
    t = rb.function_space_table().set_index("family fitted")
    dense, grouped = t.iloc[0], t.iloc[1]
    exact = dense["relative residual ‖y−ŷ‖/‖y‖"] < 1e-9 and dense[
        "largest fitted weight off the diagonal blocks"] < 1e-9
    restricted = grouped["relative residual ‖y−ŷ‖/‖y‖"] > 0.5
    return Evidence(
        f"dense fit of a grouped conv: relative residual < 1e-9, zero off-block weights; "
        f"grouped fit of a dense conv: relative residual "
        f"{grouped['relative residual ‖y−ŷ‖/‖y‖']:.2f}" if exact else
        f"dense fit of a grouped conv: relative residual "
        f"{dense['relative residual ‖y−ŷ‖/‖y‖']:.1e}",
        Verdict.REPRODUCED if exact and restricted else Verdict.NOT_REPRODUCED,
        "exact least-squares fits (float64) of a 16 → 16 3×3 convolution's outputs on random "
        "inputs, M = 4")


@claim("resnext.fig1.complexity", chapter=CHAPTER, source="note 000, Figure 1; Xie et al. 2017, Sec. 3.3",
       statement="A ResNeXt block of cardinality 32 (d = 4) has roughly the same complexity as "
                 "a ResNet bottleneck block",
       quoted="roughly the same complexity (paper: ≈70k parameters each)", kind="params")
def _fig1(ctx: Context) -> Evidence:
    t = rb.fig1_blocks()
    weights = t["conv weights"].tolist()
    close = abs(t["weights vs ResNet"].iloc[1]) < 0.02 and abs(t["MACs vs ResNet"].iloc[1]) < 0.02
    near_70k = all(round(w, -3) == 70_000 for w in weights)
    bn = (t["parameters (with BN)"] - t["conv weights"]).tolist()
    return Evidence(f"{weights[0]:,} vs {weights[1]:,} conv weights "
                    f"({t['weights vs ResNet'].iloc[1]:+.1%}; MACs likewise)",
                    Verdict.REPRODUCED if close and near_70k else Verdict.NOT_REPRODUCED,
                    f"conv weights as the paper counts them; the BNs add {bn[0]:,} and {bn[1]:,}")


@claim("resnext.fig3.equivalent", chapter=CHAPTER, source="note 000, Figure 3",
       statement="The three forms of the ResNeXt block — split-transform-merge, early "
                 "concatenation, grouped convolution — are equivalent",
       quoted="equivalent building blocks", kind="other")
def _fig3_equivalent(ctx: Context) -> Evidence:
    t = rb.fig3_equivalence_table()
    worst = float(t[["eval: ‖Δ output‖∞", "train: ‖Δ output‖∞",
                     "train: ‖Δ input gradient‖∞"]].to_numpy().max())
    same_params = t["parameters"].nunique() == 1
    return Evidence(f"outputs and input gradients agree within {1e-4:g} (float32); "
                    f"{t['parameters'].iloc[0]:,} parameters in each form",
                    Verdict.REPRODUCED if worst < 1e-4 and same_params else Verdict.NOT_REPRODUCED,
                    "C = 32, 256 → 128 → 256 channels, weights mapped from form (c), random BN "
                    "statistics, eval and train mode")


@claim("resnext.fig3.speed", trained=True, chapter=CHAPTER, source="Xie et al. 2017, Sec. 4 (Fig. 3 forms)",
       statement="Form (c), the grouped convolution, is the fastest of the three equivalent forms",
       quoted="(c) is more succinct and faster than the other two forms", kind="speed")
def _fig3_speed(ctx: Context) -> Evidence:
    device = str(resolve_device(ctx.device))
    result = rb.fig3_speed_result(ctx.budget, device, run=ctx.run)
    if result is None:
        return Evidence("no stored timing", Verdict.NOT_RUN)
    frame = pd.DataFrame(result.metrics["rows"])
    fastest = rb.fastest_form(frame)
    grouped = rb.FORMS[2]
    wins = [mode for mode, form in fastest.items() if form == grouped]
    slow = frame[frame["form"] != grouped].groupby("mode")["× time of the fastest"].min()
    verdict = (Verdict.REPRODUCED if len(wins) == len(fastest) else
               Verdict.PARTLY if wins else Verdict.NOT_REPRODUCED)
    margins = ", ".join(f"{mode}: next form {ratio:.1f}× slower" if mode in wins else
                        f"{mode}: {fastest[mode]} fastest" for mode, ratio in slow.items())
    return Evidence(f"(c) fastest in {len(wins)} of {len(fastest)} modes ({margins})", verdict,
                    f"measured on {device}, {result.config['batch']} maps of "
                    f"{result.config['size']}×{result.config['size']}")


@claim("resnext.table1.params", chapter=CHAPTER, source="note 000, Table 1",
       statement="ResNet-50 has 25.5 million parameters and ResNeXt-50 (32×4d) 25.0 million",
       quoted="25.5×10⁶ / 25.0×10⁶", kind="params")
def _table1_params(ctx: Context) -> Evidence:
    t = rb.table1_totals()
    printed = (t["params (M), paper"] == t["ours truncated"]).all()
    rounded = (t["params (M), paper"] == t["ours rounded"]).tolist()
    detail = ("the paper truncates: ResNet-50's count rounds to "
              f"{t['ours rounded'].iloc[0]}M" if not all(rounded) else "")
    return Evidence(" / ".join(f"{p:,}" for p in t["parameters"]),
                    Verdict.REPRODUCED if printed else Verdict.NOT_REPRODUCED, detail)


@claim("resnext.table1.flops", chapter=CHAPTER, source="note 000, Table 1",
       statement="ResNet-50 costs 4.1 billion FLOPs and ResNeXt-50 (32×4d) 4.2 billion",
       quoted="4.1×10⁹ / 4.2×10⁹", kind="flops")
def _table1_flops(ctx: Context) -> Evidence:
    t = rb.table1_totals()
    ok = (t["GFLOPs (= GMACs), paper"] == t["GMACs ours rounded"]).all()
    return Evidence(" / ".join(f"{g:.3f}" for g in t["GMACs, ours"]) + " GMACs",
                    Verdict.REPRODUCED if ok else Verdict.NOT_REPRODUCED,
                    "the paper's FLOPs are multiply-accumulates; 224×224 input")


@claim("resnext.table1.stages", chapter=CHAPTER, source="note 000, Table 1",
       statement="ResNet-50 and ResNeXt-50 (32×4d) have the stages, output sizes and block shapes "
                 "of Table 1",
       quoted="112, 56, 28, 14, 7; e.g. [1×1, 128; 3×3, 128, C=32; 1×1, 256] × 3", kind="other")
def _table1_stages(ctx: Context) -> Evidence:
    wrong = [f"{rb.TABLE1_NETS[n]}: {m}" for n in rb.TABLE1_NETS for m in rb.table1_mismatches(n)]
    return Evidence("all five stages as printed" if not wrong else "; ".join(wrong),
                    Verdict.NOT_REPRODUCED if wrong else Verdict.REPRODUCED,
                    "generated from the registered models")
