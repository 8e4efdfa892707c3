"""The taxonomy chapter's tables and figure, against the registry and closed forms."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import cnnpapers  # noqa: E402
from cnnpapers import claims  # noqa: E402
from cnnpapers.analysis.plots import figure_texts  # noqa: E402
from cnnpapers.chapters import survey_taxonomy as tax  # noqa: E402
from cnnpapers.claims import Verdict  # noqa: E402
from cnnpapers.registry import Category  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_categories_follow_the_taxonomy_and_cover_the_zoo():
    df = tax.categories()
    assert list(df["category"]) == [c.value for c in Category]
    assert df["variants"].sum() == len(cnnpapers.list_models())
    boosting = df.set_index("category").loc[Category.CHANNEL_BOOSTING.value]
    assert boosting["variants"] == 0 and boosting["name in note 001"] == "(not named)"
    assert tax.empty_categories() == [Category.CHANNEL_BOOSTING]


def test_the_note_names_six_of_its_seven_categories():
    assert len(Category) == tax.NOTE_CATEGORY_COUNT == 7
    assert len(tax.NOTE_CATEGORY_NAMES) == 6
    assert Category.CHANNEL_BOOSTING not in tax.NOTE_CATEGORY_NAMES


def test_smoke_sample_keeps_every_populated_category_and_family():
    names = tax.sample("smoke")
    cards = [cnnpapers.model_info(n) for n in names]
    populated = {c for c in Category if cnnpapers.list_models(category=c)}
    assert {c.category for c in cards} == populated
    assert {c.family for c in cards} == {cnnpapers.model_info(n).family
                                         for n in cnnpapers.list_models()}
    assert len(names) == len({(c.category, c.family) for c in cards})
    assert tax.sample("cpu") == cnnpapers.list_models()


def test_model_table_counts_and_orders():
    df = tax.model_table(["vgg11", "lenet5", "se_resnet20_cifar", "mobilenet_v1_x1_0"])
    assert list(df["model"]) == ["lenet5", "vgg11", "mobilenet_v1_x1_0", "se_resnet20_cifar"]
    lenet = df.set_index("model").loc["lenet5"]
    # C1 28²·25·6 + C3 10²·25·(sum of Table I inputs = 60) + C5 25·16·120 + F6 120·84 + 84·10
    assert lenet["MACs"] == 117_600 + 150_000 + 48_000 + 10_080 + 840
    assert lenet["params"] == cnnpapers.count_parameters("lenet5") == 60_850
    assert lenet["year"] == 1998 and lenet["depth"] == 5
    assert df.set_index("model").loc["mobilenet_v1_x1_0", "MACs"] == 568_740_352


def test_macs_per_parameter_is_sorted_and_right():
    df = tax.macs_per_parameter(tax.model_table(["lenet5", "mobilenet_v1_x1_0"]))
    assert list(df["model"]) == ["lenet5", "mobilenet_v1_x1_0"]
    assert df["MACs per parameter"].iloc[0] == pytest.approx(326_520 / 60_850)


def test_formatted_numbers():
    df = pd.DataFrame({"n": [1234567, 2], "share": [0.1234, float("nan")], "x": [1.23456, 2.0],
                       "flag": [True, None], "year": ["1998", "2012"]})
    text = tax.formatted(df, percent=["share"], decimals={"x": 3}).data
    assert "1,234,567" in text and "12.3%" in text and "1.235" in text
    assert "yes" in text and "—" in text and "1998" in text and "1,998" not in text


def test_category_summary_has_a_row_per_category():
    s = tax.category_summary(tax.model_table(["lenet5", "alexnet"]))
    assert list(s["category"]) == [c.value for c in Category]
    spatial = s.set_index("category").loc[Category.SPATIAL.value]
    assert spatial["models counted"] == 2
    assert s.set_index("category").loc[Category.DEPTH.value, "models counted"] == 0


def test_figure_lists_every_category_with_log_axes():
    df = tax.model_table(["lenet5", "resnet20_cifar", "densenet_bc_100_k12"])
    fig = tax.plot_params_vs_macs(df, caption="budget smoke · test")
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    texts = figure_texts(fig)
    assert "budget smoke · test" in texts
    for category in Category:
        assert any(t.startswith(category.value) for t in texts), category
    assert "Channel boosting (no model)" in texts
    assert "lenet5" in texts


def test_claim_verdict():
    ev = claims.evaluate("survey_taxonomy.seven_categories", "smoke", run=False)
    assert ev.verdict is Verdict.PARTLY
    assert "Channel boosting" in ev.detail
