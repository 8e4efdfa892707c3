import functools

import pytest
import torch
import torchvision
from torch import nn

import cnnpapers
from cnnpapers.analysis import memory
from cnnpapers.analysis.plots import figure_texts

FLOAT = 4  # bytes


def test_saved_bytes_of_a_tiny_net_equal_its_activations():
    # conv1 saves its input x; the in-place ReLU saves its output, which *is* conv1's output and
    # which conv2 saves again as its input: two storages, five saves (two of them parameters)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True), nn.Conv2d(4, 2, 3))
    saved = memory.saved_tensor_bytes(net, torch.randn(2, 3, 8, 8))
    assert saved.bytes == FLOAT * (2 * 3 * 8 * 8 + 2 * 4 * 6 * 6)
    assert (saved.storages, saved.saves) == (2, 5)


def test_saved_bytes_with_batch_norm_and_linear():
    # conv saves x; BN saves its input and per-channel batch mean and inverse std (its running
    # statistics are buffers, not counted); ReLU saves its output, which flatten views and
    # linear saves again as its input
    n, c, hw = 2, 5, 4
    net = nn.Sequential(nn.Conv2d(3, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                        nn.Flatten(), nn.Linear(c * hw * hw, 3))
    saved = memory.saved_tensor_bytes(net.train(), torch.randn(n, 3, hw, hw))
    activations = n * 3 * hw * hw + n * c * hw * hw + 2 * c + n * c * hw * hw
    assert saved.bytes == FLOAT * activations
    assert saved.storages == 5


def test_meta_device_counts_the_same_bytes():
    def build():
        return torchvision.models.DenseNet(growth_rate=4, block_config=(2, 2), num_init_features=8)

    torch.manual_seed(0)
    real = memory.saved_tensor_bytes(build(), torch.randn(2, 3, 32, 32))
    with torch.device("meta"):
        meta = memory.saved_tensor_bytes(build(), torch.empty(2, 3, 32, 32))
    assert real == meta


def tv_densenet(layers_per_block: int, memory_efficient: bool) -> nn.Module:
    return torchvision.models.DenseNet(growth_rate=12, block_config=(layers_per_block,) * 3,
                                       num_init_features=24, memory_efficient=memory_efficient,
                                       num_classes=10)


def our_densenet(layers_per_block: int, memory_efficient: bool) -> nn.Module:
    return cnnpapers.create_model("densenet_bc_100_k12", network_depth=6 * layers_per_block + 4,
                                  memory_efficient=memory_efficient)


BUILDERS = {"torchvision": tv_densenet, "cnnpapers": our_densenet}


@pytest.mark.parametrize("family", list(BUILDERS))
def test_depth_sweep_naive_is_quadratic_and_memory_efficient_linear(family):
    if family == "cnnpapers" and "densenet_bc_100_k12" not in cnnpapers.list_models():
        pytest.skip("cnnpapers' DenseNet-BC is not registered yet")
    build = BUILDERS[family]
    builders = {"naive": functools.partial(build, memory_efficient=False),
                "memory-efficient": functools.partial(build, memory_efficient=True)}
    frame = memory.compare_memory(builders, [2, 4, 6, 8], sweep_name="layers_per_block",
                                  input_size=(3, 32, 32), batch_size=1)
    table = memory.memory_table(frame, "saved_mib", "layers_per_block")
    print(f"\n{family} DenseNet, saved tensors (MiB):\n{table}")
    fits = memory.growth_table(frame, "saved_mib", "layers_per_block").set_index("model")
    print(fits)
    assert fits.loc["naive", "growth"] == "quadratic"
    assert fits.loc["memory-efficient", "growth"] == "linear"
    assert fits.loc["memory-efficient", "quadratic_share"] < 0.01
    # same parameters; the efficient form saves less at every depth
    assert (frame.groupby("layers_per_block")["params"].nunique() == 1).all()
    assert (table["memory-efficient"] < table["naive"]).all()
    fig = memory.plot_memory_sweep(frame, caption="budget smoke · meta",
                                   sweep_name="layers_per_block")
    texts = figure_texts(fig)
    assert "budget smoke · meta" in texts and any("MiB" in t for t in texts)


def test_fit_growth_on_exact_polynomials():
    x = [1, 2, 3, 4, 5]
    quad = memory.fit_growth(x, [3 * v * v + 2 * v + 1 for v in x])
    assert quad.growth == "quadratic"
    assert quad.quadratic == pytest.approx((3, 2, 1))
    assert quad.quadratic_r2 == pytest.approx(1.0) and quad.linear_r2 < 1.0
    lin = memory.fit_growth(x, [5 * v + 7 for v in x])
    assert lin.growth == "linear" and lin.linear == pytest.approx((5, 7))
    with pytest.raises(ValueError, match="at least 4"):
        memory.fit_growth([1, 2, 3], [1, 4, 9])


def test_unknown_measure_and_missing_gpu_are_clear_errors():
    with pytest.raises(ValueError, match="unknown measures"):
        memory.compare_memory({"a": tv_densenet}, [1], measures=("disk",))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            memory.compare_memory({"a": tv_densenet}, [1], measures=("cuda",))


def test_process_peak_rss_sees_the_activations_of_the_pass():
    # a 1x1 conv from 1 to 64 maps on a 512x512 image: its output alone is 64 MiB
    conv = functools.partial(nn.Conv2d, 1, kernel_size=1)  # picklable, and needs only torch
    result = memory.process_peak_rss(conv, 64, (1, 512, 512), batch_size=1)
    assert result["rss_before_bytes"] > 50 * 2**20  # an interpreter with torch loaded
    assert result["rss_increase_bytes"] == result["rss_peak_bytes"] - result["rss_before_bytes"]
    if result["rss_method"] == "VmHWM":  # Linux: the high-water mark was reset before the pass
        assert result["rss_increase_bytes"] >= 64 * 2**20
    with pytest.raises(ValueError, match="picklable"):
        memory.process_peak_rss(lambda width: nn.Conv2d(1, width, 1), 64, (1, 8, 8))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_peak_covers_the_saved_tensors():
    model = tv_densenet(4, False).cuda().train()
    x = torch.randn(4, 3, 32, 32, device="cuda")
    saved = memory.saved_tensor_bytes(model, x)
    peak = memory.cuda_peak_memory(model, x)
    assert peak["cuda_increase_bytes"] >= saved.bytes - x.numel() * FLOAT
    frame = memory.compare_memory({"naive": functools.partial(tv_densenet, memory_efficient=False)},
                                  [2], measures=("saved", "cuda"))
    assert frame.loc[0, "cuda_increase_mib"] > 0
