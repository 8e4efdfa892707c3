"""Claims of note 001's spatial-exploitation sections (LeNet, AlexNet, ZFNet/VGG, GoogLeNet,
Inception-v3), checked by counting in the chapter ``survey_spatial``."""

from __future__ import annotations

from torch import nn

from ..chapters import survey_spatial as spatial
from . import Context, Evidence, Verdict, claim

CHAPTER = "survey_spatial"
NOTE = "note 001"


def _verdict(ok: bool) -> Verdict:
    return Verdict.REPRODUCED if ok else Verdict.NOT_REPRODUCED


@claim("survey_spatial.alexnet_layers", chapter=CHAPTER, source=f"{NOTE}, AlexNet ('第一')",
       statement="AlexNet has 8 layers of transformations: 5 convolutional layers, 2 fully "
                 "connected hidden layers and 1 fully connected output layer",
       quoted="5 + 2 + 1 = 8", kind="other")
def _alexnet_layers(ctx: Context) -> Evidence:
    model = spatial.meta_model("alexnet_paper")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    fcs = spatial.linear_layers(model)
    hidden = [m for m in fcs[:-1] if m.out_features == 4096]
    ok = (len(convs), len(hidden), len(fcs)) == (5, 2, 3)
    return Evidence(f"{len(convs)} conv + {len(hidden)} hidden FC + {len(fcs) - len(hidden)} "
                    f"output FC = {len(convs) + len(fcs)}", _verdict(ok),
                    "counted in the 2012 network (alexnet_paper); torchvision's has the same layers")


@claim("survey_spatial.alexnet_windows", chapter=CHAPTER, source=f"{NOTE}, AlexNet ('第一')",
       statement="AlexNet's first convolution window is 11×11, the second 5×5, all later ones "
                 "3×3; a 3×3 max-pool with stride 2 follows the first, second and fifth "
                 "convolutional layers",
       quoted="11×11, 5×5, then 3×3; pool 3×3/2 after conv1, conv2, conv5", kind="other")
def _alexnet_windows(ctx: Context) -> Evidence:
    model = spatial.meta_model("alexnet_paper")
    kernels, pooled_after, conv_index = [], [], 0
    for m in model.features:
        if isinstance(m, nn.Conv2d):
            conv_index += 1
            kernels.append(m.kernel_size[0])
        elif isinstance(m, nn.MaxPool2d) and (m.kernel_size, m.stride) == (3, 2):
            pooled_after.append(conv_index)
    ok = kernels == [11, 5, 3, 3, 3] and pooled_after == [1, 2, 5]
    return Evidence(f"kernels {', '.join(f'{k}×{k}' for k in kernels)}; 3×3/2 pools after conv "
                    f"{', '.join(map(str, pooled_after))}", _verdict(ok),
                    "read from the modules of alexnet_paper")


@claim("survey_spatial.alexnet_channels", chapter=CHAPTER, source=f"{NOTE}, AlexNet ('第一')",
       statement="AlexNet's convolutional layers have tens of times more channels than LeNet's",
       quoted="数十倍 (tens of times)", kind="other")
def _alexnet_channels(ctx: Context) -> Evidence:
    c1, c3, c5 = (spatial.meta_model("lenet5").features[i] for i in (0, 4, 8))
    lenet = [c1.out_channels, len(c3.convs), c5.out_channels]  # C3: one small conv per map
    alex = [m.out_channels for m in spatial.meta_model("alexnet_paper").modules()
            if isinstance(m, nn.Conv2d)]
    ratios = (alex[0] / lenet[0], alex[1] / lenet[1], max(alex) / max(lenet))
    tens = all(r >= 20 for r in ratios)
    verdict = Verdict.REPRODUCED if tens else (
        Verdict.PARTLY if min(ratios[:2]) >= 10 else Verdict.NOT_REPRODUCED)
    return Evidence(f"{ratios[0]:.0f}× (conv1 {alex[0]} vs C1 {lenet[0]}), {ratios[1]:.0f}× "
                    f"(conv2 {alex[1]} vs C3 {lenet[1]}), {ratios[2]:.1f}× (widest, {max(alex)} "
                    f"vs {max(lenet)})", verdict,
                    "more than ten times in the first two layers, not tens of times; LeNet's "
                    "C5 already has 120 maps")


@claim("survey_spatial.alexnet_fc_gigabyte", chapter=CHAPTER, source=f"{NOTE}, AlexNet ('第一')",
       statement="The two fully connected layers with 4,096 outputs bring nearly 1 GB of model "
                 "parameters", quoted="将近1 GB (nearly 1 GB)", kind="params")
def _alexnet_fc_gigabyte(ctx: Context) -> Evidence:
    row = spatial.alexnet_forms().iloc[0]  # the 2012 two-GPU network
    hidden, total = int(row["fc6+fc7 params"]), int(row["params"])
    gb = hidden * spatial.FP32_BYTES / spatial.GB
    training = spatial.training_state_bytes(total) / spatial.GB
    return Evidence(f"{hidden:,} parameters = {gb:.2f} GB in fp32", _verdict(0.8 <= gb <= 1.0),
                    f"fc6 + fc7 hold {hidden / total:.0%} of the {total:,} parameters of the 2012 "
                    f"network (torchvision's has the same fc6/fc7); the whole network's weights "
                    f"are {total * spatial.FP32_BYTES / spatial.GB:.2f} GB, and even weights, "
                    f"gradients and SGD momentum together are {training:.2f} GB")


@claim("survey_spatial.vgg_small_kernels", chapter=CHAPTER,
       source=f"{NOTE}, ZfNet ('使用小的卷积核代替大的卷积核'); Simonyan & Zisserman 2015, Sec. 2.3",
       statement="Small kernels replace large ones: two stacked 3×3 convolutions see a 5×5 field "
                 "and three see 7×7, with 27C² weights instead of the 49C² of one 7×7 layer "
                 "(which has 81% more)", quoted="27C² vs 49C² (81% more)", kind="savings")
def _vgg_small_kernels(ctx: Context) -> Evidence:
    df = spatial.stacked_kernels().set_index("form")
    three, seven = df.loc["3 × 3×3"], df.loc["1 × 7×7"]
    more = seven["weights"] / three["weights"] - 1
    ok = (three["receptive field"] == seven["receptive field"] == "7×7"
          and df.loc["2 × 3×3", "receptive field"] == "5×5"
          and (three["weights / C²"], seven["weights / C²"]) == (27, 49) and round(100 * more) == 81)
    return Evidence(f"{three['weights / C²']:.0f}C² vs {seven['weights / C²']:.0f}C² (+{more:.1%}); "
                    f"receptive fields {df.loc['2 × 3×3', 'receptive field']} and "
                    f"{three['receptive field']}", _verdict(ok),
                    "receptive fields measured from the gradient of one output pixel; "
                    "bias-free convolutions")


@claim("survey_spatial.inception_same_size", chapter=CHAPTER,
       source=f"{NOTE}, GoogLeNet, Inception block (point 2)",
       statement="With stride 1 and padding 0, 1, 2, the 1×1, 3×3 and 5×5 convolutions give "
                 "outputs of the same size, so the branches can be concatenated",
       quoted="pad = 0, 1, 2", kind="other")
def _inception_same_size(ctx: Context) -> Evidence:
    sizes = spatial.same_size_padding().set_index("input side")
    same = all((sizes.loc[side] == side).all() for side in sizes.index)
    branches = spatial.inception_branches("3a")
    shapes = {s.split("×", 1)[1] for s in branches["output (C×H×W)"]}
    return Evidence(f"every branch of 3a outputs {shapes.pop() if len(shapes) == 1 else shapes}; "
                    f"sides {', '.join(map(str, sizes.index))} kept", _verdict(same and not shapes),
                    "output sizes from a forward pass of the library's Inception block")


@claim("survey_spatial.googlenet_gap", chapter=CHAPTER,
       source=f"{NOTE}, GoogLeNet (contribution 3)",
       statement="Global average pooling instead of fully connected layers lowers the "
                 "computational complexity, from 138 million to 4 million",
       quoted="138 million → 4 million", kind="params")
def _googlenet_gap(ctx: Context) -> Evidence:
    df = spatial.gap_vs_fc().set_index("network")
    vgg = int(df.iloc[0]["params"])
    goo, goo_fc = int(df.iloc[2]["params"]), int(df.iloc[3]["params"])
    macs_share = df.iloc[3]["head share of MACs"]
    ok_138 = round(vgg / 1e6) == 138
    return Evidence(f"VGG-16 {vgg / 1e6:.1f} M, GoogLeNet {goo / 1e6:.1f} M parameters",
                    Verdict.PARTLY if ok_138 else Verdict.NOT_REPRODUCED,
                    f"138 M is VGG-16's parameter count; 4 M matches no count of GoogLeNet "
                    f"(Table 1's layers give {goo / 1e6:.1f} M). The two numbers compare two "
                    f"networks; inside GoogLeNet, GAP saves {(goo_fc - goo) / 1e6:.1f} M "
                    f"parameters against a flattened 7×7×1024 FC head, while that head would be "
                    f"only {macs_share:.1%} of the MACs: parameters, not computation")


@claim("survey_spatial.inception_v3_5x5", chapter=CHAPTER, source=f"{NOTE}, Inception-V3 (point 1)",
       statement="Two 3×3 convolutions replace a 5×5 with the same receptive field; the parameter "
                 "ratio (9+9)/25 cuts the parameters by 28% and the computation by 28%",
       quoted="(9+9)/25; 28%", kind="savings")
def _inception_v3_5x5(ctx: Context) -> Evidence:
    row = spatial.factorisations().set_index("factorisation").loc["5×5 → two 3×3"]
    ok = (round(100 * row["weights saved"]) == 28 and round(100 * row["MACs saved"]) == 28
          and row["receptive field before"] == row["receptive field after"])
    return Evidence(f"ratio {row['weight ratio']:.2f}; {row['weights saved']:.1%} fewer weights, "
                    f"{row['MACs saved']:.1%} fewer MACs; receptive field {row['receptive field after']}",
                    _verdict(ok), "equal input, middle and output widths, as the paper assumes")


@claim("survey_spatial.inception_v3_asymmetric", chapter=CHAPTER,
       source=f"{NOTE}, Inception-V3 (point 1)",
       statement="An asymmetric factorisation of a 3×3 convolution into 1×3 and 3×1 reduces the "
                 "computation by 33% for fixed numbers of input and output filters",
       quoted="33%", kind="savings")
def _inception_v3_asymmetric(ctx: Context) -> Evidence:
    row = spatial.factorisations().set_index("factorisation").loc["3×3 → 1×3 + 3×1"]
    ok = round(100 * row["MACs saved"]) == 33
    return Evidence(f"{row['MACs saved']:.1%} fewer MACs ({row['weights saved']:.1%} fewer weights)",
                    _verdict(ok), "equal widths; for the 7×7 of the 17×17 modules the saving is "
                                  f"{spatial.factorisations().iloc[2]['MACs saved']:.1%}")
