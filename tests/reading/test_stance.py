"""Tests for monitor.reading.rules.judge: a labelled set of invented news sentences plus focused
cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.reading.rules.findings import REPORTED, find
from monitor.reading.rules.judge import (
    Judgement,
    judge,
    lexicon_from_mapping,
    load_lexicon,
    stance_features,
)
from monitor.reading.rules.layer import StanceModel, load_model, model_from_mapping
from tests.helpers import FIXTURES, ROOT

FIXTURE = FIXTURES / "stance_labelled.jsonl"
XIAOMI = "Xiaomi will build its electric cars with Great Wall Motors"

# Measured on the labelled set: stance 0.957, signal 0.968 (346 sentences, the hard negatives and
# the sentences still misread kept in), with and without the learned layer (bench/stance.py
# prints both). The judge alone reads them, without the matching layer's content filter.
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


@pytest.mark.parametrize("speaker", ["the steelworkers' union said", "the town's mayor said"])
def test_workers_and_local_voices_are_not_the_party_on_record(speaker: str) -> None:
    verdict = _x(f"Xiaomi has decided to build its cars with Great Wall, {speaker}.")
    assert verdict.signal == "none"
    assert "(commentator)" in " ".join(verdict.cues)


@pytest.mark.parametrize(
    "sentence",
    [
        # A party's role owned by a second-hand speaker, and the head of the subject far from
        # the verb: neither is the party on record.
        "Union officials at Xiaomi's car plant in Beijing told staff on Friday that the "
        "carmaker has decided to build its cars with Great Wall.",
        "Works council officials at Xiaomi said on Monday that a deal to build its cars with "
        "Great Wall had been agreed.",
    ],
)
def test_a_second_hand_speakers_officials_are_not_the_party(sentence: str) -> None:
    verdict = _x(sentence)
    assert verdict.signal == "none"
    assert "(commentator)" in " ".join(verdict.cues)
    assert find(sentence, XIAOMI).on_record == REPORTED


def test_a_party_named_beside_a_second_hand_speaker_still_speaks() -> None:
    sentence = "Analysts and Xiaomi officials said that it will build cars with Great Wall"
    assert "said(party)" in " ".join(_x(sentence).cues)
    assert find(sentence, XIAOMI).on_record != REPORTED


@pytest.mark.parametrize(
    "sentence",
    [
        "Analysts at Brellin Securities said the company will build its cars with Great Wall.",
        "The union said the carmaker has decided to build its cars with Great Wall.",
    ],
)
def test_the_party_as_the_subject_of_somebody_elses_words_is_not_on_record(
    sentence: str,
) -> None:
    assert _x(sentence).signal == "none"
    assert find(sentence, XIAOMI).on_record == REPORTED


def test_an_inverted_attribution_is_the_party_on_record() -> None:
    sentence = "Xiaomi has decided to build its cars with Great Wall, said the company."
    assert _x(sentence).signal != "none"
    assert find(sentence, XIAOMI).on_record != REPORTED


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


def test_idioms_are_rewritten_on_whole_words_only() -> None:
    claim = "Intel will sell its drone unit to Lumina Robotics"
    assert judge("Intel said the drone unit is not for sale.", claim).signal == "deny"
    # "for salespeople" is no idiom: the negation stays about hiring, not about the sale
    assert judge("Intel said the drone unit is not for salespeople.", claim).stance != "denies"


def test_injected_lexicon_is_used(tmp_path: Path) -> None:
    text = (ROOT / "monitor" / "reading" / "rules" / "data" / "stance.toml").read_text()
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


def test_rules_only_variant_has_no_model_cue() -> None:
    verdict = judge("Xiaomi signed a deal with Great Wall Motors.", XIAOMI, learned=False)
    assert not any(cue.startswith("model:") for cue in verdict.cues)


def test_packaged_model_matches_the_features() -> None:
    model = load_model()
    assert model is load_model()
    assert set(model.features) == set(stance_features("Xiaomi builds cars.", XIAOMI))
    assert sum(len(row) for row in model.weights.values()) <= 60


def test_model_with_wrong_shape_is_an_error() -> None:
    with pytest.raises(ValueError, match="weights"):
        model_from_mapping({"features": ["bias", "question"], "weights": {"supports": [1.0]}})


def _always(label: str) -> StanceModel:
    """A model that puts all its weight on one class, to test what it may not overturn."""
    return StanceModel(("bias",), {"supports": (0.0,), "denies": (0.0,), label: (50.0,)})


@pytest.mark.parametrize(
    "sentence",
    [
        "Xiaomi declined to comment.",
        "Xiaomi did not deny that it had approached Great Wall Motors.",
        "Xiaomi has not yet signed an agreement with Great Wall Motors.",
        "Xiaomi denied it will raise smartphone prices.",
        "Xiaomi said it will not raise smartphone prices.",
    ],
)
def test_learned_layer_never_turns_these_into_denials(sentence: str) -> None:
    assert judge(sentence, XIAOMI, model=_always("denies")).stance != "denies"


def test_overruled_verdict_drops_the_signal() -> None:
    verdict = judge("Xiaomi signed a deal with Great Wall Motors.", XIAOMI, model=_always("denies"))
    assert (verdict.stance, verdict.signal) == ("denies", "none")


# Misreadings found while writing the Xiaomi corpus: each is a general pattern, not one sentence.
TESLA = "A Xiaomi executive met Tesla's Elon Musk to talk about electric cars"
NIMBUS = "Nimbus Mobile will build its electric cars in a Ferro Motors factory"


@pytest.mark.parametrize(
    "sentence",
    [
        "Xiaomi is said to have picked a Great Wall Motors plant for its electric cars.",
        "Great Wall Motors is said to be ready to build Xiaomi's cars, the company said.",
    ],
)
def test_is_said_to_is_a_hedge_not_a_record(sentence: str) -> None:
    assert (_x(sentence).stance, _x(sentence).signal) == ("reports", "none")


@pytest.mark.parametrize(
    "sentence",
    [
        "Neither Xiaomi nor Great Wall Motors has confirmed the report.",
        "Neither company has confirmed the plan to build cars together.",
        "Nobody at Xiaomi or Great Wall Motors has signed anything yet.",
    ],
)
def test_not_confirming_is_not_denying(sentence: str) -> None:
    verdict = _x(sentence)
    assert (verdict.stance, verdict.signal) == ("reports", "none")


@pytest.mark.parametrize(
    "sentence",
    [
        "Tesla opened its electric car patents to all carmakers.",
        "Tesla opened its patents to rivals, Elon Musk said.",
    ],
)
def test_an_act_about_something_else_does_not_formalize(sentence: str) -> None:
    assert judge(sentence, TESLA).signal == "none"


def test_an_act_on_the_claims_object_still_formalizes() -> None:
    sentence = "Ferro Motors opened the factory that will build Nimbus Mobile's electric cars."
    assert judge(sentence, NIMBUS).signal == "formalize"


@pytest.mark.parametrize(
    "sentence",
    [
        "Xiaomi will build its cars with Great Wall Motors, two executives at parts makers said.",
        "Several executives at suppliers said Xiaomi will build its cars with Great Wall Motors.",
    ],
)
def test_unnamed_and_third_party_speakers_only_report(sentence: str) -> None:
    verdict = _x(sentence)
    assert (verdict.stance, verdict.signal) == ("reports", "none")


def test_named_party_executive_is_still_on_record() -> None:
    sentence = "Xiaomi will build its cars with Great Wall Motors, a Xiaomi executive said."
    assert _x(sentence).signal == "confirm"


@pytest.mark.parametrize(
    ("sentence", "stance", "signal"),
    [
        ("Nimbus Mobile ends Ferro Motors car deal", "denies", "abandon"),
        ("Nimbus Mobile and Ferro Motors sign car manufacturing deal", "supports", "formalize"),
        ("Nimbus Mobile and Ferro Motors sign deal", "supports", "formalize"),
    ],
)
def test_headline_present_tense_is_a_past_event(sentence: str, stance: str, signal: str) -> None:
    verdict = judge(sentence, NIMBUS)
    assert (verdict.stance, verdict.signal) == (stance, signal)


def test_sign_as_a_noun_is_no_act() -> None:
    assert _x("Xiaomi sees a sign of demand for Great Wall Motors cars.").signal != "formalize"


def test_refusing_a_different_deal_confirms_nothing() -> None:
    claim = "Nimbus Mobile and Ferro Motors will launch a joint electric car brand"
    sentence = "Nimbus Mobile said it will not sell its camera business to Ferro Motors."
    assert judge(sentence, claim).signal == "none"
    assert judge(sentence, claim).stance != "supports"
    sale = "Nimbus Mobile will sell its camera business to Ferro Motors"
    assert (judge(sentence, sale).stance, judge(sentence, sale).signal) == ("denies", "deny")


@pytest.mark.parametrize(
    "sentence",
    [
        "Xiaomi has not signed an agreement with Great Wall Motors.",
        "Xiaomi did not sign a deal with Great Wall to build cars.",
        "Xiaomi has never built cars with Great Wall Motors.",
    ],
)
def test_an_act_not_done_leaves_a_planned_claim_pending(sentence: str) -> None:
    """Not having done an act is not denying the claim that it will happen."""
    verdict = _x(sentence)
    assert (verdict.stance, verdict.signal) == ("reports", "none")
    assert judge(sentence, XIAOMI, model=_always("denies")).stance == "reports"


def test_refusing_the_act_still_denies_a_planned_claim() -> None:
    assert _x("Xiaomi will not sign an agreement with Great Wall Motors.").signal == "deny"
    assert _x("Xiaomi said it has no plans to sign a deal with Great Wall.").signal == "deny"


def test_an_act_not_done_denies_a_claim_that_it_was_done() -> None:
    claim = "A Xiaomi executive met Tesla's Elon Musk to talk about electric cars"
    verdict = judge("Xiaomi said Lei Jun has not met Elon Musk to talk about cars.", claim)
    assert verdict.stance == "denies"


EV = "Xiaomi will build and sell its own electric car"


@pytest.mark.parametrize(
    "sentence",
    [
        "Xiaomi had earlier denied it would build its own electric car.",
        "Last month Xiaomi said it had no plans to build an electric car.",
        "Xiaomi, having denied it would make cars, is now hiring car engineers.",
        "Investors recalled that Xiaomi, weeks after saying it had no car project, kept hiring.",
    ],
)
def test_a_denial_told_as_history_is_no_new_denial(sentence: str) -> None:
    verdict = judge(sentence, EV)
    assert (verdict.stance, verdict.signal) == ("reports", "none")
    assert judge(sentence, EV, model=_always("denies")).stance == "reports"


def test_an_act_beside_a_remembered_denial_still_counts() -> None:
    sentence = (
        "Xiaomi formally announced that it is launching an electric car business, six weeks "
        "after telling investors it had no formal project to build cars."
    )
    assert judge(sentence, EV).signal == "formalize"


@pytest.mark.parametrize(
    ("sentence", "claim", "signal"),
    [
        (
            "Xiaomi, having denied in February that it would build cars, announced its electric "
            "vehicle business on Tuesday.",
            EV,
            "formalize",
        ),
        (
            "Weeks after saying it had no plans to make cars, Xiaomi confirmed it is in talks "
            "with Great Wall Motors.",
            "Xiaomi will build cars with Great Wall Motors",
            "confirm",
        ),
        (
            "Xiaomi, which had denied it would make cars, unveiled its first electric car.",
            EV,
            "formalize",
        ),
        (
            "Xiaomi had denied it would make cars before it unveiled its first electric car.",
            EV,
            "formalize",
        ),
        (
            "Xiaomi had earlier denied it would make cars but then unveiled its first electric "
            "car.",
            EV,
            "formalize",
        ),
    ],
)
def test_a_remembered_denial_ends_at_its_clause(sentence: str, claim: str, signal: str) -> None:
    """The history frame reaches to the end of its own clause; an act after it is live."""
    verdict = judge(sentence, claim)
    assert (verdict.stance, verdict.signal) == ("supports", signal)


def test_a_participle_after_an_article_is_no_act() -> None:
    sentence = "An established carmaker would build the car that Xiaomi designs."
    assert judge(sentence, EV).signal == "none"
    assert judge("Xiaomi established a car company.", EV).signal == "formalize"


def test_an_act_inside_the_remembered_clause_stays_history() -> None:
    sentence = "Xiaomi, having denied it had signed a car deal, is hiring car engineers."
    assert judge(sentence, EV).signal == "none"


def test_a_fresh_denial_in_reported_speech_still_denies() -> None:
    assert judge("Xiaomi said on Friday it had no plans to build a car.", EV).signal == "deny"


def test_saying_no_talks_were_held_still_denies_a_partnership() -> None:
    assert _x("Xiaomi has not held any talks with Great Wall Motors.").signal == "deny"


def test_only_short_or_on_claim_attribution_lends_on_record_status() -> None:
    bare = "Xiaomi will build its cars with Great Wall Motors."
    unrelated = "Xiaomi sold 40 million phones in the quarter, the company said in a statement."
    about = "The car project has a budget of its own, the company said in a statement on Monday."
    assert _x(bare, context=[unrelated]).signal == "none"
    assert _x(bare, context=f"Shares rose. {unrelated}").signal == "none"
    assert _x(bare, context=["The company said so in a statement."]).signal == "confirm"
    assert _x(bare, context=[unrelated, about]).signal == "confirm"


def test_a_hedge_next_door_still_makes_a_bare_sentence_a_report() -> None:
    hedge = "The plan was described by people familiar with the matter, who asked not to be named."
    assert _x("Xiaomi will build its cars with Great Wall Motors.", context=hedge).stance == (
        "reports"
    )


PARTNERSHIP = "Xiaomi will build cars with Great Wall Motors"


def test_talks_confirmed_on_record_confirm_a_partnership_claim() -> None:
    """Decision (tracker docstring): confirmed means on record, not final; early talks qualify."""
    sentence = (
        "Xiaomi said in a statement that the talks with Great Wall Motors were at an early stage."
    )
    verdict = judge(sentence, PARTNERSHIP)
    assert (verdict.stance, verdict.signal) == ("supports", "confirm")
    assert verdict.strength < judge("Xiaomi confirmed the car deal.", PARTNERSHIP).strength


@pytest.mark.parametrize(
    "sentence",
    [
        "Xiaomi is in early talks with Great Wall Motors, according to people familiar.",
        "Xiaomi said the talks with Great Wall Motors were at an early stage and no decision "
        "had been made.",
    ],
)
def test_reported_or_undecided_talks_do_not_confirm(sentence: str) -> None:
    assert judge(sentence, PARTNERSHIP).signal == "none"


@pytest.mark.parametrize(
    "sentence",
    [
        "Xiaomi said in a statement that talks with Great Wall Motors about selling phones were "
        "at an early stage.",
        "Xiaomi said in a statement that talks with Great Wall Motors over a chip supply deal "
        "were at an early stage.",
        "Xiaomi confirmed it is in talks with Great Wall Motors over a chip supply deal.",
        "Xiaomi signed an agreement with Great Wall Motors about selling phones.",
    ],
)
def test_talks_or_acts_about_another_matter_do_not_confirm(sentence: str) -> None:
    """Only the parties' names shared with the claim: another deal, no evidence for this one."""
    verdict = judge(sentence, PARTNERSHIP)
    assert verdict.signal == "none"
    assert verdict.stance != "supports"


@pytest.mark.parametrize(
    "sentence",
    [
        "Xiaomi confirmed it is in talks with Great Wall Motors about producing electric vehicles.",
        "Xiaomi said in a statement that talks with Great Wall Motors over the weekend were at "
        "an early stage.",
    ],
)
def test_talks_about_the_claims_content_still_confirm(sentence: str) -> None:
    assert judge(sentence, PARTNERSHIP).signal == "confirm"


# Whose deal a sentence is about, by its names: the same party's other deal brings names of its
# own and leaves one of the claim's out, whatever its verbs; the deal itself names both parties.
NAMES_CLAIM = "Corvane Tools will sell its drills business to Ashby Capital"


@pytest.mark.parametrize(
    ("sentence", "missing", "other"),
    [
        ("Corvane Tools has agreed to sell its drills business to Ashby Capital.", 0.0, 0.0),
        ("Corvane signs deal to sell saws arm to Pellam Partners", 0.75, 0.5),
        ("On Monday in March, the company said it had signed.", 1.0, 0.0),
        ("Analysts at Quorn Research expect the sale of Corvane's unit to close.", 0.75, 0.5),
        ("Ashby, Corvane, Dunley, Eskdale, Fenwick, Garrow and Hollin all bid.", 0.5, 1.0),
    ],
)
def test_names_say_whose_deal_a_sentence_is_about(
    sentence: str, missing: float, other: float
) -> None:
    features = find(sentence, NAMES_CLAIM).features
    assert features["party_missing"] == pytest.approx(missing)
    assert features["other_names"] == pytest.approx(other)
