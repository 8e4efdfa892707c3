import pytest
import torch
from torch import nn

import cnnpapers
from cnnpapers.models.wide_resnet import WideResNet, blocks_per_group

PINNED = {  # exact counts, CIFAR-10 head
    "wrn_16_8": 10_961_370,
    "wrn_28_10": 36_479_194,
    "wrn_28_10_dropout": 36_479_194,
    "wrn_16_4_dropout": 2_748_890,
}


def wrn_parameters(d: int, k: int, num_classes: int = 10, in_channels: int = 3) -> int:
    """Closed form from Table 1: stem, 3 groups of n blocks B(3,3) with BN, 1x1 projections."""
    n = (d - 4) // 6
    widths = [16, 16 * k, 32 * k, 64 * k]
    total = 9 * in_channels * 16  # stem conv, no bias
    for cin, cout in zip(widths, widths[1:]):
        for i in range(n):
            c = cin if i == 0 else cout
            total += 2 * c + 9 * c * cout + 2 * cout + 9 * cout * cout  # bn1, conv1, bn2, conv2
            total += c * cout if c != cout else 0  # 1x1 projection where the width changes
    return total + 2 * widths[-1] + widths[-1] * num_classes + num_classes  # final BN, fc


@pytest.mark.parametrize("name", sorted(PINNED))
def test_parameter_count_is_pinned(name):
    assert cnnpapers.count_parameters(name) == PINNED[name]


@pytest.mark.parametrize("d,k", [(10, 1), (16, 4), (16, 8), (22, 2), (28, 10), (40, 4)])
def test_parameter_count_matches_closed_form(d, k):
    assert cnnpapers.count_parameters("wrn_28_10", network_depth=d, widen_factor=k) == wrn_parameters(d, k)


@pytest.mark.parametrize("name", ["wrn_16_8", "wrn_28_10", "wrn_16_4_dropout"])
def test_counts_round_to_the_printed_figures(name):
    # DenseNet's Table 2 and the WRN paper print 11.0M, 36.5M and 2.7M
    reported = cnnpapers.model_info(name).reported
    assert reported.params_match(PINNED[name])


def test_widths_are_16_then_16k_32k_64k():
    model = WideResNet(network_depth=10, widen_factor=3)
    assert model.stem.out_channels == 16
    assert [group[0].conv2.out_channels for group in model.groups] == [48, 96, 192]
    assert model.fc.in_features == 192


def test_projection_shortcut_only_where_width_changes():
    thin = WideResNet(network_depth=16, widen_factor=1)  # 16 -> 16 keeps the identity
    wide = WideResNet(network_depth=16, widen_factor=2)
    one_by_one = lambda m: sum(isinstance(x, nn.Conv2d) and x.kernel_size == (1, 1) for x in m.modules())
    assert one_by_one(thin) == 2
    assert one_by_one(wide) == 3
    assert blocks_per_group(16) == 2 and len(wide.groups[0]) == 2


@pytest.mark.parametrize("bad", [27, 8, 0, 28.0, True])
def test_invalid_depth_names_the_valid_ones(bad):
    with pytest.raises(ValueError, match=r"6n \+ 4.*10, 16, 22, 28"):
        WideResNet(network_depth=bad)


@pytest.mark.parametrize("bad", [0, -2, 2.5])
def test_invalid_widen_factor(bad):
    with pytest.raises(ValueError, match="widen_factor"):
        WideResNet(network_depth=10, widen_factor=bad)


def test_invalid_dropout():
    with pytest.raises(ValueError, match=r"dropout.*\[0, 1\)"):
        WideResNet(network_depth=10, widen_factor=1, dropout=1.0)


def test_dropout_acts_between_the_convs_in_training_only():
    torch.manual_seed(0)
    model = cnnpapers.create_model("wrn_16_4_dropout", network_depth=10, widen_factor=1,
                                   num_classes=5, in_channels=1)
    assert all(block.dropout.p == 0.4 for group in model.groups for block in group)
    x = torch.randn(2, 1, 8, 8)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), model(x))


def test_reads_fashion_mnist_sized_input():
    model = cnnpapers.create_model("wrn_16_8", network_depth=10, widen_factor=1,
                                   num_classes=10, in_channels=1).eval()
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)
