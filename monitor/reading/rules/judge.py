"""How one sentence stands toward one claim, and what it signals for the rumour's state.

``judge`` is a pure function of its arguments: the sentence is read against a ``Lexicon`` of cue
phrases (hedges, attribution, confirm/formalize/deny/abandon cues, negators) loaded from the
packaged ``data/stance.toml``. The decision is a fixed precedence of rules, strongest act first,
so that every judgement can name the cues that made it. How a sentence is read (cue hits,
negation, attribution) lives in ``monitor.reading.rules.reading``; the learned layer's features in
``monitor.reading.rules.features``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from monitor.reading.rules.about import (
    about_claim,
    content_words,
    on_claim,
    other_deal,
    other_object,
    other_topics,
)
from monitor.reading.rules.features import profile
from monitor.reading.rules.layer import REFERENCE, StanceModel, best, load_model, probabilities
from monitor.reading.rules.lexicon import Lexicon, lexicon_from_mapping, load_lexicon
from monitor.reading.rules.negation import Token, is_clause_mark, words_before
from monitor.reading.rules.reading import (
    ClaimView,
    Hit,
    Judgement,
    Reading,
    Signal,
    Stance,
    Text,
    attribution,
    claim_view,
    denied_call_off,
    live_hedges,
    read_against,
    read_text,
)

__all__ = [
    "Judgement",
    "Lexicon",
    "Signal",
    "Stance",
    "judge",
    "lexicon_from_mapping",
    "load_lexicon",
    "profile",
    "stance_features",
]


def _judgement(
    stance: Stance, signal: Signal, weight: str, lex: Lexicon, cues: Sequence[str]
) -> Judgement:
    return Judgement(stance, signal, lex.weights[weight], tuple(dict.fromkeys(cues)))


Rule = Callable[[Reading, Lexicon], Judgement | None]


def _against(r: Reading, lex: Lexicon, hit: Hit, signal: Signal, weight: str) -> Judgement:
    """A denial-like act on the claim, softened by hedges and flipped when the claim is itself
    a denial ("X denies Y" is supported by "X denied Y")."""
    cues = [hit.name]
    if r.claim.negative:
        return _judgement("supports", "none", "assertion", lex, [*cues, "claim-is-negative"])
    hedges = live_hedges(r)
    if hedges:
        return _judgement("denies", "none", "hedged_denial", lex, [*cues, hedges[0].name])
    return _judgement("denies", signal, weight, lex, cues)


def _act_rule(role: str, signal: Signal, weight: str) -> Rule:
    def rule(r: Reading, lex: Lexicon) -> Judgement | None:
        hits = r.live[role]
        if not hits:
            return None
        about = [h for h in hits if on_claim(h, r, lex)]
        if not about:
            return _judgement("unrelated", "none", "unrelated", lex, [f"{hits[0].name}(other)"])
        return _against(r, lex, about[0], signal, weight)

    return rule


def _call_off_denied(r: Reading, lex: Lexicon) -> Judgement | None:
    """ "X denied it had walked away from talks to buy Y": denying the claim's call-off keeps the
    claim alive, on record unless hedged."""
    call_off = denied_call_off(r, lex)
    if call_off is None or r.claim.negative or not on_claim(call_off, r, lex):
        return None
    cues = [f"deny:{r.live['deny'][0].text}", f"denied-{call_off.name}"]
    hedges = live_hedges(r)
    if hedges:
        return _judgement("reports", "none", "hedged", lex, [*cues, hedges[0].name])
    return _judgement("supports", "confirm", "confirm", lex, cues)


def _double_negation(r: Reading, lex: Lexicon) -> Judgement | None:
    """ "did not deny", "would not rule out": a refusal to deny is no denial."""
    if not r.negated["deny"]:
        return None
    return _judgement(
        "reports", "none", "double_negation", lex, [f"not-{r.negated['deny'][0].name}"]
    )


def _debunk(r: Reading, lex: Lexicon) -> Judgement | None:
    if r.negated["debunk"] and not r.live["debunk"]:  # "not a hoax"
        stance: Stance = "denies" if r.claim.negative else "supports"
        return _judgement(stance, "none", "debunk", lex, [f"not-{r.negated['debunk'][0].name}"])
    hits = [h for h in r.live["debunk"] if on_claim(h, r, lex)]
    if not hits:
        return None
    party = attribution(r, lex)[0] == "party"
    return _against(r, lex, hits[0], "deny" if party else "none", "debunk")


def _negated_content(r: Reading, lex: Lexicon) -> Judgement | None:
    """ "X will not build cars with Y", "no plans to ...": a negator over the claim's content."""
    for negator, words in r.scopes:
        if (
            not about_claim(words, r, lex)
            or other_deal(words, r, lex)
            or other_object(words, r, lex, leading_verb=True)
        ):
            continue  # negates something else: "will not raise phone prices"
        cue = f"negation:{negator.text} {' '.join(words[:4])}".rstrip()
        if any(lex.cues["pending"].fullmatch(w) for w in words[:3]) or _not_done(
            negator, words, r, lex
        ):
            return _judgement("reports", "none", "pending", lex, [cue, "pending"])
        before = " ".join(words_before(r.text.tokens, negator.start, 2))
        modal = lex.cues["modal_hedge"].search(before)
        if modal and not lex.cues["future"].fullmatch(modal.group()):  # "may not", not "would"
            return _judgement("reports", "none", "hedged", lex, [cue, f"modal:{modal.group()}"])
        # "is not expected to", "not likely to": a forecast that it will not happen, no denial
        forecast = lex.cues["modal_hedge"].match(" ".join(words[:3]))
        if forecast and not lex.cues["future"].fullmatch(forecast.group()):
            return _judgement("reports", "none", "hedged", lex, [cue, f"modal:{forecast.group()}"])
        hit = Hit("negation", f"{negator.text} {' '.join(words[:4])}".rstrip(), 0, 0)
        return _against(r, lex, hit, "deny", "deny_negation")
    return None


def _not_done(negator: Token, words: Sequence[str], r: Reading, lex: Lexicon) -> bool:
    """ "X has not signed an agreement with Y", "X did not sign": an act not done so far. Against
    a claim about what will happen that is pending, not a denial: only saying it will not happen
    ("will not", "no plans", "denied") denies. Against a claim that it happened ("X met Y"), the
    same words do deny it."""
    if not r.claim.prospective or negator.text not in lex.perfect_negators:
        return False
    aux = words_before(r.text.tokens, negator.start, 1)
    return bool(aux and words) and aux[0] in lex.perfect and words[0] not in lex.perfect_states


def _remembered(r: Reading, lex: Lexicon) -> Judgement | None:
    """ "..., six weeks after telling investors it had no formal project", "X had earlier denied
    it": a denial told as history is no new denial. It runs after the official acts, so that an
    act in the same sentence ("X announced the project, after saying ...") still counts."""
    if not r.remembered:
        return None
    return _judgement("reports", "none", "pending", lex, [f"history:{r.remembered[0].text}"])


def _other_matter(r: Reading, lex: Lexicon) -> Judgement | None:
    """ "X said it will not sell its camera unit to Y": a negation of something else, and
    nothing else said but the parties' names. Whoever says it, it is about another matter and
    confirms nothing (runs after ``_negated_content``, so no negation here is about the claim)."""
    if not r.scopes:
        return None
    rest = content_words(r.outside, lex) - r.claim.entities
    if rest & r.claim.stems:
        return None  # "X will build cars with Y, not with Z": the claim is asserted outright
    negator, words = r.scopes[0]
    cue = f"negation:{negator.text} {' '.join(words[:4])}(other)".rstrip()
    return _judgement("unrelated", "none", "unrelated", lex, [cue])


def _no_comment(r: Reading, lex: Lexicon) -> Judgement | None:
    hits = r.text.hits["no_comment"]
    if not hits:
        return None
    return _judgement("reports", "none", "no_comment", lex, [hits[0].name])


def _undecided(r: Reading, lex: Lexicon) -> Judgement | None:
    hits = r.text.hits["uncertain"]
    if not hits:
        return None
    return _judgement("reports", "none", "pending", lex, [hits[0].name])


def _question(r: Reading, lex: Lexicon) -> Judgement | None:
    if "?" not in r.text.text:
        return None
    return _judgement("reports", "none", "question", lex, ["question"])


def _source_hedge(r: Reading, lex: Lexicon) -> Judgement | None:
    hedges = live_hedges(r)
    if not hedges:
        return None
    return _judgement("reports", "none", "hedged", lex, [h.name for h in hedges])


def _planned(hit: Hit, r: Reading, lex: Lexicon) -> bool:
    """ "will be launched", "could sign": an act still to come is a plan, not a done deal."""
    before = " ".join(words_before(r.text.tokens, hit.start, lex.future_window))
    return bool(lex.cues["future"].search(before) or lex.cues["modal_hedge"].search(before))


def _attributive(hit: Hit, r: Reading, lex: Lexicon) -> bool:
    """ "an established carmaker", "the released figures": a participle after an article
    describes a noun; nobody established or released anything."""
    if not lex.cues["object_bound"].fullmatch(hit.text):
        return False
    return words_before(r.text.tokens, hit.start, 1) in {(a,) for a in lex.articles}


def _official_act(role: str, signal: Signal, weight: str) -> Rule:
    def rule(r: Reading, lex: Lexicon) -> Judgement | None:
        if r.negated[role] and not r.live[role]:  # "has not yet signed", "did not confirm"
            return _judgement("reports", "none", "pending", lex, [f"not-{r.negated[role][0].name}"])
        done = [h for h in r.live[role] if not _planned(h, r, lex) and not _attributive(h, r, lex)]
        if not done:
            return None
        about = [h for h in done if on_claim(h, r, lex)]
        if not about:
            return _judgement("unrelated", "none", "unrelated", lex, [f"{done[0].name}(other)"])
        return _judgement("supports", signal, weight, lex, [about[0].name])

    return rule


def _on_record(r: Reading, lex: Lexicon) -> Judgement | None:
    """A party to the claim speaking on record confirms it, "may" or "early stage" included:
    "X said in a statement that the talks with Y were at an early stage" confirms "X will build
    cars with Y" (confirmed is "on record, not final"; see the tracker's decisions)."""
    kind, cues = attribution(r, lex)
    others = other_topics(r, lex)
    if kind == "party" and others:  # "said talks with Y about selling phones were early"
        return _judgement("unrelated", "none", "unrelated", lex, [*cues, f"topic:{others[0].text}"])
    if kind == "party" and other_object([t.text for t in r.text.tokens], r, lex):
        # "X will supply displays to Y, the companies said" confirms no chip supply deal
        return _judgement("unrelated", "none", "unrelated", lex, [*cues, "other-object"])
    if kind == "second-hand":
        return _judgement("reports", "none", "speculation", lex, cues)
    if kind != "party":
        return None
    modal = r.text.hits["modal_hedge"]
    if modal:
        return _judgement("supports", "confirm", "confirm_modal", lex, [*cues, modal[0].name])
    return _judgement("supports", "confirm", "confirm", lex, cues)


def _speculative(r: Reading, lex: Lexicon) -> Judgement | None:
    hits = r.text.hits["modal_hedge"] + r.text.hits["speculation"] + r.text.hits["uncertain"]
    if not hits:
        return None
    return _judgement("reports", "none", "speculation", lex, [h.name for h in hits])


def _plan(r: Reading, lex: Lexicon) -> Judgement | None:
    planned = [h for h in r.live["formalize"] if on_claim(h, r, lex)]
    if not planned:
        return None
    return _judgement("supports", "none", "future_plan", lex, [f"plan:{planned[0].text}"])


_RULES: tuple[Rule, ...] = (
    _call_off_denied,
    _act_rule("abandon", "abandon", "abandon"),
    _act_rule("deny", "deny", "deny"),
    _double_negation,
    _debunk,
    _negated_content,
    _other_matter,
    _no_comment,
    _question,
    _undecided,
    _source_hedge,
    _official_act("formalize", "formalize", "formalize"),
    _official_act("confirm", "confirm", "confirm"),
    _remembered,
    _on_record,
    _speculative,
    _plan,
)


_CONTEXT_SOURCING: tuple[tuple[str, Stance, Signal, str], ...] = (
    ("source_hedge", "reports", "none", "hedged"),
    ("no_comment", "reports", "none", "no_comment"),
    ("on_record", "supports", "confirm", "confirm_context"),
)
# Sentence ends followed by the start of the next sentence: how a context string is split.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'“‘(]?[A-Z0-9])")


def _sentences(context: str | Sequence[str]) -> list[str]:
    parts = _SENTENCE_END.split(context) if isinstance(context, str) else list(context)
    return [p for p in parts if p.strip()]


def _lends_record(neighbour: Text, claim: ClaimView, lex: Lexicon) -> bool:
    """Whether a neighbour's "the company said" may put a bare sentence on record: only when the
    neighbour is itself short attribution ("The company said so in a statement.") or speaks to
    the claim's own content. "Xiaomi sold 40 million phones in the quarter, the company said in a
    statement" sources the phone figure, not the car sentence beside it."""
    words = [t.text for t in neighbour.tokens if not is_clause_mark(t)]
    if len(words) <= lex.context_attribution_words:
        return True
    own = {lex.concepts.get(w, w) for w in content_words(words, lex) - claim.entities}
    wanted = {lex.concepts.get(w, w) for w in claim.stems - claim.entities - lex.generic}
    return bool(own & wanted)


def _from_context(context: Sequence[str], claim: ClaimView, lex: Lexicon) -> Judgement | None:
    """A bare statement takes its sourcing from its neighbours: "..., people familiar said",
    "the company said in a statement", "X declined to comment". A hedge or a refusal to comment
    only ever weakens a sentence, so any neighbour lends it; on-record status, which moves a
    state, comes only from a neighbour that ``_lends_record``."""
    texts = [read_text(sentence, lex) for sentence in context]
    for role, stance, signal, weight in _CONTEXT_SOURCING:
        for text in texts:
            hits = text.hits[role]
            if not hits or (role == "on_record" and not _lends_record(text, claim, lex)):
                continue
            return _judgement(stance, signal, weight, lex, [f"context:{hits[0].name}"])
    return None


def by_rules(reading: Reading, context: str | Sequence[str], lex: Lexicon) -> Judgement:
    """The verdict of the rules alone: the first rule that applies, strongest act first."""
    for rule in _RULES:
        found = rule(reading, lex)
        if found is not None:
            return found
    sentences = _sentences(context)
    if sentences:
        found = _from_context(sentences, reading.claim, lex)
        if found is not None:
            return found
    return _judgement("supports", "none", "assertion", lex, ["assertion"])


def _protected(r: Reading, rule: Judgement) -> bool:
    """Verdicts the learned layer may not overturn, because the product depends on them:
    "declined to comment", "did not deny" and "has not yet signed" are never denials, a denied
    call-off is no denial either, and a denial of a different claim is no evidence."""
    return bool(
        r.text.hits["no_comment"]
        or r.negated["deny"]
        or rule.stance == "unrelated"  # a denial or act about a different claim
        or any(c == "pending" or c.startswith(("not-", "history:", "denied-")) for c in rule.cues)
    )


_STANCES: Mapping[str, Stance] = {"supports": "supports", "denies": "denies", "reports": "reports"}


def _off_claim_negation(values: Mapping[str, float]) -> bool:
    """Negation only of something else ("will not raise prices"), and no other sign against."""
    against = ("negation_on_claim", "deny", "debunk", "abandon")
    return bool(values["negation_any"]) and not any(values[f] for f in against)


def _reconcile(
    rule: Judgement, probs: Mapping[str, float], values: Mapping[str, float], lex: Lexicon
) -> Judgement:
    label, p = best(probs)
    if label == "denies" and _off_claim_negation(values):
        return rule
    cue = f"model:{label}:{p:.2f}"
    if label == rule.stance or (label == REFERENCE and rule.stance == "unrelated"):
        return Judgement(rule.stance, rule.signal, rule.strength, (*rule.cues, cue))
    # Overruled: the rules' signal belonged to the stance they chose, so it goes with it.
    stance = _STANCES[label]
    strength = lex.weights.get(f"learned_{stance}", rule.strength)
    return Judgement(stance, "none", strength, (*rule.cues, cue))


def stance_features(
    sentence: str, claim: str, *, context: str | Sequence[str] = "", lexicon: Lexicon | None = None
) -> dict[str, float]:
    """The named features the learned layer sees for one pair (for fitting and inspection)."""
    lex = lexicon if lexicon is not None else load_lexicon()
    reading = read_against(read_text(sentence, lex), claim_view(claim, lex), lex)
    return profile(reading, by_rules(reading, context, lex), lex)


def judge(
    sentence: str,
    claim: str,
    *,
    context: str | Sequence[str] = "",
    lexicon: Lexicon | None = None,
    model: StanceModel | None = None,
    learned: bool = True,
) -> Judgement:
    """How ``sentence`` (already known to be about ``claim``) stands toward the claim.

    ``context`` holds neighbouring sentences or the headline (a list, or one string that is split
    into sentences); it only sources a sentence that has no cue of its own. The rules decide
    first; unless ``learned`` is false, the learned layer (``model``, or the packaged one) then
    weighs the rules' verdict with the rest of the reading and may overrule the stance, in which
    case the signal is dropped.
    """
    lex = lexicon if lexicon is not None else load_lexicon()
    reading = read_against(read_text(sentence, lex), claim_view(claim, lex), lex)
    rule = by_rules(reading, context, lex)
    if not learned or _protected(reading, rule):
        return rule
    values = profile(reading, rule, lex)
    return _reconcile(rule, probabilities(model or load_model(), values), values, lex)
