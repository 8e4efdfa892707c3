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
