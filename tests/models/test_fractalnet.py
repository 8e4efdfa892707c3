import pytest
import torch
from torch import nn

import cnnpapers
from cnnpapers.models.fractalnet import FractalNet, _DropPlan, join

SMALL = dict(channels=(4, 8), dropout=(0.0, 0.0), in_channels=1, num_classes=3)


def fractal_parameters(columns, channels, in_channels=3, num_classes=10):
    """Closed form: a block has C convs reading its input and 2^C - 1 - C reading its output
    (conv with bias, BN without affine); the classifier reads the last block's channels."""
    total, cin = 0, in_channels
    for c in channels:
        reads_input, reads_output = columns, 2 ** columns - 1 - columns
        total += reads_input * (9 * cin * c + c) + reads_output * (9 * c * c + c)
        cin = c
    return total + cin * num_classes + num_classes


def test_count_is_pinned_and_closed_form():
    count = cnnpapers.count_parameters("fractalnet20")
    assert count == 33_714_314 == fractal_parameters(3, (64, 128, 256, 512, 512))
    assert cnnpapers.count_parameters("fractalnet20_drop_path") == count  # no extra weights


@pytest.mark.parametrize("name", ["fractalnet20", "fractalnet20_drop_path"])
def test_printed_38_6m_disagrees_with_the_architecture(name):
    # DenseNet's Table 2 (and the FractalNet paper) print 38.6M; B=5, C=3 with 64-128-256-512-512
    # filters has 33.7M, as the authors' generator and independent re-implementations build.
    reported = cnnpapers.model_info(name).reported
    count = cnnpapers.count_parameters(name)
    assert reported.params == "38.6" and not reported.params_match(count)
    assert round(count / 1e6, 1) == 33.7
    assert "38.6M cannot be reached" in reported.remark


def test_block_structure_follows_the_expansion_rule():
    model = cnnpapers.create_model("fractalnet20")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 5 * (2 ** 3 - 1)  # B blocks of 2^C - 1 convs
    assert all(not bn.affine for bn in model.modules() if isinstance(bn, nn.BatchNorm2d))
    assert cnnpapers.model_info("fractalnet20").depth == 5 * 2 ** (3 - 1)


@pytest.mark.parametrize("columns", [1, 2, 3, 4])
def test_column_c_has_2_to_the_c_convs(columns):
    model = FractalNet(columns=columns, **SMALL).eval()
    x = torch.randn(1, 1, 8, 8)
    for c in range(columns):
        calls = []
        hooks = [m.register_forward_hook(lambda *_: calls.append(1))
                 for m in model.modules() if isinstance(m, nn.Conv2d)]
        model.forward_column(x, c)
        for h in hooks:
            h.remove()
        assert len(calls) == 2 * 2 ** c  # two blocks


def test_join_is_the_mean_of_the_kept_paths():
    a, b, c = (torch.full((1, 2), v, requires_grad=True) for v in (1.0, 2.0, 6.0))
    assert torch.equal(join([a, b, c]), torch.full((1, 2), 3.0))
    out = join([a, b, c], keep=[True, False, True])
    assert torch.equal(out, torch.full((1, 2), 3.5))
    out.sum().backward()
    assert torch.equal(b.grad, torch.zeros(1, 2))  # dropped, yet reached: zero gradient
    assert torch.equal(a.grad, torch.full((1, 2), 0.5))


def test_local_drop_path_always_keeps_one_input():
    torch.manual_seed(0)
    plan = _DropPlan(columns=3, local_drop_prob=0.99)
    for _ in range(50):
        keep = plan._keep(3)
        assert sum(keep) >= 1


def test_global_drop_path_keeps_only_the_chosen_column_at_every_join():
    plan = _DropPlan(columns=4, column=2)
    assert plan._keep(4) == [False, False, True, False]  # a block's final join: columns 0-3
    assert plan._keep(2) == [True, False]  # an inner join of columns 2 and 3
    # a join of columns 2 and 3 feeds only those columns, which column 1's plan drops later
    assert _DropPlan(columns=4, column=1)._keep(2) is None


def test_global_drop_path_forward_equals_one_column():
    torch.manual_seed(0)
    model = FractalNet(columns=3, global_drop_ratio=1.0, **SMALL).train()
    x = torch.randn(2, 1, 8, 8)
    out = model(x)
    columns = [model.forward_column(x, c) for c in range(3)]
    assert sum(torch.allclose(out, col) for col in columns) == 1


def test_drop_path_gives_every_parameter_a_gradient():
    torch.manual_seed(0)
    model = FractalNet(columns=3, global_drop_ratio=1.0, **SMALL).train()
    model(torch.randn(2, 1, 8, 8)).sum().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None for g in grads)
    assert any(torch.count_nonzero(g) == 0 for g in grads)  # the dropped columns'


def test_eval_mode_is_deterministic_and_ignores_drop_path():
    torch.manual_seed(0)
    model = cnnpapers.create_model("fractalnet20_drop_path", channels=(4, 8, 8, 8, 8),
                                   in_channels=1)
    x = torch.randn(2, 1, 28, 28)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    with torch.no_grad():
        plain = FractalNet(columns=3, channels=(4, 8, 8, 8, 8), in_channels=1).eval()
        plain.load_state_dict(model.state_dict())
        assert torch.equal(model(x), model(x))
        assert torch.equal(model(x), plain(x))  # no dropout, no dropped paths


@pytest.mark.parametrize("kwargs,match", [
    (dict(columns=0), "columns"),
    (dict(channels=()), "channels"),
    (dict(dropout=(0.1,) * 4), "dropout"),
    (dict(dropout=(0.0, 0.1, 0.2, 0.3, 1.0)), "dropout"),
    (dict(local_drop_prob=1.0), "local_drop_prob"),
    (dict(global_drop_ratio=1.5), "global_drop_ratio"),
])
def test_invalid_hyper_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        with torch.device("meta"):
            FractalNet(**kwargs)


def test_forward_column_rejects_a_missing_column():
    model = FractalNet(columns=2, **SMALL)
    with pytest.raises(ValueError, match=r"column must be in 0\.\.1"):
        model.forward_column(torch.randn(1, 1, 4, 4), 2)
