"""The sentence splitter: abbreviations, numbers, tickers, quotes, boilerplate, titles."""

from __future__ import annotations

import time

import pytest

from monitor.reading.text import (
    MAX_SENTENCE_CHARS,
    article_sentences,
    is_boilerplate,
    split_sentences,
)


@pytest.mark.parametrize(
    "text",
    [
        "Orbit Corp. said on Monday it would invest $2.1 billion in batteries.",
        "Shares of Lumen Tech (1810.HK) rose 4.5% in Hong Kong.",
        "Mr. Tan met U.S. regulators in Washington on Jan. 5 to discuss the plan.",
        "Analysts at Fathom Inc. expect 3.75 million units, up from 2.9 million.",
        "J. R. Okafor, the chief executive, spoke at the St. Regis hotel.",
        'The company called the report "pure speculation." according to its filing.',
        "It is worth e.g. 10 times earnings, i.e. a premium.",
    ],
)
def test_one_sentence_stays_whole(text: str) -> None:
    assert split_sentences(text) == [text]


def test_sentences_split_at_real_ends() -> None:
    text = (
        "Orbit Corp. will build a plant in the U.S. The plant opens in 2026. "
        'He said: "We are ready!" Was it true? "Yes," a spokesperson said. '
        "Revenue hit $4.2 billion... Profit fell."
    )
    assert split_sentences(text) == [
        "Orbit Corp. will build a plant in the U.S.",
        "The plant opens in 2026.",
        'He said: "We are ready!"',
        "Was it true?",
        '"Yes," a spokesperson said.',
        "Revenue hit $4.2 billion...",
        "Profit fell.",
    ]


def test_abbreviation_before_a_name_does_not_split() -> None:
    assert split_sentences("Talks with Orbit Inc. Chairman Li Wei ended.") == [
        "Talks with Orbit Inc. Chairman Li Wei ended."
    ]


def test_lines_are_paragraphs_and_boilerplate_is_dropped() -> None:
    text = (
        "Lumen Tech confirmed the deal.\n\n"
        "Read more: Lumen's other news\n"
        "Leave a comment\n"
        "Share this article\n"
        "Facebook Twitter LinkedIn\n"
        "Subscribe to our newsletter for daily updates.\n"
        "© 2024 Example Media. All rights reserved.\n"
        "Advertisement\n"
        "-----\n"
        "The deal closes next year. Read more about it later.\n"
    )
    # "Read more ..." is dropped even inside a paragraph: links glued to prose by extraction
    assert split_sentences(text) == ["Lumen Tech confirmed the deal.", "The deal closes next year."]


@pytest.mark.parametrize(
    ("line", "dropped"),
    [
        ("Read more", True),
        ("READ MORE: the full story", True),
        ("Leave a reply", True),
        ("12 comments", True),
        ("Share on WhatsApp", True),
        ("Sign up for our newsletter", True),
        ("Copyright 2024 Example Media", True),
        ("Photo credit: Example", True),
        ("Lumen Tech shares rose.", False),
        ("Readers were surprised by the deal.", False),
        ("Subscribers grew 10% last year.", False),
    ],
)
def test_boilerplate_vocabulary(line: str, dropped: bool) -> None:
    assert is_boilerplate(line) is dropped


def test_title_is_the_first_sentence_once() -> None:
    title = "Lumen Tech to build cars with Orbit"
    body = f"{title}\nLumen Tech said so on Monday. Orbit agreed."
    assert article_sentences(title, body) == [
        title,
        "Lumen Tech said so on Monday.",
        "Orbit agreed.",
    ]
    assert article_sentences("", "One. Two.") == ["One.", "Two."]
    assert article_sentences(title, None) == [title]
    assert article_sentences(title, "A one. B two. C three.", limit=2) == [title, "A one."]


def test_whitespace_is_normalised() -> None:
    assert split_sentences("Lumen\u00a0Tech  rose.\tOrbit   fell.") == [
        "Lumen Tech rose.",
        "Orbit fell.",
    ]


def test_many_non_final_periods_in_one_paragraph_split_in_linear_time() -> None:
    # Every "Corp." is followed by a name, so no period ends a sentence: the splitter used to
    # rescan the whole paragraph so far at each one (minutes for a few hundred kilobytes).
    paragraph = "Lumen Tech agreed to buy Orbit Corp. " * 20_000
    started = time.monotonic()
    sentences = split_sentences(paragraph)
    assert time.monotonic() - started < 5
    assert "".join(sentences).replace(" ", "") == paragraph.replace(" ", "")


def test_overlong_sentences_are_cut_into_model_sized_pieces() -> None:
    run_on = " ".join(f"word{i}" for i in range(2_000))  # no punctuation at all
    pieces = split_sentences(run_on)
    assert len(pieces) > 1
    assert all(len(p) <= MAX_SENTENCE_CHARS for p in pieces)
    assert " ".join(pieces) == run_on  # cut at spaces, nothing lost
    blob = "x" * (MAX_SENTENCE_CHARS * 2 + 5)  # no space to cut at
    assert [len(p) for p in split_sentences(blob)] == [MAX_SENTENCE_CHARS] * 2 + [5]
    assert article_sentences("T" * 5_000, None) == ["T" * MAX_SENTENCE_CHARS]


def test_a_huge_body_is_read_only_as_far_as_the_limit() -> None:
    body = "Lumen Tech confirmed the deal. " * 500_000  # 15 MB
    started = time.monotonic()
    sentences = article_sentences("Title", body, limit=400)
    assert time.monotonic() - started < 5
    assert len(sentences) == 400


def test_sentences_opening_with_a_capital_of_any_script_split() -> None:
    text = (
        "Volkswagen said it would not sell the unit. Škoda confirmed talks on Monday. "
        "Ørsted declined to comment. Émile Dupont, a director, left. Орбител подтвердил сделку."
    )
    assert split_sentences(text) == [
        "Volkswagen said it would not sell the unit.",
        "Škoda confirmed talks on Monday.",
        "Ørsted declined to comment.",
        "Émile Dupont, a director, left.",
        "Орбител подтвердил сделку.",
    ]
    # still one sentence: a lower-case word, or no space after the period
    assert len(split_sentences("Sales of the Zephyr.é model rose. iPhone sales fell.")) == 1


def test_full_width_marks_end_sentences_without_a_space() -> None:
    text = "Orbitel signed the deal. 据报道，双方已签约。他说：“我们会收购。”股价上涨！Shares rose."
    assert split_sentences(text) == [
        "Orbitel signed the deal.",
        "据报道，双方已签约。",
        "他说：“我们会收购。”",
        "股价上涨！",
        "Shares rose.",
    ]
