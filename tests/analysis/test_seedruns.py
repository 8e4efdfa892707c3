import math

import pytest
from matplotlib.collections import PolyCollection

from cnnpapers.analysis.plots import figure_texts
from cnnpapers.analysis.seedruns import curves_frame, difference, plot_error_curves
from cnnpapers.results import Result


def fake(seed, train, test, images=256, batch=128):
    """A stored result as the training engine writes it, with per-epoch error curves."""
    epochs = list(range(1, len(train) + 1))
    return Result("t/x", {"seed": seed, "budget": "smoke"},
                  {"train_images": images, "batch_size": batch, "train_error": train[-1],
                   "test_error": test[-1]},
                  {"epoch": epochs, "train_error": train, "test_error": test})


def test_difference_with_one_seed_uses_the_minimum_margin():
    d = difference([0.30], [0.25], min_margin=0.01)
    assert d.diff == pytest.approx(0.05) and d.margin == 0.01 and d.seeds == 1
    assert d.above and not d.below and not d.within
    assert "one seed" in d.noise() and "nothing measured" in d.noise()


def test_difference_includes_the_sampling_error_of_the_test_set():
    d = difference([0.10], [0.20], min_margin=0.001, n=400)
    assert d.margin == pytest.approx(2 * math.sqrt((0.1 * 0.9 + 0.2 * 0.8) / 400))  # 0.05
    assert d.below and "400 images" in d.noise()
    assert difference([0.10], [0.20], min_margin=0.001, n=100).within  # 0.1 margin on 100 images


def test_difference_with_seeds_is_two_welch_standard_errors():
    d = difference([0.10, 0.12], [0.20, 0.22], min_margin=0.001)
    se = math.sqrt(0.0002 / 2 + 0.0002 / 2)  # sample variances 0.0002 each, two seeds each
    assert d.diff == pytest.approx(-0.10)
    assert d.margin == pytest.approx(2 * se)
    assert d.below and "2 seeds each" in d.noise()
    with_images = difference([0.10, 0.12], [0.20, 0.22], min_margin=0.001, n=1000)
    binomial = (0.11 * 0.89 + 0.21 * 0.79) / 1000
    assert with_images.margin == pytest.approx(2 * math.sqrt(se ** 2 + binomial))
    noisy = difference([0.10, 0.30], [0.20, 0.22], min_margin=0.001)
    assert noisy.within  # the same mean gap, lost in the spread of the first net


def test_difference_needs_values():
    with pytest.raises(ValueError, match="at least one value"):
        difference([], [0.1], min_margin=0.01)


def test_curves_frame_counts_optimiser_steps():
    frame = curves_frame({"a": [fake(0, [0.5, 0.4], [0.6, 0.5])],
                          "b": [fake(0, [0.3], [0.35], images=640, batch=64)]})
    a = frame[frame["net"] == "a"]
    assert list(a["step"]) == [2, 4]  # 256 // 128 = 2 steps per epoch
    assert list(frame[frame["net"] == "b"]["step"]) == [10]
    assert list(a["train_error"]) == [0.5, 0.4]


def test_plot_error_curves_bands_only_with_several_seeds():
    one = curves_frame({"a": [fake(0, [0.5, 0.4], [0.6, 0.5])]})
    fig = plot_error_curves(one, [("panel", ["a"])], caption="budget smoke · cpu", title="T")
    texts = figure_texts(fig)
    assert "budget smoke · cpu" in texts and "a (training)" in texts and "a (test)" in texts
    assert not [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    two = curves_frame({"a": [fake(0, [0.5, 0.4], [0.6, 0.5]), fake(1, [0.6, 0.3], [0.7, 0.4])]})
    fig = plot_error_curves(two, [("p1", ["a"]), ("p2", ["a"])], caption="c", title="T",
                            test=False)
    assert len(fig.axes) == 2
    bands = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1 and "a (test)" not in figure_texts(fig)
    line = fig.axes[0].get_lines()[0]
    assert list(line.get_ydata()) == pytest.approx([55.0, 35.0])  # mean of the seeds, in %
