"""The DenseNet architecture chapter's helpers: traced connections, Table 1-3 and Fig. 1-3 data."""

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import cnnpapers  # noqa: E402
from cnnpapers.analysis.plots import figure_texts  # noqa: E402
from cnnpapers.chapters import densenet_architecture as arch  # noqa: E402

CAPTION = "budget smoke · test machine"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _trace(**kwargs):
    torch.manual_seed(0)
    return arch.trace_block(arch.figure1_model(**kwargs), torch.randn(1, 3, 8, 8),
                            compression=0.5)


def test_figure1_block_has_every_connection_of_eq2():
    trace = _trace()
    # H_1..H_4 and the transition: reader ℓ reads x_0..x_{ℓ-1}
    assert set(zip(trace.edges["j"], trace.edges["ell"])) == {
        (j, ell) for ell in range(1, 6) for j in range(ell)}
    assert trace.connections == 15 == 5 * 6 // 2
    readers = trace.readers
    assert list(readers["in_measured"]) == [8, 12, 16, 20, 24]  # k0 + (ℓ-1)k, k0 = 8, k = 4
    assert list(readers["in_module"]) == [8, 12, 16, 20, 24]
    assert list(readers["out_measured"]) == [4, 4, 4, 4, 12]  # k, then ⌊0.5·24⌋
    assert readers["agrees"].all()


def test_trace_sees_a_missing_connection():
    model = arch.figure1_model()
    layer3 = model.dense_blocks()[0].denselayer3

    def drop_x0(module, args):  # H3 gets x0's channels zeroed: no longer connected to x0
        x = args[0].clone()
        x[:, :8] = 0
        return (x,)

    layer3.register_forward_pre_hook(drop_x0)
    torch.manual_seed(0)
    trace = arch.trace_block(model, torch.randn(1, 3, 8, 8), compression=0.5)
    assert trace.connections == 14
    assert (0, 3) not in set(zip(trace.edges["j"], trace.edges["ell"]))
    assert not trace.readers.set_index("reader").loc["H3", "agrees"]


def test_memory_efficient_block_traces_the_same_connections():
    torch.manual_seed(0)
    model = cnnpapers.create_model("densenet_bc_40_k12", memory_efficient=True)
    trace = arch.trace_block(model, torch.randn(1, 3, 8, 8), compression=0.5)
    assert trace.num_readers == 7 and trace.connections == 7 * 8 // 2  # 6 layers + transition
    assert trace.readers["agrees"].all()


def test_stage_shapes_of_densenet121_at_224():
    stages = arch.stage_shapes(arch.meta_model("densenet121"), (3, 224, 224)).set_index("stage")
    assert stages.loc["conv0", ["channels", "height"]].tolist() == [64, 112]
    assert stages.loc["pool0", "height"] == 56
    assert stages.loc["denseblock1", ["channels", "height", "layers"]].tolist() == [256, 56, 6]
    assert stages.loc["transition1.conv", ["channels", "height"]].tolist() == [128, 56]
    assert stages.loc["transition1.pool", "height"] == 28
    assert stages.loc["denseblock4", ["channels", "height"]].tolist() == [1024, 7]
    assert stages.loc["global_pool", "config"] == "7×7 global average pool"
    assert stages.loc["classifier", "config"] == "1000D fully-connected, softmax"


def test_table1_is_generated_from_the_models():
    frame = arch.table1(("densenet121", "densenet264", "densenet161"))
    assert len(frame) == 14 and frame["agree"].all()
    block3 = frame.set_index("Layers").loc["Dense Block (3)"]
    assert block3["DenseNet-121 (k = 32)"] == "[1×1 conv, 3×3 conv] × 24"
    assert block3["DenseNet-264 (k = 32)"] == "[1×1 conv, 3×3 conv] × 64"
    assert block3["DenseNet-161 (k = 48)"] == "[1×1 conv, 3×3 conv] × 36"
    assert frame["Layers"].iloc[0] == "Convolution"
    assert frame["DenseNet-121 (k = 32)"].iloc[0] == "7×7 conv, stride 2"


def test_table1_costs_match_torchvision_and_flag_densenet264():
    frame = arch.table1_costs(("densenet121", "densenet264")).set_index("model")
    assert frame.loc["densenet121", "params (ours)"] == 7_978_856
    assert frame.loc["densenet121", "GMACs, torchvision (quoted)"] == 2.834
    assert frame["agree"].all()
    assert frame.loc["densenet264", "weighted layers (ours)"] == 265  # the name says 264
    assert frame.loc["densenet264", "params, torchvision (quoted)"] == "–"


def test_channel_bookkeeping_follows_k0_plus_nk_and_floor_theta_m():
    frame = arch.channel_bookkeeping(("densenet_bc_100_k12",))
    assert list(frame["m (module)"]) == [216, 300, 342]  # 24 + 16·12, 108 + 192, 150 + 192
    assert list(frame["transition out (module)"]) == [108, 150, "–"]
    assert frame["agree"].all()


def test_table2_transcription_agrees_with_the_model_cards():
    # rows whose card quotes the DenseNet paper's Table 2 must carry the same numbers
    checked = 0
    for row in arch.TABLE2:
        if row.model is None:
            continue
        reported = cnnpapers.model_info(row.model).reported
        if "Table 2" in reported.source and ("DenseNet" in reported.source
                                             or "Huang" in reported.source):
            assert reported.errors == row.errors, row.model
            if row.params is not None:
                assert reported.params == row.params, row.model
            checked += 1
    assert checked >= 15
    assert len(arch.TABLE2) == 21
    assert [r.method for r in arch.TABLE2 if r.model is None] == ["All-CNN",
                                                                  "Deeply Supervised Net"]


def test_rounds_to_uses_the_printed_precision():
    assert arch.rounds_to("0.8", 769_162)
    assert arch.rounds_to("1.0", 1_019_722)
    assert not arch.rounds_to("10.2", 10_327_706)  # pre-act ResNet-1001 with BN: 10.3
    assert not arch.rounds_to("38.6", 33_714_314)


def test_table2_params_per_row():
    rows = {r.model: r for r in arch.TABLE2 if r.model}
    assert arch.table2_params(rows["densenet_bc_100_k12"]) == {"ours": 769_162, "match": "yes"}
    assert arch.table2_params(rows["fractalnet20"])["match"] == arch.MISMATCH
    assert arch.table2_params(rows["nin"])["match"] == "nothing printed"
    all_cnn = next(r for r in arch.TABLE2 if r.method == "All-CNN")
    assert arch.table2_params(all_cnn)["ours"] is None


def test_table3_quotes_the_cards_and_counts_ours():
    frame = arch.table3(("densenet121", "densenet161")).set_index("model")
    assert frame.loc["densenet121", "top-1 single / 10-crop (paper)"] == "25.02 / 23.61"
    assert frame.loc["densenet121", "params (ours, M)"] == 7.98
    assert frame.loc["densenet161", "top-1 single / 10-crop (paper)"] == "–"
    assert frame.loc["densenet121", "top-1 / top-5, torchvision weights (quoted)"] == "25.57 / 8.03"


def test_figure3_points_and_plots():
    points = arch.figure3_points()
    assert len(points) == 2 * 4 + 4
    assert set(points[points["family"] == "ResNet"]["crop"]) == {"10-crop"}
    d201 = points[(points["model"] == "densenet201") & (points["crop"] == "10-crop")].iloc[0]
    assert d201["params_m"] == pytest.approx(20.013928)
    assert d201["top1_error"] == 21.46
    texts = figure_texts(arch.plot_figure3(points, caption=CAPTION))
    assert CAPTION in texts and any("(quoted)" in t for t in texts)


def test_figure1_and_figure2_drawings_carry_counts_and_caption():
    texts = figure_texts(arch.plot_dense_block(_trace(), caption=CAPTION))
    assert CAPTION in texts
    assert any("15 connections" in t for t in texts)
    assert "H3\nBN-ReLU-\nConv 3×3\n16→4" in texts
    stages = arch.stage_shapes(arch.meta_model("densenet_bc_100_k12"), (3, 32, 32))
    texts = figure_texts(arch.plot_densenet(stages, name="BC-100", caption=CAPTION))
    assert CAPTION in texts
    assert "342×8×8" in texts and "108×16×16" in texts
