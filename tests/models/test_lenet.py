import torch

import cnnpapers
from cnnpapers.models.lenet import C3_TABLE, SparseConv2d


def test_lenet5_parameter_count_matches_paper_layer_by_layer():
    model = cnnpapers.create_model("lenet5")
    counts = [sum(p.numel() for p in m.parameters()) for m in model.features if any(True for _ in m.parameters())]
    # C1, S2, C3, S4, C5 as computed in the paper's Section II.B
    assert counts == [156, 12, 1516, 32, 48120]
    total = sum(p.numel() for p in model.parameters())
    assert total == 60850  # + F6 (10,164) + linear output (850)
    assert cnnpapers.model_info("lenet5").reported.params_match(total)


def test_c3_reads_only_the_maps_in_table_1():
    conv = SparseConv2d(6, C3_TABLE, 5)
    x = torch.randn(1, 6, 14, 14, requires_grad=True)
    out = conv(x)
    for j, ins in enumerate(C3_TABLE):
        (grad,) = torch.autograd.grad(out[0, j].sum(), x, retain_graph=True)
        touched = {c for c in range(6) if grad[0, c].abs().sum() > 0}
        assert touched == set(ins)


def test_modern_lenet_counts():
    assert cnnpapers.count_parameters("lenet5_relu") == 61706
