import math

import pytest
import torch

import cnnpapers
from cnnpapers.models.pyramidnet import README_ROWS, PyramidNet, _PyramidalUnit, additive_widths

# exact counts (CIFAR-10 head); they equal the counts independent re-implementations of the
# authors' PyTorch code pin (e.g. 1,772,706 and 28,485,477 for the basic alpha=48 and 270 nets)
PINNED = {
    "pyramidnet110_a48": 1_772_706,
    "pyramidnet110_a84": 3_904_446,
    "pyramidnet110_a270": 28_485_477,
    "pyramidnet164_a48_bottleneck": 1_715_442,
    "pyramidnet164_a84_bottleneck": 3_757_494,
    "pyramidnet164_a270_bottleneck": 27_216_021,
    "pyramidnet200_a240_bottleneck": 26_752_702,
    "pyramidnet236_a220_bottleneck": 26_969_046,
    "pyramidnet272_a200_bottleneck": 26_210_842,
}


def _name(depth, alpha, bottleneck):
    return f"pyramidnet{depth}_a{alpha}" + ("_bottleneck" if bottleneck else "")


ROWS = {_name(*row[:3]): row for row in README_ROWS}


def test_every_readme_row_is_registered_and_pinned():
    assert set(ROWS) == set(PINNED) == set(cnnpapers.list_models("pyramidnet*"))


def pyramidnet_parameters(depth: int, alpha: float, bottleneck: bool, num_classes: int = 10) -> int:
    """Closed form: widths D_k = round(16 + k·alpha/N); zero-padded shortcuts add nothing."""
    n = (depth - 2) // (9 if bottleneck else 6)
    total, cin = 9 * 3 * 16 + 2 * 16, 16  # stem conv + BN
    for k in range(1, 3 * n + 1):
        d = math.floor(16 + k * alpha / (3 * n) + 0.5)
        if bottleneck:
            total += 2 * cin + cin * d + 2 * d + 9 * d * d + 2 * d + d * 4 * d + 2 * 4 * d
            cin = 4 * d
        else:
            total += 2 * cin + 9 * cin * d + 2 * d + 9 * d * d + 2 * d
            cin = d
    return total + 2 * cin + cin * num_classes + num_classes


@pytest.mark.parametrize("name", sorted(PINNED))
def test_parameter_count_is_pinned_and_closed_form(name):
    depth, alpha, bottleneck = ROWS[name][:3]
    count = cnnpapers.count_parameters(name)
    assert count == PINNED[name] == pyramidnet_parameters(depth, alpha, bottleneck)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_printed_count_agrees_exactly_where_the_card_says_so(name):
    # The README prints 1.7M/3.8M/28.3M/27.0M/26.6M/26.8M/26.0M; only the two small bottleneck
    # rows round from the built networks, the others are 0.07-0.22M low. The cards flag those.
    reported = cnnpapers.model_info(name).reported
    agrees = ROWS[name][-1]
    assert reported.params_match(PINNED[name]) is agrees
    assert ("printed parameter count is below" in reported.remark) is (not agrees)
    if not agrees:
        assert reported.params_count < PINNED[name]


@pytest.mark.parametrize("name", sorted(PINNED))
def test_output_feature_dimension_matches_the_readme(name):
    # the README's "Output feat. dimension" column: 16 + alpha, times 4 with bottlenecks
    depth, alpha, bottleneck, *_, out_dim, _ = ROWS[name]
    assert out_dim == (16 + alpha) * (4 if bottleneck else 1)
    with torch.device("meta"):
        model = cnnpapers.create_model(name)
    assert model.fc.in_features == out_dim


def test_widths_grow_by_alpha_over_n_every_unit():
    widths = additive_widths(48, 54)  # PyramidNet-110: N = 3 * 18 units
    assert widths[0] == 17 and widths[-1] == 64 and len(widths) == 54
    steps = {b - a for a, b in zip([16] + widths, widths)}
    assert steps == {0, 1}  # 48/54 < 1 channel per unit
    # the exact running sum of the authors' code gives the same widths
    running, expected = 16.0, []
    for _ in range(54):
        running += 48 / 54
        expected.append(int(running + 0.5))
    assert widths == expected
    assert additive_widths(270, 54) == [16 + 5 * k for k in range(1, 55)]


def test_zero_padded_shortcut_adds_no_parameters_and_keeps_the_input():
    torch.manual_seed(0)
    model = PyramidNet(network_depth=8, alpha=6).eval()  # 3 units, widths 18, 20, 22
    unit = model.units[1]  # 18 -> 20 channels, stride 2
    assert isinstance(unit, _PyramidalUnit)
    assert sum(p.numel() for p in unit.parameters()) == sum(p.numel() for p in unit.branch.parameters())
    x = torch.randn(2, 18, 6, 6)
    with torch.no_grad():
        residual = unit(x) - unit.branch(x)
    pooled = torch.nn.functional.avg_pool2d(x, 2)
    torch.testing.assert_close(residual[:, :18], pooled)
    assert torch.count_nonzero(residual[:, 18:]) == 0


def test_odd_input_sizes_are_accepted():
    model = PyramidNet(network_depth=8, alpha=6, in_channels=1).eval()
    for size in (1, 7, 15, 28):
        assert model(torch.randn(2, 1, size, size)).shape == (2, 10)


@pytest.mark.parametrize("depth,bottleneck", [(111, False), (165, True), (2, False), (164.0, True)])
def test_invalid_depth_names_the_valid_ones(depth, bottleneck):
    pattern = r"9n \+ 2.*164, 200, 236, 272" if bottleneck else r"6n \+ 2.*110"
    with pytest.raises(ValueError, match=pattern):
        PyramidNet(network_depth=depth, bottleneck=bottleneck)


@pytest.mark.parametrize("bad", [-1, "48", True])
def test_invalid_alpha(bad):
    with pytest.raises(ValueError, match="alpha"):
        PyramidNet(network_depth=8, alpha=bad)


def test_alpha_zero_is_a_constant_width_resnet():
    model = PyramidNet(network_depth=20, alpha=0)
    assert model.widths == [16] * 9
