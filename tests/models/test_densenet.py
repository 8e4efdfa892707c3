import pytest
import torch
import torchvision
from torch import nn

import cnnpapers
from cnnpapers.models.densenet import (
    DenseNet, _DenseBlock, cifar_densenet, cifar_layers_per_block,
)

TABLE2 = {  # name: exact parameters with a 10-class head, as the paper counted them
    "densenet_40_k12": 1_019_722,
    "densenet_100_k12": 6_979_642,
    "densenet_100_k24": 27_249_082,
    "densenet_bc_100_k12": 769_162,
    "densenet_bc_250_k24": 15_324_406,
    "densenet_bc_190_k40": 25_624_430,
}
FIG4 = {
    "densenet_70_k12": 3_333_682,
    "densenet_b_40_k12": 238_306, "densenet_b_70_k12": 623_986, "densenet_b_100_k12": 1_180_666,
    "densenet_c_40_k12": 578_090, "densenet_c_70_k12": 1_909_330, "densenet_c_100_k12": 4_013_370,
    "densenet_bc_40_k12": 176_122, "densenet_bc_70_k12": 425_542,
}
IMAGENET = {
    "densenet121": 7_978_856, "densenet161": 28_681_000, "densenet169": 14_149_480,
    "densenet201": 20_013_928, "densenet264": 33_337_704,
}


def test_every_densenet_variant_is_pinned():
    assert set(cnnpapers.list_models("densenet*")) == set(TABLE2) | set(FIG4) | set(IMAGENET)


def _weighted_layers(model: nn.Module) -> int:
    return sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())


@pytest.mark.parametrize("name", sorted({**TABLE2, **FIG4, **IMAGENET}))
def test_parameters_and_depth_match_the_paper(name):
    with torch.device("meta"):
        model = cnnpapers.create_model(name)
    count = sum(p.numel() for p in model.parameters())
    assert count == {**TABLE2, **FIG4, **IMAGENET}[name]
    card = cnnpapers.model_info(name)
    if card.reported is not None and card.reported.params is not None:
        assert card.reported.params_match(count)
    # L counts stem, every conv in the blocks, transitions and classifier; Table 1's
    # DenseNet-264 has 2·(6+12+64+48) + 5 = 265 of them
    assert _weighted_layers(model) == (265 if name == "densenet264" else card.depth)


def _cifar_parameters_closed_form(depth, k, bottleneck, theta, classes=10, k0=None):
    """Sum over Sec. 3's layers: BN has 2 parameters per channel, convs have no bias."""
    n = (depth - 4) // (6 if bottleneck else 3)
    c = k0 or (2 * k if bottleneck and theta < 1 else 16)
    total = 3 * 9 * c  # 3x3 stem
    for block in range(3):
        for _ in range(n):
            total += 2 * c + (c * 4 * k + 2 * 4 * k + 9 * 4 * k * k if bottleneck else 9 * c * k)
            c += k
        if block < 2:
            total += 2 * c + c * int(theta * c)
            c = int(theta * c)
    return total + 2 * c + c * classes + classes


@pytest.mark.parametrize("name", sorted({**TABLE2, **FIG4}))
def test_cifar_counts_agree_with_a_closed_form(name):
    _, rest = name.split("densenet_")
    *kind, depth, k = rest.split("_")
    bottleneck, theta = "b" in "".join(kind), 0.5 if "c" in "".join(kind) else 1.0
    expected = _cifar_parameters_closed_form(int(depth), int(k[1:]), bottleneck, theta)
    assert cnnpapers.count_parameters(name) == expected


def test_printed_parameter_counts_are_all_checked():
    printed = [n for n in cnnpapers.list_models("densenet*")
               if (r := cnnpapers.model_info(n).reported) is not None and r.params is not None]
    assert sorted(printed) == sorted([*TABLE2, "densenet201"])
    assert "265" in cnnpapers.model_info("densenet264").reported.remark


def test_densenet40_printed_1_0M_is_the_16_channel_stem_and_10_classes():
    # the official Torch code starts every variant with 2k channels; Table 2 did not count that
    card = cnnpapers.model_info("densenet_40_k12").reported
    torch_code = cnnpapers.count_parameters("densenet_40_k12", num_init_features=24)
    cifar100 = cnnpapers.count_parameters("densenet_40_k12", num_classes=100)
    assert torch_code == _cifar_parameters_closed_form(40, 12, False, 1.0, k0=24) == 1_059_298
    assert cifar100 == _cifar_parameters_closed_form(40, 12, False, 1.0, classes=100) == 1_060_132
    assert not card.params_match(torch_code) and not card.params_match(cifar100)
    assert "1,059,298" in card.remark and "1,060,132" in card.remark
    # the same stem would put L=100, k=24 at 28.1M instead of the printed 27.2M
    wide = cnnpapers.count_parameters("densenet_100_k24", num_init_features=48)
    assert not cnnpapers.model_info("densenet_100_k24").reported.params_match(wide)


def test_cards_quote_table2_and_table3():
    bc190 = cnnpapers.model_info("densenet_bc_190_k40").reported
    assert set(bc190.errors) == {"C10+", "C100+"}  # '-' in the paper
    assert set(cnnpapers.model_info("densenet_40_k12").reported.errors) == {
        "C10", "C10+", "C100", "C100+", "SVHN"}
    top1 = [cnnpapers.model_info(f"densenet{d}").reported.errors["ImageNet top-1"]
            for d in (121, 169, 201, 264)]
    assert top1 == sorted(top1, reverse=True)
    for name in cnnpapers.list_models("densenet*"):
        card = cnnpapers.model_info(name)
        assert card.paper.key == "huang2017" and card.category is cnnpapers.Category.MULTI_PATH
    assert cnnpapers.model_info("densenet_b_100_k12").reported is None


def test_layers_per_block_and_invalid_depths():
    assert cifar_layers_per_block(40, bottleneck=False) == 12
    assert cifar_layers_per_block(100, bottleneck=True) == 16
    assert cifar_layers_per_block(190, bottleneck=True) == 31
    with pytest.raises(ValueError, match=r"4 \+ 6n .*10, 16, 22"):
        cnnpapers.create_model("densenet_bc_100_k12", network_depth=40 + 3)
    with pytest.raises(ValueError, match=r"4 \+ 3n .*7, 10, 13"):
        cnnpapers.create_model("densenet_40_k12", network_depth=41)
    with pytest.raises(ValueError, match="4 \\+ 3n"):
        cifar_densenet(network_depth=4)


@pytest.mark.parametrize("bad", [{"growth_rate": 0}, {"growth_rate": -12}, {"compression": 0.0},
                                 {"compression": 1.5}, {"drop_rate": 1.0}])
def test_invalid_hyper_parameters_are_refused(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        cnnpapers.create_model("densenet_bc_100_k12", **bad)


def test_stem_and_compression_follow_section_3():
    model = cifar_densenet(network_depth=16, growth_rate=4, bottleneck=True, compression=0.3)
    assert model.features.conv0.out_channels == 8  # 2k for DenseNet-BC
    assert cifar_densenet(network_depth=16, growth_rate=4, bottleneck=True,
                          compression=1.0).features.conv0.out_channels == 16
    m = model.features.denseblock1.num_output_features
    assert m == 8 + 2 * 4
    assert model.features.transition1.conv.out_channels == int(0.3 * m)  # ⌊θm⌋ = 4
    assert model.features.norm5.num_features == model.classifier.in_features


@pytest.mark.parametrize("memory_efficient", [False, True])
def test_layer_l_reads_x0_to_x_l_minus_1_in_order(memory_efficient):
    torch.manual_seed(0)
    model = cifar_densenet(network_depth=16, growth_rate=3, bottleneck=True, compression=0.5,
                           memory_efficient=memory_efficient).eval()
    block = model.dense_blocks()[1]
    seen = {}
    hooks = [block.register_forward_hook(lambda m, a, out: seen.update(block=(a[0], out)))]
    for i, layer in enumerate(block.values(), start=1):
        hooks.append(layer.register_forward_hook(
            lambda m, a, out, i=i: seen.update({i: (a[0].clone(), out.clone())})))
    with torch.no_grad():
        model(torch.randn(2, 3, 8, 8))
    for h in hooks:
        h.remove()
    block_in, block_out = seen["block"]
    slices = block.feature_slices()
    sources = [block_in] + [seen[i][1] for i in range(1, block.num_layers + 1)]
    for i, layer in enumerate(block.values(), start=1):
        concat = seen[i][0]
        assert layer.conv1.in_channels == concat.shape[1] == block.num_input_features + (i - 1) * 3
        for s in range(i):
            torch.testing.assert_close(concat[:, slices[s]], sources[s], rtol=0, atol=0)
    torch.testing.assert_close(block_out, torch.cat(sources, 1), rtol=0, atol=0)


# --- torchvision twins --------------------------------------------------------------------------

def test_densenet121_loads_torchvision_weights_and_agrees():
    torch.manual_seed(0)
    reference = torchvision.models.densenet121().eval()
    ours = cnnpapers.create_model("densenet121").eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(1, 3, 29, 29)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x))


@pytest.mark.parametrize("memory_efficient", [False, True])
def test_small_torchvision_densenet_agrees_in_train_and_eval(memory_efficient):
    config = dict(growth_rate=4, block_config=(2, 3, 2), num_init_features=8, bn_size=2,
                  num_classes=10)
    torch.manual_seed(0)
    reference = torchvision.models.DenseNet(**config).double()
    ours = DenseNet(**config, memory_efficient=memory_efficient).double()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, 16, 16, dtype=torch.double)
    for training in (True, False):
        got, expected = _step(ours.train(training), x), _step(reference.train(training), x)
        for a, b in zip(expected, got, strict=True):
            torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["densenet161", "densenet169", "densenet201"])
def test_torchvision_twins_have_identical_state_dicts(name):
    with torch.device("meta"):
        reference = getattr(torchvision.models, name)()
        ours = cnnpapers.create_model(name)
    shapes = lambda m: {k: tuple(v.shape) for k, v in m.state_dict().items()}  # noqa: E731
    assert shapes(ours) == shapes(reference)
    assert cnnpapers.model_info(name).torchvision == name


@pytest.mark.parametrize("name, build", [
    ("densenet121", lambda: DenseNet(in_channels=1)),
    ("densenet_bc_100_k12", lambda: cifar_densenet(100, 12, True, 0.5, in_channels=1)),
])
def test_min_input_size_is_the_smallest_that_works(name, build):
    size = cnnpapers.model_info(name).min_input_size
    with torch.device("meta"):
        model = build().eval()
        assert model(torch.empty(1, 1, size, size)).shape == (1, 10 if "_" in name else 1000)
        with pytest.raises(RuntimeError):  # a pooling layer is left with no pixel
            model(torch.empty(1, 1, size - 1, size - 1))


# --- memory-efficient implementation -------------------------------------------------------------

def _twin_models(bottleneck: bool, drop_rate: float):
    torch.manual_seed(0)
    kwargs = dict(network_depth=16 if bottleneck else 10, growth_rate=4, bottleneck=bottleneck,
                  compression=0.5, drop_rate=drop_rate)
    naive = cifar_densenet(**kwargs).double()
    efficient = cifar_densenet(**kwargs, memory_efficient=True).double()
    assert efficient.state_dict().keys() == naive.state_dict().keys()
    efficient.load_state_dict(naive.state_dict())
    return naive, efficient


def _step(model, x):
    """Forward and backward with a fixed dropout seed; returns output, all grads, all buffers."""
    x = x.clone().requires_grad_()
    torch.manual_seed(1)
    out = model(x)
    (out * torch.arange(1.0, 11.0, dtype=out.dtype)).sum().backward()
    return [out, x.grad, *(p.grad for p in model.parameters()), *model.buffers()]


@pytest.mark.parametrize("bottleneck", [True, False])
@pytest.mark.parametrize("training, drop_rate", [(True, 0.0), (True, 0.2), (False, 0.0)])
def test_memory_efficient_equals_naive(bottleneck, training, drop_rate):
    naive, efficient = _twin_models(bottleneck, drop_rate)
    naive.train(training)
    efficient.train(training)
    x = torch.randn(3, 3, 8, 8, dtype=torch.double)
    expected, got = _step(naive, x), _step(efficient, x)
    for a, b in zip(expected, got, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-12)
    if training:  # BN statistics were updated once per forward, not again by the recomputation
        assert all(m.num_batches_tracked.item() == 1
                   for m in efficient.modules() if isinstance(m, nn.BatchNorm2d))


def test_recomputation_in_backward_leaves_running_stats_alone():
    _, efficient = _twin_models(bottleneck=True, drop_rate=0.0)
    out = efficient(torch.randn(2, 3, 8, 8, dtype=torch.double))
    after_forward = [b.clone() for b in efficient.buffers()]
    out.sum().backward()
    for before, now in zip(after_forward, efficient.buffers(), strict=True):
        assert torch.equal(before, now)


@pytest.mark.parametrize("bottleneck", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_memory_efficient_block_passes_gradcheck(bottleneck, training):
    torch.manual_seed(0)
    block = _DenseBlock(3, 2, 2, bottleneck, 2, 0.0, memory_efficient=True).double().train(training)
    for m in block.modules():  # non-trivial affine and running statistics
        if isinstance(m, nn.BatchNorm2d):
            for t in (m.weight, m.bias, m.running_mean):
                t.data.uniform_(-1, 1)
            m.running_var.data.uniform_(0.5, 2)
    x = torch.randn(2, 2, 3, 3, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(block, (x,), fast_mode=True)


def test_in_place_change_of_a_memory_efficient_block_output_is_refused():
    torch.manual_seed(0)
    block = _DenseBlock(2, 2, 2, True, 2, 0.0, memory_efficient=True)
    out = block(torch.randn(2, 2, 3, 3, requires_grad=True))
    out.mul_(2)
    with pytest.raises(RuntimeError, match="modified in place"):
        out.sum().backward()


def test_memory_efficient_under_bfloat16_autocast():
    naive, efficient = (m.float() for m in _twin_models(bottleneck=True, drop_rate=0.0))
    x = torch.randn(2, 3, 8, 8)
    results = []
    for model in (naive, efficient):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(x)
        out.float().sum().backward()
        results.append([out, *(p.grad for p in model.parameters())])
    for a, b in zip(*results, strict=True):
        assert a.dtype == b.dtype
        assert (a.float() - b.float()).abs().max() <= 0.05 * a.float().abs().max()


def _bytes_saved_for_backward(num_layers: int, memory_efficient: bool, *, n=2, c0=8, k=4, hw=4):
    """Bytes of distinct storages a dense block keeps for backward, plus its output.

    Parameters and BN buffers are excluded (they exist anyway); views of one storage count once,
    so the memory-efficient buffer, which layers read back in backward, counts as the output.
    """
    torch.manual_seed(0)
    block = _DenseBlock(num_layers, c0, k, True, 4, 0.0, memory_efficient)
    state = {t.untyped_storage().data_ptr() for t in [*block.parameters(), *block.buffers()]}
    kept = {}

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in state:
            kept[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = block(torch.randn(n, c0, hw, hw, requires_grad=True))
    kept[out.untyped_storage().data_ptr()] = out.untyped_storage().nbytes()
    return sum(kept.values())


def test_saved_memory_is_quadratic_in_depth_naively_and_linear_when_efficient():
    depths, n, k, hw = (2, 4, 6, 8), 2, 4, 4
    second_differences = {}
    for efficient in (False, True):
        b = [_bytes_saved_for_backward(L, efficient, n=n, k=k, hw=hw) for L in depths]
        second_differences[efficient] = {b[i + 2] - 2 * b[i + 1] + b[i] for i in range(2)}
    # naive: layer ℓ keeps its concatenation and BN's output (c_ℓ maps each) plus BN's batch
    # mean and inverse std (c_ℓ floats each); with c_ℓ = c0 + ℓk and depth step d = 2 that
    # is a curvature of k·d²·(2·n·hw² + 2) float32 numbers
    assert second_differences[False] == {k * 2**2 * (2 * n * hw * hw + 2) * 4}
    assert second_differences[True] == {0}  # a fixed amount per layer: linear in depth
    assert _bytes_saved_for_backward(8, True) < _bytes_saved_for_backward(8, False) / 2
