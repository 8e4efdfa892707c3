"""The spatial-exploitation chapter's counts, against the papers' closed forms."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from torch import nn  # noqa: E402

from cnnpapers import claims  # noqa: E402
from cnnpapers.analysis.plots import figure_texts  # noqa: E402
from cnnpapers.chapters import survey_spatial as sp  # noqa: E402
from cnnpapers.claims import Verdict  # noqa: E402
from cnnpapers.models.googlenet import INCEPTION_TABLE, Inception  # noqa: E402
from cnnpapers.models.inception import AsymmetricConv, Factorized5x5  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_lenet5_layers_are_the_papers():
    df = sp.layer_table("lenet5", sp.LENET5_LAYERS).set_index("layer")
    assert list(df["params"]) == [156, 12, 1516, 32, 48120, 10164, 850]  # Sec. II.B
    assert df["params"].sum() == 60_850
    assert df.loc["C1", "MACs"] == 28 * 28 * 25 * 6
    assert df.loc["C3", "output (C×H×W)"] == "16×10×10"
    assert df["params share"].sum() == pytest.approx(1.0)
    assert df["MACs share"].sum() == pytest.approx(1.0)


def test_alexnet_paper_layers():
    df = sp.layer_table("alexnet_paper", sp.ALEXNET_PAPER_LAYERS).set_index("layer")
    assert df.loc["conv1", "output (C×H×W)"] == "96×55×55"
    assert df.loc["conv1", "MACs"] == 55 * 55 * 11 * 11 * 3 * 96
    assert df.loc["conv2", "params"] == 256 * 48 * 25 + 256  # two groups of 48 input maps
    assert df.loc["pool5", "output (C×H×W)"] == "256×6×6"
    assert df.loc["fc6", "params"] == 9216 * 4096 + 4096
    assert df.loc["fc6", "operation"] == "fc 9216→4096"
    assert df.loc["conv2", "operation"] == "conv 5×5/1, 256, 2 groups"
    assert df["params"].sum() == 60_965_224


def test_alexnet_forms_share_their_fully_connected_layers():
    forms = sp.alexnet_forms()
    assert set(forms["fc6+fc7 params"]) == {9216 * 4096 + 4096 + 4096 * 4096 + 4096}
    assert forms["fc6+fc7 fp32 (GB)"].iloc[0] == pytest.approx(54_534_144 * 4 / 1e9)
    dense, grouped = forms.iloc[1], forms.iloc[0]
    # grouping halves conv2, conv4 and conv5's weights
    halved = (256 * 96 * 25 + 384 * 384 * 9 + 256 * 384 * 9) // 2
    assert dense["conv params"] - grouped["conv params"] == halved
    assert sp.training_state_bytes(10) == 120


def test_first_layers_of_alexnet_and_zfnet():
    df = sp.first_layers().set_index("model")
    assert df.loc["zfnet", "conv1 output"] == "96×110×110"
    assert df.loc["zfnet", "conv1 MACs"] == 110 * 110 * 7 * 7 * 3 * 96
    assert df.loc["zfnet", "conv1 params"] == 7 * 7 * 3 * 96 + 96
    assert df.loc["zfnet", "conv2 output"] == "256×26×26"
    long = sp.first_layers_long()
    assert list(long.columns) == ["", "alexnet_paper", "zfnet"]
    assert "14,208" in set(long["zfnet"])


@pytest.mark.parametrize("layers, expected", [
    ([nn.Conv2d(2, 2, 3)], 3),
    ([nn.Conv2d(2, 2, 3, padding=1)] * 3, 7),
    ([nn.Conv2d(2, 2, 3, stride=2), nn.Conv2d(2, 2, 3)], 7),  # 1 + 2 + 2·2
    ([nn.Conv2d(2, 2, 5)], 5),
])
def test_receptive_field_matches_the_closed_form(layers, expected):
    assert sp.receptive_field(nn.Sequential(*layers), 2, size=21) == (expected, expected)


def test_receptive_field_of_asymmetric_and_factorised_blocks():
    assert sp.receptive_field(Factorized5x5(2, 2, conv_block=sp.plain_conv), 2) == (5, 5)
    assert sp.receptive_field(AsymmetricConv(2, 2, 7, conv_block=sp.plain_conv), 2) == (7, 7)
    row = AsymmetricConv(2, 2, 7, conv_block=sp.plain_conv)[0]
    assert sp.receptive_field(row, 2) == (1, 7)


def test_stacked_kernels_weights():
    df = sp.stacked_kernels(channels=8, spatial=10).set_index("form")
    assert list(df["weights / C²"]) == [18, 25, 27, 49]
    assert df.loc["3 × 3×3", "receptive field"] == df.loc["1 × 7×7", "receptive field"] == "7×7"
    assert df.loc["2 × 3×3", "MACs"] == 2 * 9 * 8 * 8 * 10 * 10


def test_factorisation_savings_are_exact():
    df = sp.factorisations(channels=16, spatial=9).set_index("factorisation")
    assert df["weight ratio"].tolist() == pytest.approx([18 / 25, 6 / 9, 14 / 49])
    assert (df["weights saved"] == df["MACs saved"]).all()
    assert (df["receptive field before"] == df["receptive field after"]).all()


def test_inception_inputs_chain_table_1():
    assert sp.inception_inputs() == {"3a": 192, "3b": 256, "4a": 480, "4b": 512, "4c": 512,
                                     "4d": 512, "4e": 528, "5a": 832, "5b": 832}


def test_inception_branches_concatenate_to_the_module():
    df = sp.inception_branches("3a").set_index("branch")
    assert df.loc["concatenation", "output (C×H×W)"] == "256×28×28"
    block = Inception(192, *INCEPTION_TABLE["3a"])
    assert df.loc["concatenation", "params"] == sum(p.numel() for p in block.parameters())
    assert df.drop("concatenation")["params"].sum() == df.loc["concatenation", "params"]
    assert df.loc["branch3", "layers"] == "conv 1×1/1, 16 → conv 5×5/1, 32"


def test_reduction_savings_of_3a_by_hand():
    row = sp.reduction_savings().set_index("module").loc["3a"]
    naive = (192 * 64 + 64) + (192 * 128 * 9 + 128) + (192 * 32 * 25 + 32)
    assert row["params (naive)"] == naive
    assert row["output C (naive)"] == 64 + 128 + 32 + 192
    assert row["MACs (naive)"] == 28 * 28 * 192 * (64 + 128 * 9 + 32 * 25)


def test_naive_inception_keeps_the_grid():
    block = sp.NaiveInception(8, 2, 3, 4).to("meta")
    shapes = sp.output_shapes(block, (8, 5, 5), [""])
    assert shapes[""] == (2 + 3 + 4 + 8, 5, 5) and block.out_channels == 17


def test_same_size_padding():
    df = sp.same_size_padding()
    assert (df.drop(columns="input side").to_numpy() == df[["input side"]].to_numpy()).all()


def test_gap_versus_fc_heads():
    df = sp.gap_vs_fc().set_index("network")
    assert df.iloc[0]["params"] == 138_357_544
    assert df.iloc[3]["head params"] == 7 * 7 * 1024 * 1000 + 1000
    assert df.iloc[1]["head params"] == 512 * 1000 + 1000
    assert df.iloc[3]["params"] - df.iloc[2]["params"] == 49 * 1024 * 1000 - 1024 * 1000


def test_vgg_costs_agree_with_table_2():
    df = sp.vgg_costs()
    assert df["agrees"].all()
    assert df.set_index("model").loc["vgg16", "params"] == 138_357_544


def test_kernel_census_of_inception_v3():
    df = sp.kernel_census("inception_v3").set_index("kernel")
    assert df.loc["5×5", "convolutions"] == 3
    assert df.loc["1×7", "convolutions"] == df.loc["7×1", "convolutions"]


def test_describe():
    assert sp.describe(nn.Conv2d(3, 96, 11, stride=4)) == "conv 11×11/4, 96"
    assert sp.describe(nn.MaxPool2d(3, 2)) == "max-pool 3×3/2"
    assert sp.describe(nn.Linear(10, 4)) == "fc 10→4"


def test_layer_share_figure():
    df = sp.layer_table("lenet5", sp.LENET5_LAYERS)
    fig = sp.plot_layer_shares({"LeNet-5": df}, caption="budget smoke · test")
    texts = figure_texts(fig)
    assert "budget smoke · test" in texts and "LeNet-5" in texts and "C5" in texts


EXPECTED = {
    "survey_spatial.alexnet_layers": Verdict.REPRODUCED,
    "survey_spatial.alexnet_windows": Verdict.REPRODUCED,
    "survey_spatial.alexnet_channels": Verdict.PARTLY,
    "survey_spatial.alexnet_fc_gigabyte": Verdict.NOT_REPRODUCED,
    "survey_spatial.vgg_small_kernels": Verdict.REPRODUCED,
    "survey_spatial.inception_same_size": Verdict.REPRODUCED,
    "survey_spatial.googlenet_gap": Verdict.PARTLY,
    "survey_spatial.inception_v3_5x5": Verdict.REPRODUCED,
    "survey_spatial.inception_v3_asymmetric": Verdict.REPRODUCED,
}


def test_every_claim_of_the_chapter_has_its_verdict():
    assert {c.id for c in claims.list_claims("survey_spatial")} == set(EXPECTED)
    for id, verdict in EXPECTED.items():
        assert claims.evaluate(id, "smoke", run=False).verdict is verdict, id
