"""The tracker's pure rules: transition table, confidence in log-odds, strongest evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.db.models import STATES
from monitor.reading import tracker
from monitor.reading.tracker import TRANSITIONS, Observation, assess, match_quality, strongest

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def obs(
    signal: str = "none", stance: str = "supports", strength: float = 0.8, **kw: object
) -> Observation:
    base: dict[str, object] = {"match": 1.0, "credibility": 0.7, "published_at": T0}
    base.update(kw)
    return Observation(stance, signal, strength, **base)  # type: ignore[arg-type]


def test_table_covers_every_state_and_only_known_states() -> None:
    assert set(TRANSITIONS) == set(STATES)
    assert all(targets <= set(STATES) for targets in TRANSITIONS.values())


@pytest.mark.parametrize(
    ("state", "signal", "expected"),
    [
        ("unconfirmed", "confirm", "confirmed"),
        ("unconfirmed", "formalize", "formalized"),
        ("unconfirmed", "deny", "denied"),
        ("unconfirmed", "abandon", "abandoned"),  # only reported, then called off on record
        ("confirmed", "formalize", "formalized"),
        ("confirmed", "deny", "denied"),
        ("confirmed", "abandon", "abandoned"),
        ("formalized", "abandon", "abandoned"),
        ("formalized", "deny", "formalized"),
        ("formalized", "confirm", "formalized"),
        ("denied", "confirm", "confirmed"),
        ("denied", "formalize", "formalized"),
        ("denied", "abandon", "denied"),
        ("abandoned", "formalize", "formalized"),
        ("abandoned", "confirm", "confirmed"),
        ("abandoned", "deny", "abandoned"),
    ],
)
def test_signal_moves_state_along_the_table(state: str, signal: str, expected: str) -> None:
    stance = "denies" if signal in ("deny", "abandon") else "supports"
    outcome = assess(state, 0.5, obs(signal, stance))
    assert outcome.to_state == expected
    assert outcome.changed is (expected != state)
    assert outcome.reason


def test_hedged_report_moves_confidence_never_state() -> None:
    outcome = assess("unconfirmed", 0.5, obs("none", "reports", 0.3))
    assert not outcome.changed
    assert 0.5 < outcome.confidence_after < 0.55


def test_denial_lowers_and_confirmation_raises_confidence() -> None:
    assert assess("unconfirmed", 0.5, obs("deny", "denies")).confidence_after < 0.35
    assert assess("unconfirmed", 0.5, obs("confirm")).confidence_after > 0.65
    assert assess("confirmed", 0.7, obs("formalize")).confidence_after > 0.85
    assert assess("formalized", 0.9, obs("abandon", "denies")).confidence_after < 0.5


def test_confidence_weighs_strength_match_and_credibility() -> None:
    strong = assess("unconfirmed", 0.5, obs("confirm", credibility=0.9)).confidence_after
    weak_source = assess("unconfirmed", 0.5, obs("confirm", credibility=0.3)).confidence_after
    weak_match = assess("unconfirmed", 0.5, obs("confirm", match=0.5)).confidence_after
    weak_signal = assess("unconfirmed", 0.5, obs("confirm", strength=0.55)).confidence_after
    assert strong > weak_source > 0.5
    assert strong > weak_match > 0.5
    assert strong > weak_signal > 0.5


def test_confidence_stays_a_probability() -> None:
    p = 0.5
    for _ in range(50):
        p = assess(
            "unconfirmed", p, obs("formalize", strength=1.0, credibility=1.0)
        ).confidence_after
    assert p == tracker.CEILING
    for _ in range(50):
        p = assess(
            "unconfirmed", p, obs("abandon", "denies", 1.0, credibility=1.0)
        ).confidence_after
    assert p == tracker.FLOOR


def test_weak_signal_does_not_change_state() -> None:
    outcome = assess("unconfirmed", 0.5, obs("confirm", strength=0.3))
    assert not outcome.changed and "strength" in outcome.reason


def test_older_evidence_cannot_change_state() -> None:
    late = obs("deny", "denies", published_at=T0 - timedelta(days=1))
    outcome = assess("formalized", 0.9, late, last_change_at=T0)
    assert not outcome.changed
    outcome = assess("confirmed", 0.8, late, last_change_at=T0)
    assert not outcome.changed and "before" in outcome.reason
    assert outcome.confidence_after < 0.8


def test_strongest_observation_counts() -> None:
    hedge = obs("none", "reports", 0.3)
    signed = obs("formalize", strength=0.9)
    denial = obs("deny", "denies", 0.75)
    assert strongest([hedge, signed, denial]) is signed
    assert strongest([hedge, denial]) is denial
    assert strongest([]) is None


def test_match_quality() -> None:
    assert match_quality(0.55, 0.55) == 0.5
    assert match_quality(1.0, 0.55) == 1.0
    assert match_quality(0.2, 0.55) == 0.5
    assert 0.5 < match_quality(0.8, 0.55) < 1.0


def test_transition_moves_confidence_into_the_new_states_band() -> None:
    for state, signal, stance in [
        ("confirmed", "formalize", "supports"),
        ("formalized", "abandon", "denies"),
        ("unconfirmed", "deny", "denies"),
        ("denied", "confirm", "supports"),
    ]:
        outcome = assess(state, 0.5, obs(signal, stance, strength=0.55, credibility=0.3))
        low, high = tracker.BANDS[outcome.to_state]
        assert outcome.changed and low <= outcome.confidence_after <= high


def test_an_article_counts_by_a_sentence_that_can_move_the_state() -> None:
    recap = obs("deny", "denies", 0.75)  # "X said in March it had no plans ..."
    news = obs("confirm", strength=0.7, match=0.6)  # weaker, but it moves a denied rumour
    assert abs(tracker.weight(recap)) > abs(tracker.weight(news))
    assert tracker.decisive("denied", [recap, news]) is news
    assert tracker.decisive("unconfirmed", [recap, news]) is recap  # both move: the stronger
    # nothing can move a formalized rumour here: the strongest still counts for confidence
    assert tracker.decisive("formalized", [recap, news]) is recap
    # an article older than the last change moves nothing: the strongest counts
    after = T0 + timedelta(days=1)
    assert tracker.decisive("denied", [recap, news], last_change_at=after) is recap
    assert tracker.decisive("denied", []) is None


def test_withdrawing_a_move_restores_the_confidence_it_started_from() -> None:
    first = assess("unconfirmed", 0.5, obs("none", "reports", 0.3))
    second = assess("unconfirmed", first.confidence_after, obs("confirm", strength=0.4))
    back = tracker.withdraw(
        second.confidence_after, first.confidence_before, first.confidence_after
    )
    # as if only the second move had happened
    assert back == pytest.approx(
        assess("unconfirmed", 0.5, obs("confirm", strength=0.4)).confidence_after
    )


def test_a_denial_beside_support_in_one_article_is_a_recap() -> None:
    """The story of the signed deal that recalls "X had denied the reports" cannot move the
    rumour back: its denial counts for confidence only."""
    recap = obs("deny", "denies", 0.9)
    deal = obs("none", "supports", 0.6)
    weighed = tracker.in_article([recap, deal])
    assert [o.signal for o in weighed] == ["none", "none"]
    assert not assess("confirmed", 0.7, tracker.decisive("confirmed", weighed)).changed
    assert tracker.in_article([recap]) == [recap]  # a denial on its own still counts
    abandon = obs("abandon", "denies", 0.9)  # a call-off story may recall the signing
    assert tracker.in_article([abandon, deal])[0].signal == "abandon"
