from decimal import Decimal
from functools import partial

import pytest
import torch
import torchvision
from torch import nn

import cnnpapers
from cnnpapers.models.inception import (AsymmetricConv, Factorized5x5, Inception3,
                                        InceptionOutputs, InceptionResNetV2, InceptionV4,
                                        _inception_resnet_a)

PLAIN = partial(nn.Conv2d, bias=False)  # weights only, to count what factorising saves


def _params(module):
    return sum(p.numel() for p in module.parameters())


def _millions(count, printed):
    return (Decimal(count) / 10**6).quantize(Decimal(printed)) == Decimal(printed)


# --- Inception-v3 against torchvision --------------------------------------------------------


def test_inception_v3_is_torchvisions():
    torch.manual_seed(0)
    ours = cnnpapers.create_model("inception_v3", num_classes=10, aux_logits=True)
    theirs = torchvision.models.inception_v3(num_classes=10, aux_logits=True, init_weights=False)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    ours.eval(), theirs.eval()
    x = torch.randn(2, 3, 75, 75)
    assert torch.equal(ours(x), theirs(x))
    grid17 = torch.randn(2, 768, 17, 17)  # the auxiliary head's input at 299x299
    assert torch.equal(ours.AuxLogits(grid17), theirs.AuxLogits(grid17))


def test_inception_v3_training_output_has_the_aux_logits():
    with torch.device("meta"):
        model = Inception3(num_classes=4, aux_logits=True).train()
        out = model(torch.empty(2, 3, 299, 299))
        assert isinstance(out, InceptionOutputs) and out.aux_logits.shape == (2, 4)
        with pytest.raises(RuntimeError):  # the head needs the full 299x299 input
            model(torch.empty(2, 3, 298, 298))
        assert model.eval()(torch.empty(2, 3, 75, 75)).shape == (2, 4)


def test_inception_v3_counts_and_the_25_million_claim():
    meta = torchvision.models.Inception_V3_Weights.IMAGENET1K_V1.meta
    with_aux = cnnpapers.count_parameters("inception_v3", aux_logits=True)
    without = cnnpapers.count_parameters("inception_v3")
    assert with_aux == meta["num_params"] == 27_161_264
    assert without == 23_834_568
    # abstract: "less than 25 million parameters" -- true of the net used at inference only
    assert without < 25e6 < with_aux
    assert "fails with it" in cnnpapers.model_info("inception_v3").reported.remark


# --- factorisation (2016 paper, Section 3; note 001) -----------------------------------------


def test_two_3x3_cost_18_25ths_of_a_5x5():
    c = 64
    factorised = Factorized5x5(c, c, conv_block=PLAIN)
    assert _params(factorised) == 18 * c * c
    assert _params(PLAIN(c, c, 5)) == 25 * c * c  # note 001: (9 + 9) / 25, 28% fewer
    x = torch.randn(1, c, 11, 11)
    assert factorised(x).shape == PLAIN(c, c, 5, padding=2)(x).shape


@pytest.mark.parametrize("n, saved", [(3, 1 / 3), (7, 1 - 14 / 49)])
def test_asymmetric_factorisation_saves(n, saved):
    c = 32
    block = AsymmetricConv(c, c, n, conv_block=PLAIN)
    assert [m.kernel_size for m in block] == [(1, n), (n, 1)]
    assert 1 - _params(block) / _params(PLAIN(c, c, n)) == pytest.approx(saved)
    x = torch.randn(1, c, 9, 9)
    assert block(x).shape == x.shape


def test_a_5x5_receptive_field_from_two_3x3():
    block = Factorized5x5(1, 1, conv_block=PLAIN)
    x = torch.zeros(1, 1, 11, 11, requires_grad=True)
    (grad,) = torch.autograd.grad(block(x)[0, 0, 5, 5], x)
    rows, cols = torch.nonzero(grad[0, 0] != 0, as_tuple=True)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (3, 7, 3, 7)


# --- Inception-v4 and Inception-ResNet-v2 (2017 paper) -----------------------------------------


def test_inception_v4_count_equals_timms():
    count = cnnpapers.count_parameters("inception_v4")
    assert count == 42_679_816  # timm's inception_v4 (port of the released TF-slim checkpoint)
    assert _millions(count, "42.7")  # as its model card prints it


def test_released_inception_resnet_v2_count_equals_timms():
    count = cnnpapers.count_parameters("inception_resnet_v2_tf")
    assert count == 55_843_464  # timm's inception_resnet_v2
    assert _millions(count, "55.8")


def test_paper_inception_resnet_v2_count():
    assert cnnpapers.count_parameters("inception_resnet_v2") == 32_433_928


def _shapes(model, size):
    shapes = []
    x = torch.empty(1, 3, size, size)
    for layer in model.features:
        x = layer(x)
        shapes.append(tuple(x.shape[1:]))
    return shapes


def test_inception_v4_grid_sizes_of_fig_9():
    with torch.device("meta"):
        shapes = _shapes(InceptionV4(), 299)
    assert shapes[0] == (384, 35, 35)  # stem (Fig. 3)
    assert shapes[5] == (1024, 17, 17)  # Reduction-A after 4 x Inception-A
    assert shapes[13] == (1536, 8, 8)  # Reduction-B after 7 x Inception-B
    assert shapes[-1] == (1536, 8, 8) and len(shapes) == 1 + 4 + 1 + 7 + 1 + 3


def test_inception_resnet_v2_widths_fix_the_figures_typos():
    with torch.device("meta"):
        model = InceptionResNetV2()
        shapes = _shapes(model, 299)
    ups = [m.up.out_channels for m in model.features if hasattr(m, "up")]
    assert ups == [384] * 5 + [1152] * 10 + [2144] * 5  # Figs. 17 and 19 print 1154 and 2048
    assert shapes[0] == (384, 35, 35) and shapes[6] == (1152, 17, 17)
    assert shapes[17] == (2144, 8, 8) and shapes[-1] == (2144, 8, 8)
    assert "1154, 2048" in cnnpapers.model_info("inception_resnet_v2").reported.remark


def test_released_inception_resnet_v2_layout():
    with torch.device("meta"):
        model = InceptionResNetV2(paper_exact=False, blocks=(10, 20, 10))
        shapes = _shapes(model, 299)
    blocks = [m for m in model.features if hasattr(m, "up")]
    assert [m.up.out_channels for m in blocks] == [320] * 10 + [1088] * 20 + [2080] * 10
    assert [m.scale for m in blocks[-2:]] == [0.2, 1.0] and not blocks[-1].activate
    assert shapes[-1] == (1536, 8, 8)


def test_residual_module_adds_the_scaled_branch():
    block = _inception_resnet_a(384, scale=0.17)
    nn.init.zeros_(block.up.weight), nn.init.zeros_(block.up.bias)
    x = torch.randn(1, 384, 5, 5)
    torch.testing.assert_close(block(x), torch.relu(x))  # zero branch: relu(x + 0)
    nn.init.constant_(block.up.bias, 1.0)
    torch.testing.assert_close(block(x), torch.relu(x + block.scale))


def test_cards():
    v4 = cnnpapers.model_info("inception_v4")
    irv2 = cnnpapers.model_info("inception_resnet_v2")
    assert v4.reported.errors == {"ILSVRC-2012 val top-1": 20.0, "ILSVRC-2012 val top-5": 5.0}
    assert irv2.reported.errors == {"ILSVRC-2012 val top-1": 19.9, "ILSVRC-2012 val top-5": 4.9}
    assert v4.category == irv2.category == cnnpapers.Category.DEPTH
    assert cnnpapers.model_info("inception_v3").category == cnnpapers.Category.SPATIAL
    assert cnnpapers.model_info("inception_v3").reported.errors["ILSVRC-2012 val top-1"] == 21.2


@pytest.mark.parametrize("cls, kwargs", [(InceptionV4, {}), (InceptionResNetV2, {}),
                                         (InceptionResNetV2, {"paper_exact": False}),
                                         (Inception3, {})])
def test_min_input_size_is_the_smallest(cls, kwargs):
    with torch.device("meta"):
        model = cls(num_classes=7, in_channels=1, **kwargs).eval()
        assert model(torch.empty(1, 1, 75, 75)).shape == (1, 7)
        with pytest.raises(RuntimeError):
            model(torch.empty(1, 1, 74, 74))


@pytest.mark.parametrize("build", [
    lambda: InceptionResNetV2(blocks=(5, 0, 5)),
    lambda: InceptionResNetV2(blocks=(5, 10)),
    lambda: InceptionResNetV2(residual_scales=(0.0, 0.1, 0.2)),
    lambda: InceptionV4(dropout=1.0),
    lambda: Inception3(in_channels=1, transform_input=True),
    lambda: AsymmetricConv(8, 8, 4),
])
def test_invalid_hyper_parameters(build):
    with pytest.raises(ValueError), torch.device("meta"):
        build()
