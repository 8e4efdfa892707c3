import pytest

from cnnpapers.analysis import plots


def test_caption_for_names_budget_and_device():
    caption = plots.caption_for("smoke", "cpu")
    assert caption.startswith("budget smoke · ")
    assert plots.provenance.cpu_name() in caption


def test_finish_puts_the_caption_under_titled_labelled_axes():
    fig, ax = plots.new_figure()
    ax.plot([1, 2], [3, 4])
    plots.label(ax, title="T", xlabel="x (s)", ylabel="y (MiB)")
    plots.finish(fig, "budget cpu · some device")
    assert {"T", "x (s)", "y (MiB)", "budget cpu · some device"} <= set(plots.figure_texts(fig))


@pytest.mark.parametrize("caption", ["", "   ", None])
def test_a_figure_without_caption_is_refused(caption):
    fig, _ = plots.new_figure()
    with pytest.raises(ValueError, match="caption"):
        plots.finish(fig, caption)
