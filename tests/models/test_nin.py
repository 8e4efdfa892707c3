import os
from pathlib import Path

import pytest
import torch

import cnnpapers
from cnnpapers.models.nin import NetworkInNetwork
from cnnpapers.provenance import REPO_ROOT

NOTES = Path(os.environ.get("CNNPAPERS_NOTES", REPO_ROOT.parent / "shared" / "notes"))
COLUMNS = ("Depth", "Params", "C10", "C10+", "C100", "C100+", "SVHN")  # DenseNet Table 2


def test_parameter_count_layer_by_layer():
    with torch.device("meta"):
        model = NetworkInNetwork()
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [sum(p.numel() for p in c.parameters()) for c in convs] == [
        192 * 3 * 25 + 192, 160 * 192 + 160, 96 * 160 + 96,         # mlpconv 1
        192 * 96 * 25 + 192, 192 * 192 + 192, 192 * 192 + 192,      # mlpconv 2
        192 * 192 * 9 + 192, 192 * 192 + 192, 10 * 192 + 10,        # mlpconv 3
    ]
    assert cnnpapers.count_parameters("nin") == 966_986


def test_no_fully_connected_layer_and_one_map_per_class():
    model = NetworkInNetwork(num_classes=100)
    assert not any(isinstance(m, torch.nn.Linear) for m in model.modules())
    maps = model.features(torch.randn(2, 3, 32, 32))
    assert maps.shape == (2, 100, 8, 8)  # 32 -> 16 -> 8 with pools that round up
    torch.testing.assert_close(model.eval()(torch.ones(1, 3, 32, 32)),
                               model.features(torch.ones(1, 3, 32, 32)).mean((2, 3)))


def test_card_quotes_densenet_table_2():
    reported = cnnpapers.model_info("nin").reported
    assert "DenseNet paper Table 2" in reported.source
    assert reported.errors == {"C10": 10.41, "C10+": 8.81, "C100": 35.68, "SVHN": 2.35}
    assert reported.params is None


@pytest.mark.parametrize("note", ["000", "002"])
def test_card_equals_the_notes_row(note):
    files = sorted(NOTES.glob(f"{note}_*.txt"))
    if not files:
        pytest.skip(f"notes not found under {NOTES} (set CNNPAPERS_NOTES)")
    row = next(line for line in files[0].read_text().splitlines()
               if line.startswith("Network in Network"))
    cells = row.split("\t")[1:]
    printed = {col: float(v) for col, v in zip(COLUMNS, cells) if v.strip() != "-"}
    assert printed == cnnpapers.model_info("nin").reported.errors


def test_min_input_size_is_the_smallest():
    s = cnnpapers.model_info("nin").min_input_size
    model = NetworkInNetwork(num_classes=7, in_channels=1).eval()
    assert model(torch.randn(1, 1, s, s)).shape == (1, 7)
    with pytest.raises(RuntimeError):
        model(torch.randn(1, 1, s - 1, s - 1))


@pytest.mark.parametrize("kwargs", [{"dropout": 1.0}, {"num_classes": 0}, {"in_channels": 1.5}])
def test_invalid_hyper_parameters(kwargs):
    with pytest.raises(ValueError):
        NetworkInNetwork(**kwargs)
