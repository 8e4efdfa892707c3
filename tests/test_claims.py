"""The claims ledger: every registered claim has a working check and a real chapter."""

from pathlib import Path

import pytest

from cnnpapers import claims
from cnnpapers.claims import Evidence, Verdict

ROOT = Path(__file__).resolve().parent.parent
ALL = [c.id for c in claims.list_claims()]
STATIC_KINDS = {"params", "flops", "savings"}  # answered by counting, never by training


def test_claims_are_registered():
    assert ALL


@pytest.mark.parametrize("id", ALL)
def test_every_claim_has_a_check_that_answers_without_running(id):
    c = claims.get_claim(id)
    assert (ROOT / "notebooks" / f"{c.chapter}.py").exists(), f"{id}: chapter {c.chapter!r} missing"
    assert c.source and c.statement and c.quoted
    ev = claims.evaluate(id, "smoke", run=False)
    assert isinstance(ev, Evidence) and ev.ours
    if c.kind in STATIC_KINDS:
        assert ev.verdict is not Verdict.NOT_RUN, "a counted claim needs no training"


def test_duplicate_claim_is_refused():
    with pytest.raises(ValueError, match="twice"):
        claims.claim(ALL[0], chapter="opening", source="s", statement="s", quoted="q", kind="other")(
            lambda ctx: None)


def test_unknown_claim_and_kind_are_clear_errors():
    with pytest.raises(ValueError, match="unknown claim"):
        claims.get_claim("nope")
    with pytest.raises(ValueError, match="kind must be one of"):
        claims.claim("x", chapter="opening", source="s", statement="s", quoted="q", kind="vibes")


def test_ledger_lists_every_claim():
    table = claims.ledger("smoke")
    assert list(table["claim"]) == ALL
    assert set(table["verdict"]) <= {v.value for v in Verdict}


def test_a_trained_claim_has_no_verdict_at_the_smoke_budget(monkeypatch):
    monkeypatch.setattr(claims, "_CLAIMS", dict(claims._CLAIMS))
    measured = Evidence("1.2 points", Verdict.REPRODUCED, "two seeds")
    claims.claim("test.trained", chapter="opening", source="s", statement="s", quoted="q",
                 kind="error", trained=True)(lambda ctx: measured)
    smoke = claims.evaluate("test.trained", "smoke")
    assert smoke.verdict is Verdict.NOT_RUN and smoke.ours == "1.2 points"
    assert smoke.detail.startswith(claims.SMOKE_NOTE) and smoke.detail.endswith("two seeds")
    assert claims.evaluate("test.trained", "cpu") == measured


# ---------------------------------------------------------------- the rule for trained claims

def _runs(accuracy):
    """A run on Fashion-MNIST that reached ``accuracy``."""
    from cnnpapers.results import Result

    return [Result("x/y", {"model": "resnet20_cifar", "dataset": "fashion-mnist", "budget": "cpu",
                           "seed": 0}, {"test_accuracy": accuracy})]


CONVERGED = _runs(0.92)


def _gap(first, second, n=10_000):
    from cnnpapers.analysis.seedruns import difference

    return difference(first, second, min_margin=0.001, n=n)


@pytest.mark.parametrize("first, second, expect, verdict", [
    ([0.12, 0.13, 0.125], [0.08, 0.085, 0.09], "above", claims.Verdict.REPRODUCED),
    ([0.12, 0.13, 0.125], [0.08, 0.085, 0.09], "below", claims.Verdict.NOT_REPRODUCED),
    ([0.08, 0.085, 0.09], [0.12, 0.13, 0.125], "below", claims.Verdict.REPRODUCED),
    # the same means with a seed spread ten times as large: inside two standard errors
    ([0.05, 0.20, 0.125], [0.04, 0.13, 0.085], "above", claims.Verdict.INCONCLUSIVE),
])
def test_the_trained_rule_follows_the_gap_and_its_margin(first, second, expect, verdict):
    assert claims.trained_verdict(_gap(first, second), expect=expect, runs=CONVERGED)[0] is verdict


def test_the_trained_rule_flips_as_the_gap_crosses_two_standard_errors():
    second = [0.100, 0.102, 0.098]
    margins = [_gap([0.100 + d] * 2 + [0.102 + d], second) for d in (0.002, 0.02)]
    assert [claims.trained_verdict(g, expect="above", runs=CONVERGED)[0] for g in margins] == [
        claims.Verdict.INCONCLUSIVE, claims.Verdict.REPRODUCED]


def test_runs_below_their_floor_are_no_evidence():
    clear = _gap([0.30, 0.31, 0.32], [0.10, 0.11, 0.12])
    verdict, why = claims.trained_verdict(clear, expect="above",
                                          runs=CONVERGED + _runs(0.899))
    assert verdict is claims.Verdict.INCONCLUSIVE and "accuracy floor" in why


def test_an_inconclusive_gap_says_how_many_seeds_would_decide_it():
    gap = _gap([0.05, 0.20, 0.125], [0.04, 0.13, 0.085])
    seeds = gap.seeds_to_decide()
    assert seeds is not None and seeds > 3
    a, b = [0.05, 0.20, 0.125], [0.04, 0.13, 0.085]
    # with that many seeds spread the same way, the margin falls below the gap
    import numpy as np
    se = np.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / seeds + gap.sampling_variance)
    assert 2 * se < abs(gap.diff) <= 2 * np.sqrt(
        (np.var(a, ddof=1) + np.var(b, ddof=1)) / (seeds - 1) + gap.sampling_variance)
    _, why = claims.trained_verdict(gap, expect="above", runs=CONVERGED)
    assert f"about {seeds} seeds" in why


def test_a_gap_inside_the_test_sets_own_noise_cannot_be_decided_by_seeds():
    gap = _gap([0.100, 0.1001, 0.1002], [0.0995, 0.0996, 0.0997], n=1_000)
    assert gap.seeds_to_decide() is None
    assert "would not decide" in claims.trained_verdict(gap, expect="above", runs=CONVERGED)[1]


def test_the_rule_refuses_an_unknown_direction():
    with pytest.raises(ValueError, match="'above' or 'below'"):
        claims.trained_verdict(_gap([0.1, 0.2], [0.1, 0.2]), expect="higher", runs=CONVERGED)
