"""The published Fashion-MNIST table as the book quotes it, and the convergence floors."""

import csv
import os
from pathlib import Path

import pytest

from cnnpapers.provenance import REPO_ROOT
from cnnpapers.published import FASHION_MNIST, accuracy_floor, published_for

SHARED_CSV = Path(os.environ.get("CNNPAPERS_SHARED", REPO_ROOT.parent / "shared")) / "data" / \
    "fashion_mnist_published.csv"


@pytest.mark.skipif(not SHARED_CSV.exists(), reason="shared/data not beside the repository")
def test_rows_are_the_shared_table_verbatim():
    lines = [line for line in SHARED_CSV.read_text().splitlines() if not line.startswith("#")]
    rows = list(csv.DictReader(lines))
    assert [(r["classifier"], r["parameters"], r["preprocessing"], float(r["test_accuracy"]))
            for r in rows] == [(p.classifier, p.parameters, p.preprocessing, p.test_accuracy)
                               for p in FASHION_MNIST]


def test_families_find_their_rows():
    assert [p.test_accuracy for p in published_for("densenet_bc_100_k12")] == [0.954]
    assert [p.test_accuracy for p in published_for("lenet5")] == [0.876, 0.925]
    assert published_for("shufflenet_v2_x1_0") == []


def test_floors():
    assert accuracy_floor("fashion-mnist", "lenet5") == 0.88
    assert accuracy_floor("fashion-mnist", "resnet20_cifar") == 0.90
    assert accuracy_floor("cifar10", "resnet20_cifar") is None


def _run(model, accuracy, budget="cpu", dataset="fashion-mnist"):
    from cnnpapers.results import Result

    return Result("x/y", {"model": model, "dataset": dataset, "budget": budget, "seed": 0},
                  {"test_accuracy": accuracy, "best_test_error": 1 - accuracy})


def test_a_run_counts_as_converged_only_at_its_floor_and_never_at_smoke():
    from cnnpapers.analysis.seedruns import converged, final_accuracies

    assert converged(_run("lenet5", 0.885)) and not converged(_run("lenet5", 0.875))
    assert converged(_run("resnet20_cifar", 0.90)) and not converged(_run("resnet20_cifar", 0.899))
    assert not converged(_run("resnet20_cifar", 0.95, budget="smoke"))
    assert not converged(_run("resnet20_cifar", 0.95, dataset="cifar10"))  # no floor set there
    table = final_accuracies([_run("lenet5", 0.885), _run("lenet5", 0.875)])
    assert table["converged"].tolist() == [True, False]
    assert table["floor (%)"].tolist() == [88.0, 88.0]
