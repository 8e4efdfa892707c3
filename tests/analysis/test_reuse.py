import numpy as np
import pytest
import torch
import torchvision
from torch import nn

import cnnpapers
from cnnpapers.analysis import reuse
from cnnpapers.analysis.plots import figure_texts


def code(block: int, source: int, target: int) -> float:
    """A distinct value per (block, s, ℓ), exact in float32."""
    return block + source / 8 + target / 64


def tiny_torchvision_densenet() -> nn.Module:
    # block 1: k0 = 4, k = 2, L = 2 (conv1 inputs 4, 6), transition reads 8 -> 4
    # block 2: k0 = 4, L = 3 (conv1 inputs 4, 6, 8), classifier reads 10
    return torchvision.models.DenseNet(growth_rate=2, block_config=(2, 3), num_init_features=4,
                                       bn_size=2, num_classes=3)


def expected_matrix(block: int, layers: int) -> np.ndarray:
    mat = np.full((layers + 1, layers + 1), np.nan)
    for t in range(1, layers + 2):
        for s in range(t):
            mat[s, t - 1] = code(block, s, t)
    return mat


def test_hand_set_weights_give_the_expected_heatmap():
    model = tiny_torchvision_densenet()
    reuse.set_reuse_weights(model, code)
    result = reuse.weight_reuse(model)
    assert result.blocks == [1, 2]
    m1, m2 = result.matrix(1), result.matrix(2)
    assert list(m1.columns) == ["1", "2", "transition"]
    assert list(m2.columns) == ["1", "2", "3", "classifier"]
    assert list(m2.index) == [0, 1, 2, 3]
    np.testing.assert_array_equal(m1.to_numpy(), expected_matrix(1, 2))
    np.testing.assert_array_equal(m2.to_numpy(), expected_matrix(2, 3))
    # signs alternate in the hand-set weights: the heatmap must use absolute values
    assert (model.features.denseblock1.denselayer2.conv1.weight[1] < 0).all()


def test_value_is_mean_absolute_weight_over_the_source_slice():
    # set one weight of source 1 in layer 2 of block 1 by hand; the slice is 2 maps x 4 outputs
    model = tiny_torchvision_densenet()
    conv = model.features.denseblock1.denselayer2.conv1  # reads [x0 (4 maps), x1 (2 maps)]
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 4, 0, 0] = -3.0  # source 1 = input channels 4..5
        conv.weight[2, 0, 0, 0] = 1.0  # source 0 = input channels 0..3
    mat = reuse.weight_reuse(model).matrix(1)
    out_channels = conv.weight.shape[0]
    assert mat.loc[1, "2"] == pytest.approx(3.0 / (2 * out_channels))
    assert mat.loc[0, "2"] == pytest.approx(1.0 / (4 * out_channels))


def test_tidy_frame_is_triangular():
    model = tiny_torchvision_densenet()
    frame = reuse.weight_reuse(model).frame
    assert (frame["source"] < frame["target"]).all()
    assert len(frame[frame["block"] == 2]) == sum(range(1, 3 + 2))  # targets 1..4 read 1..4 sources
    assert set(frame["target_name"]) >= {"transition", "classifier"}


def test_not_a_densenet_is_a_clear_error():
    with pytest.raises(ValueError, match="denseblock"):
        reuse.weight_reuse(torchvision.models.resnet18())


def test_plot_one_heatmap_per_block():
    model = tiny_torchvision_densenet()
    fig = reuse.plot_weight_reuse(reuse.weight_reuse(model), caption="budget smoke · cpu")
    heatmaps = [ax for ax in fig.axes if ax.images]
    assert len(heatmaps) == 2
    assert "budget smoke · cpu" in figure_texts(fig)
    assert any("source layer" in t for t in figure_texts(fig))


@pytest.mark.parametrize("bottleneck", [True, False])
def test_works_on_our_densenet(bottleneck):
    if not cnnpapers.list_models("densenet*"):
        pytest.skip("cnnpapers' DenseNet is not registered yet")
    from cnnpapers.models.densenet import DenseNet

    model = DenseNet(block_config=(2, 3, 2), growth_rate=4, num_init_features=6,
                     bottleneck=bottleneck, stem="cifar", num_classes=5)
    reuse.set_reuse_weights(model, code)
    result = reuse.weight_reuse(model)
    for block, layers, extra in [(1, 2, "transition"), (2, 3, "transition"), (3, 2, "classifier")]:
        mat = result.matrix(block)
        assert mat.columns[-1] == extra
        np.testing.assert_array_equal(mat.to_numpy(), expected_matrix(block, layers))
    # our blocks know their own source slices; the instrument's must agree with them
    for block, found in zip(model.dense_blocks(), reuse._dense_blocks(model)):
        assert block.feature_slices() == reuse.source_slices(found)
