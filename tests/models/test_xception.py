import pytest
import torch
from torch import nn

import cnnpapers
from cnnpapers.models.xception import SeparableConv2d, Xception


def test_count_is_table_3_exactly():
    count = cnnpapers.count_parameters("xception")
    reported = cnnpapers.model_info("xception").reported
    assert count == 22_855_952
    assert reported.params == "22.855952" and reported.params_match(count)


def test_separable_convolution_count_and_linearity():
    sep = SeparableConv2d(728, 1024)
    assert sum(p.numel() for p in sep.parameters()) == 728 * 3 * 3 + 728 * 1024
    dense = nn.Conv2d(728, 1024, 3, bias=False)
    assert sum(p.numel() for p in dense.parameters()) == 728 * 1024 * 9
    small = SeparableConv2d(4, 6)
    a, b = torch.randn(1, 4, 5, 5), torch.randn(1, 4, 5, 5)
    # no nonlinearity between depthwise and pointwise (Section 4.7)
    torch.testing.assert_close(small(a + b), small(a) + small(b))


def test_36_convolutional_layers():
    with torch.device("meta"):
        model = Xception()
    separable = sum(isinstance(m, SeparableConv2d) for m in model.modules())
    regular = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)
               and m.groups == 1]
    shortcuts = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)
                 and m.stride == (2, 2)]
    assert (separable, len(regular), len(shortcuts)) == (34, 2, 4)
    # Section 3: "36 convolutional layers forming the feature extraction base"
    assert separable + len(regular) == 36 == cnnpapers.model_info("xception").depth


def test_middle_flow_block_cost():
    one_more = cnnpapers.count_parameters("xception", middle_blocks=9)
    per_block = 3 * (728 * 9 + 728 * 728 + 2 * 728)  # 3 x (SepConv 728 + BN)
    assert one_more - cnnpapers.count_parameters("xception") == per_block


def test_fig_5_shapes_at_299():
    with torch.device("meta"):
        model = Xception().eval()
        x = model.entry_flow(torch.empty(1, 3, 299, 299))
        assert x.shape == (1, 728, 19, 19)
        x = model.middle_flow(x)
        assert x.shape == (1, 728, 19, 19)
        assert model.exit_flow(x).shape == (1, 2048, 10, 10)


def test_card():
    card = cnnpapers.model_info("xception")
    assert card.category == cnnpapers.Category.WIDTH
    # Table 1 prints accuracies 0.790 / 0.945
    assert card.reported.errors == {"ImageNet val top-1": 21.0, "ImageNet val top-5": 5.5}


def test_min_input_size_is_the_smallest():
    s = cnnpapers.model_info("xception").min_input_size
    model = Xception(num_classes=7, in_channels=1).eval()
    assert model(torch.randn(1, 1, s, s)).shape == (1, 7)
    with pytest.raises(RuntimeError):
        model(torch.randn(1, 1, s - 1, s - 1))


@pytest.mark.parametrize("kwargs", [{"middle_blocks": 0}, {"dropout": 1.0}, {"in_channels": 0}])
def test_invalid_hyper_parameters(kwargs):
    with pytest.raises(ValueError), torch.device("meta"):
        Xception(**kwargs)
