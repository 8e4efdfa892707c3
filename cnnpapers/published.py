"""Published Fashion-MNIST test accuracies: labelled quotes to print beside our measurements.

The rows are the benchmark table of the README of github.com/zalandoresearch/fashion-mnist
(results submitted by their authors, not re-tested by the dataset's). The book shows them next to
our runs so a reader can see whether a network trained here reached what that family is known
to reach; they are never a measurement of ours.

:func:`accuracy_floor` is the book's own rule, not a quote: a trained run counts as evidence for
a claim only if its test accuracy reaches the floor of its dataset (the trained-results policy of
the book: 90 % on Fashion-MNIST, 88 % for LeNet-5, the smallest net).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

SOURCE = ("Fashion-MNIST benchmark table, README of github.com/zalandoresearch/fashion-mnist "
          "(submitted results, not re-tested by the dataset's authors)")


@dataclass(frozen=True)
class Published:
    classifier: str  # as the table names it
    parameters: str  # as printed ("" where the table gives none)
    preprocessing: str
    test_accuracy: float  # fraction


FASHION_MNIST: tuple[Published, ...] = (
    Published("Human performance (crowd-sourced; 1000 images; majority of 3)", "", "none", 0.835),
    Published("2 Conv Layers with max pooling (Keras)", "", "none", 0.876),
    Published("2 Conv Layers net <100K parameters", "<100K", "none", 0.925),
    Published("VGG16", "26M", "none", 0.935),
    Published("GoogleNet with cross-entropy loss", "", "none", 0.937),
    Published("ResNet18", "", "normalization + flips + translation + rotation", 0.949),
    Published("MobileNet", "", "horizontal flips", 0.950),
    Published("DenseNet-BC", "768K", "mean/std + random crops/horizontal flips", 0.954),
    Published("Dual path network with wide resnet 28-10", "",
              "mean/std + random crops/horizontal flips", 0.957),
    Published("WRN-28-10", "", "mean/std + random crops/horizontal flips", 0.959),
    Published("WRN-28-10 + Random Erasing", "", "mean/std + random crops/horizontal flips", 0.963),
    Published("WRN40-4", "8.9M", "mean/std + random crops/horizontal flips", 0.967),
)

# Registered model (glob) -> the table's rows of the same family, first match wins. LeNet-5 is a
# two-convolution net under 100K parameters: the family of the two "2 Conv Layers" rows.
_FAMILY = (
    ("lenet5*", ("2 Conv Layers with max pooling (Keras)", "2 Conv Layers net <100K parameters")),
    ("densenet_bc_*", ("DenseNet-BC",)),
    ("*resnet*", ("ResNet18",)),
    ("mobilenet*", ("MobileNet",)),
    ("googlenet*", ("GoogleNet with cross-entropy loss",)),
    ("vgg16*", ("VGG16",)),
    ("wrn*", ("WRN-28-10", "WRN40-4")),
)

_FLOORS = {"fashion-mnist": 0.90}
_FLOOR_EXCEPTIONS = {("fashion-mnist", "lenet5*"): 0.88}


def published_for(model: str) -> list[Published]:
    """The published Fashion-MNIST rows of ``model``'s family (empty if the table has none)."""
    for pattern, names in _FAMILY:
        if fnmatch.fnmatchcase(model, pattern):
            return [row for row in FASHION_MNIST if row.classifier in names]
    return []


def accuracy_floor(dataset: str, model: str) -> float | None:
    """The test accuracy a run of ``model`` on ``dataset`` must reach to count as converged;
    ``None`` where the book sets no floor (datasets it cannot train on here)."""
    for (data, pattern), floor in _FLOOR_EXCEPTIONS.items():
        if data == dataset and fnmatch.fnmatchcase(model, pattern):
            return floor
    return _FLOORS.get(dataset)
