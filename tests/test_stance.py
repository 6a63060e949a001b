"""Tests for monitor.stance: a labelled set of invented news sentences plus focused cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.stance import Judgement, judge, lexicon_from_mapping, load_lexicon

FIXTURE = Path(__file__).parent / "fixtures" / "stance_labelled.jsonl"
XIAOMI = "Xiaomi will build its electric cars with Great Wall Motors"

# Measured on the labelled set: stance 0.987, signal 0.987 (232 sentences).
STANCE_ACCURACY = 0.95
SIGNAL_ACCURACY = 0.95


def _labelled() -> list[dict[str, str]]:
    with FIXTURE.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _x(sentence: str, context: str = "") -> Judgement:
    return judge(sentence, XIAOMI, context=context)


def test_labelled_set_is_large_and_covers_every_label() -> None:
    rows = _labelled()
    assert len(rows) >= 220
    assert {r["stance"] for r in rows} == {"unrelated", "reports", "supports", "denies"}
    assert {r["signal"] for r in rows} == {"none", "confirm", "formalize", "deny", "abandon"}


def test_labelled_set_accuracy() -> None:
    rows = _labelled()
    verdicts = [judge(r["sentence"], r["claim"], context=r.get("context", "")) for r in rows]
    stance = sum(v.stance == r["stance"] for v, r in zip(verdicts, rows, strict=True))
    signal = sum(v.signal == r["signal"] for v, r in zip(verdicts, rows, strict=True))
    assert stance / len(rows) >= STANCE_ACCURACY
    assert signal / len(rows) >= SIGNAL_ACCURACY


@pytest.mark.parametrize(
    ("sentence", "stance", "signal"),
    [
        (
            "Xiaomi is reportedly in talks with Great Wall Motors over car production.",
            "reports",
            "none",
        ),
        ("Xiaomi is said to have signed an agreement with Great Wall Motors.", "reports", "none"),
        ("Xiaomi confirmed it is in talks with Great Wall Motors.", "supports", "confirm"),
        (
            "Xiaomi and Great Wall Motors signed a definitive agreement on electric cars.",
            "supports",
            "formalize",
        ),
        ("Xiaomi said it has no plans to build cars with Great Wall.", "denies", "deny"),
        ("Xiaomi terminated the agreement with Great Wall Motors.", "denies", "abandon"),
        ("Xiaomi will not build electric cars with Great Wall.", "denies", "deny"),
    ],
)
def test_each_signal(sentence: str, stance: str, signal: str) -> None:
    verdict = _x(sentence)
    assert (verdict.stance, verdict.signal) == (stance, signal)


@pytest.mark.parametrize(
    "sentence",
    [
        "Xiaomi declined to comment.",
        "Xiaomi does not comment on market speculation, a spokesperson said.",
        "Xiaomi did not respond to a request for comment on the Great Wall report.",
        "Xiaomi would neither confirm nor deny talks with Great Wall Motors.",
    ],
)
def test_no_comment_is_not_a_denial(sentence: str) -> None:
    verdict = _x(sentence)
    assert (verdict.stance, verdict.signal) == ("reports", "none")


def test_did_not_deny_is_not_a_denial() -> None:
    verdict = _x("Xiaomi did not deny that it had approached Great Wall Motors.")
    assert verdict.stance == "reports"
    assert any(cue.startswith("not-deny") for cue in verdict.cues)


def test_not_ruling_out_is_not_a_denial() -> None:
    assert _x("Xiaomi would not rule out building cars with Great Wall.").stance == "reports"


def test_denial_of_a_different_claim_is_unrelated() -> None:
    verdict = _x("Xiaomi denied it will raise smartphone prices.")
    assert (verdict.stance, verdict.signal) == ("unrelated", "none")


def test_negation_of_a_different_claim_is_not_a_denial() -> None:
    assert _x("Xiaomi said it will not raise smartphone prices.").stance != "denies"


def test_generic_denial_refers_to_the_claim() -> None:
    verdict = _x("Xiaomi denied the reports.")
    assert (verdict.stance, verdict.signal) == ("denies", "deny")


def test_not_only_is_not_negation() -> None:
    verdict = _x("Xiaomi not only sells phones but will also build cars with Great Wall Motors.")
    assert verdict.stance == "supports"


def test_side_clause_negation_does_not_negate_the_claim() -> None:
    sentence = "Xiaomi, which has never built cars, will build them with Great Wall Motors."
    assert _x(sentence).stance == "supports"


def test_hedge_overrides_confirm_verb() -> None:
    verdict = _x("Xiaomi has reportedly confirmed talks with Great Wall Motors.")
    assert (verdict.stance, verdict.signal) == ("reports", "none")


def test_hedged_denial_keeps_stance_but_not_signal() -> None:
    verdict = _x("Xiaomi has reportedly denied the Great Wall talks.")
    assert (verdict.stance, verdict.signal) == ("denies", "none")


def test_question_headline_reports() -> None:
    assert _x("Will Xiaomi build its cars with Great Wall?").stance == "reports"


def test_future_plan_is_not_a_done_deal() -> None:
    assert _x("Xiaomi will sign an agreement with Great Wall next week.").signal != "formalize"
    assert _x("Xiaomi signed an agreement with Great Wall.").signal == "formalize"


def test_pending_act_is_not_a_denial() -> None:
    verdict = _x("Xiaomi has not yet signed an agreement with Great Wall Motors.")
    assert verdict.stance == "reports"


def test_abandonment_differs_from_denial() -> None:
    assert _x("Xiaomi called off the car project with Great Wall.").signal == "abandon"
    assert _x("Xiaomi rejected reports of a car project with Great Wall.").signal == "deny"


def test_polysemous_verb_needs_a_plan_to_mean_abandonment() -> None:
    claim = "Ford will cut 3,000 jobs in Europe"
    assert judge("Ford suspended the plan to cut jobs in Europe.", claim).signal == "abandon"
    assert judge("Ford suspended a dealer in Europe over 3,000 jobs.", claim).signal != "abandon"


def test_party_attribution_in_next_sentence_confirms() -> None:
    verdict = _x(
        "Xiaomi will build its cars with Great Wall Motors.",
        context="The company said so in a statement on Monday.",
    )
    assert (verdict.stance, verdict.signal) == ("supports", "confirm")


def test_hedge_in_context_makes_a_bare_sentence_a_report() -> None:
    verdict = _x(
        "Xiaomi will build its cars with Great Wall Motors.",
        context="That is according to people familiar with the matter.",
    )
    assert verdict.stance == "reports"


def test_commentator_is_not_the_party_on_record() -> None:
    verdict = _x("Xiaomi will build its cars with Great Wall, analysts said.")
    assert (verdict.stance, verdict.signal) == ("reports", "none")


def test_party_speaking_is_on_record() -> None:
    verdict = _x("Xiaomi will build cars with Great Wall, a Xiaomi spokesperson told reporters.")
    assert (verdict.stance, verdict.signal) == ("supports", "confirm")


def test_claim_that_is_itself_a_denial_is_supported_by_the_denial() -> None:
    claim = "Xiaomi denies plans to build cars with Great Wall"
    assert judge("Xiaomi denied it will build cars with Great Wall.", claim).stance == "supports"


def test_strength_orders_signals() -> None:
    hedged = _x("Xiaomi is reportedly in talks with Great Wall Motors.").strength
    confirm = _x("Xiaomi confirmed talks with Great Wall Motors.").strength
    formal = _x("Xiaomi signed a definitive agreement with Great Wall Motors.").strength
    assert 0.0 <= hedged < confirm < formal <= 1.0


def test_cues_explain_the_verdict() -> None:
    verdict = _x("Xiaomi said in a statement that it is in talks with Great Wall.")
    assert verdict.cues and all(isinstance(cue, str) and cue for cue in verdict.cues)


def test_curly_apostrophes_and_contractions() -> None:
    assert _x("Xiaomi doesn’t plan to build cars with Great Wall.").stance == "denies"


def test_injected_lexicon_is_used(tmp_path: Path) -> None:
    text = (Path(__file__).parents[1] / "monitor" / "data" / "stance.toml").read_text()
    custom = tmp_path / "stance.toml"
    custom.write_text(text.replace("source_hedge = [", 'source_hedge = [\n    "gossip has it",'))
    lexicon = load_lexicon(custom)
    sentence = "Gossip has it Xiaomi signed a car deal with Great Wall."
    assert judge(sentence, XIAOMI, lexicon=lexicon).stance == "reports"
    assert judge(sentence, XIAOMI).signal == "formalize"  # the packaged lexicon has no such hedge


def test_default_lexicon_is_cached() -> None:
    assert load_lexicon() is load_lexicon()


def test_lexicon_missing_a_role_is_an_error() -> None:
    with pytest.raises(ValueError, match="abandon"):
        lexicon_from_mapping({"cues": {"deny": ["denied"]}})
