import math
from types import SimpleNamespace

import pytest
import torch
import torchvision
from torch import nn

from cnnpapers.analysis import gradflow
from cnnpapers.analysis.plots import figure_texts


def scalar_chain(w1=2.0, w2=3.0, w3=0.5) -> nn.Sequential:
    chain = nn.Sequential(*(nn.Linear(1, 1, bias=False) for _ in range(3)))
    with torch.no_grad():
        for layer, w in zip(chain, (w1, w2, w3)):
            layer.weight.fill_(w)
    return chain


def half_squared_error(out, target):
    return 0.5 * ((out - target) ** 2).sum()


def test_linear_chain_matches_hand_computed_gradients():
    # x = 1: h1 = 2, h2 = 6, out = 3; L = out²/2 = 4.5
    # dL/dout = 3, dL/dh2 = 3·w3 = 1.5, dL/dh1 = 1.5·w2 = 4.5
    # dL/dw3 = 3·h2 = 18, dL/dw2 = 1.5·h1 = 3, dL/dw1 = 4.5·x = 4.5
    frame = gradflow.gradient_norms(scalar_chain(), torch.ones(1, 1), torch.zeros(1, 1),
                                    half_squared_error)
    assert list(frame["layer"]) == ["0", "1", "2"]
    assert list(frame["depth"]) == [1, 2, 3]
    assert frame["weight_grad_norm"].tolist() == pytest.approx([4.5, 3.0, 18.0])
    assert frame["output_grad_norm"].tolist() == pytest.approx([4.5, 1.5, 3.0])
    assert frame["act_mean"].tolist() == pytest.approx([2.0, 6.0, 3.0])
    assert frame["act_std"].tolist() == [0.0, 0.0, 0.0]
    assert frame["weight_norm"].tolist() == pytest.approx([2.0, 3.0, 0.5])


def test_vector_chain_norms_factorise():
    # one sample: dL/dW = e·hᵀ, so ‖dL/dW‖ = ‖e‖·‖h‖ for each layer (e = gradient at its output)
    torch.manual_seed(0)
    chain = nn.Sequential(nn.Linear(3, 4, bias=False), nn.Linear(4, 2, bias=False))
    x, t = torch.randn(1, 3), torch.randn(1, 2)
    frame = gradflow.gradient_norms(chain, x, t, half_squared_error)
    h = chain[0](x)
    e2 = chain[1](h) - t
    e1 = e2 @ chain[1].weight
    expected = [e1.norm() * x.norm(), e2.norm() * h.norm()]
    assert frame["weight_grad_norm"].tolist() == pytest.approx([v.item() for v in expected],
                                                               rel=1e-5)
    assert frame["output_grad_norm"].tolist() == pytest.approx([e1.norm().item(), e2.norm().item()],
                                                               rel=1e-5)


def test_depth_follows_forward_order_not_registration_order():
    class Reversed(nn.Module):
        def __init__(self):
            super().__init__()
            self.late = nn.Linear(2, 2)
            self.early = nn.Linear(2, 2)

        def forward(self, x):
            return self.late(self.early(x))

    frame = gradflow.gradient_norms(Reversed(), torch.ones(2, 2), torch.tensor([0, 1]))
    assert list(frame["layer"]) == ["early", "late"]


def test_probe_leaves_gradients_and_bn_statistics_untouched():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    model[0].weight.grad = torch.full_like(model[0].weight, 7.0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    frame = gradflow.probe(model, (torch.randn(2, 3, 6, 6), torch.tensor([0, 2])))
    assert len(frame) == 2 and (frame["weight_grad_norm"] > 0).all()
    assert torch.equal(model[0].weight.grad, torch.full_like(model[0].weight, 7.0))
    assert model[5].weight.grad is None
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_recorder_during_training_records_every_nth_step_and_detaches():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    recorder = gradflow.GradientRecorder(model, every=2).attach()
    for step in range(5):
        with torch.no_grad():
            model(torch.randn(2, 4))  # a validation pass in between is not recorded
        x, y = torch.randn(4, 4), torch.randint(3, (4,))
        nn.functional.cross_entropy(model(x), y).backward()
        recorder.record(step)
        optimizer.step()
        optimizer.zero_grad()
    recorder.detach()
    frame = recorder.frame()
    assert sorted(frame["step"].unique()) == [0, 2, 4]
    assert len(frame) == 3 * 2 and frame["weight_grad_norm"].notna().all()
    assert frame["output_grad_norm"].notna().all()
    model(torch.randn(1, 4))  # detached: nothing more is recorded
    assert len(recorder.record(6)) == 0 and len(recorder.frame()) == 6


def test_recorder_follows_the_training_engine_callback_protocol():
    # cnnpapers.train calls on_train_begin, then on_batch_end(state) after backward and the
    # optimiser step (gradients still populated), and on_train_end
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    recorder = gradflow.GradientRecorder(model, every=3)
    state = SimpleNamespace(model=model, global_step=0)
    recorder.on_train_begin(state)
    for epoch in range(2):
        for step in range(3):
            state.global_step = epoch * 3 + step
            optimizer.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(torch.randn(4, 4)), torch.randint(3, (4,))).backward()
            optimizer.step()
            recorder.on_batch_end(state)
        recorder.on_epoch_end(state)
    recorder.on_train_end(state)
    frame = recorder.frame()
    assert sorted(frame["step"].unique()) == [0, 3]
    assert frame["output_grad_norm"].notna().all() and frame["weight_grad_norm"].gt(0).all()
    assert not recorder._handles


class Residual(nn.Module):
    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)


def test_plain_net_gradient_vanishes_where_residual_net_does_not():
    # at initialisation a deep plain sigmoid MLP loses the gradient towards its input; the same
    # layers with identity shortcuts keep it (the degradation problem ResNet addresses)
    def net(shortcut: bool) -> nn.Sequential:
        torch.manual_seed(0)
        blocks = [nn.Sequential(nn.Linear(16, 16), nn.Sigmoid()) for _ in range(12)]
        return nn.Sequential(*(Residual(b) if shortcut else b for b in blocks), nn.Linear(16, 2))

    x, y = torch.randn(8, 16), torch.randint(2, (8,))
    for shortcut, bound in ((False, lambda r: r < 1e-2), (True, lambda r: r > 0.5)):
        norms = gradflow.gradient_norms(net(shortcut), x, y)["output_grad_norm"]
        assert bound(norms.iloc[0] / norms.iloc[-2]), (shortcut, norms.tolist())


def test_compare_and_plot_on_torchvision_models():
    torch.manual_seed(0)
    resnet = torchvision.models.resnet.ResNet(torchvision.models.resnet.BasicBlock, [1, 1, 1, 1],
                                              num_classes=3)
    models = {"resnet10": resnet,
              "densenet": torchvision.models.DenseNet(growth_rate=4, block_config=(2, 2),
                                                      num_init_features=8, num_classes=3)}
    frame = gradflow.compare_gradient_flow(models, torch.randn(2, 3, 32, 32), torch.tensor([0, 1]))
    assert set(frame["model"]) == set(models)
    assert frame.groupby("model")["rel_depth"].max().tolist() == [1.0, 1.0]
    counts = frame.groupby("model").size()
    assert counts["resnet10"] == 1 + 4 * 2 + 3 + 1  # stem, blocks, 3 downsampling shortcuts, fc
    assert counts["densenet"] == 1 + 2 * 2 + 1 + 2 * 2 + 1  # stem, blocks, transition, classifier
    assert frame["weight_grad_norm"].gt(0).all() and not frame.isna().any().any()
    fig = gradflow.plot_gradient_flow(frame, caption="budget smoke · cpu")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(ax.get_lines()) == 2
    assert "budget smoke · cpu" in figure_texts(fig)


def test_output_grad_of_layer_followed_by_inplace_relu():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 1, bias=False), nn.ReLU(inplace=True), nn.Flatten(),
                          nn.Linear(2 * 9, 2, bias=False))
    x = torch.randn(1, 1, 3, 3)
    frame = gradflow.gradient_norms(model, x, torch.zeros(1, 2), half_squared_error)
    a = model[0](x).detach().requires_grad_()
    out = model[3](model[2](torch.relu(a)))
    (g,) = torch.autograd.grad(half_squared_error(out, torch.zeros(1, 2)), a)
    assert frame["output_grad_norm"].iloc[0] == pytest.approx(g.norm().item(), rel=1e-5)
    assert not math.isnan(frame["output_grad_norm"].iloc[1])


def test_recorder_as_a_callback_of_the_training_engine():
    train = pytest.importorskip("cnnpapers.train")
    from cnnpapers.data import TensorDataset

    g = torch.Generator().manual_seed(0)

    def split(n, name):
        images = torch.randint(0, 256, (n, 1, 8, 8), dtype=torch.uint8, generator=g)
        labels = torch.randint(0, 3, (n,), generator=g)
        return TensorDataset("synthetic", name, images, labels, ("a", "b", "c"), (0.5,), (0.25,))

    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 3))
    recorder = gradflow.GradientRecorder(model, every=2)
    train.fit(model, split(64, "train"), split(16, "test"), "fashion-mnist", epochs=2,
              batch_size=16, device="cpu", callbacks=[recorder], progress=False)
    frame = recorder.frame()
    assert sorted(frame["step"].unique()) == [0, 2, 4, 6]  # 4 steps per epoch, global steps
    assert list(frame["layer"].unique()) == ["0", "3"]
    assert frame["weight_grad_norm"].gt(0).all() and frame["output_grad_norm"].notna().all()
    assert not recorder._handles  # detached at the end of training
