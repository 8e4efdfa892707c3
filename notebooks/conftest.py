"""nbval on the chapters: what a stored smoke output must match, and what it need not.

A cell tagged ``trained-numbers`` shows numbers that come out of training (errors, gradient
norms during training, verdict details), or that amplify rounding as training does (the deep
plain net's gradients at initialisation: batch normalisation divides by the near-zero variance
of dead channels, so even float64 digits move by 0.3 % between AVX2 and SSE kernels). At the ``smoke`` budget those come from a few optimiser
steps whose last bits depend on the CPU's kernels (AVX2, AVX-512, thread count), and one image
that flips class moves a 128-image accuracy by 0.78 points. So nbval compares such a cell's
output with every number masked: its words, table structure and verdicts must match exactly,
its numbers are not compared. Every other cell is compared exactly (after
``nbval_sanitize.cfg``).
"""

from __future__ import annotations

import re

import pytest

TRAINED_TAG = "trained-numbers"
# A number that stands alone: "90.62", "−1.17", "2.2e-16", "1,024"; not the digits of a name
# such as plain20 or densenet_bc_100_k12.
_NUMBER = re.compile(r"(?<![\w.])[-+−]?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?(?!\w)")
# Table padding and rule lengths follow the width of the numbers they hold.
_PADDING = re.compile(r" {2,}")
_RULE = re.compile(r"-{3,}")


def mask_numbers(text: str) -> str:
    """``text`` with every number replaced by ``#`` and table padding normalised."""
    return _RULE.sub("---", _PADDING.sub(" ", _NUMBER.sub("#", text)))


def _masked_sanitize(sanitize):
    def sanitize_masked(text):
        return mask_numbers(sanitize(text)) if isinstance(text, str) else sanitize(text)

    return sanitize_masked


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    for item in items:
        cell = getattr(item, "cell", None)
        if cell is not None and TRAINED_TAG in cell.get("metadata", {}).get("tags", []):
            item.sanitize = _masked_sanitize(item.sanitize)
