"""`assess` through the CLI with the real model: one text, a file, a URL, and --pairs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from monitor.cli import cli
from monitor.reading.assess import PairError, parse_pair

CLAIM = "Nimbus Mobile will build its electric cars in a Ferro Motors factory"


def run(config: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), "assess", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_assess_text_json(write_config: Callable[..., Path], encoder: object) -> None:
    code, out, _ = run(
        write_config(),
        "--claim",
        CLAIM,
        "--text",
        "Ferro Motors said in a statement it has no plans to build cars for Nimbus Mobile.",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert {"id", "related", "stance", "similarity", "signal", "sentence"} <= set(data)
    assert (data["related"], data["stance"], data["signal"]) == (True, "denies", "deny")
    assert data["similarity"] > 0.55


def test_assess_file_readable(
    write_config: Callable[..., Path], tmp_path: Path, encoder: object
) -> None:
    story = tmp_path / "story.txt"
    story.write_text(
        "Orion Phones signs deal with Kestrel Auto\n"
        "Orion Phones signed an agreement for Kestrel Auto to build its cars.\n",
        encoding="utf-8",
    )
    code, out, _ = run(write_config(), "--claim", CLAIM, "--file", str(story))
    assert code == 0
    assert "related     no" in out and "stance      unrelated" in out and "closest" in out


def test_assess_url(
    write_config: Callable[..., Path], httpserver: HTTPServer, encoder: object
) -> None:
    httpserver.expect_request("/story").respond_with_data(
        "<html><head><title>Nimbus Mobile and Ferro Motors sign deal</title></head><body>"
        "<article><h1>Nimbus Mobile and Ferro Motors sign deal</h1>"
        "<p>Nimbus Mobile and Ferro Motors signed a definitive agreement on Tuesday under which "
        "Ferro Motors will manufacture Nimbus electric cars, the companies said.</p>"
        "<p>Production starts next year at the Baoding plant, which employs 4,000 people "
        "and has made cars for two decades.</p></article></body></html>",
        content_type="text/html",
    )
    url = httpserver.url_for("/story")
    # The page is on loopback: refused by default, like any article link to a private address.
    code, _, err = run(write_config(), "--claim", CLAIM, "--url", url, "--json")
    assert code == 1 and "127.0.0.1" in err
    allowed = write_config("[polling]\nallow_private_networks = true\n")
    code, out, err = run(allowed, "--claim", CLAIM, "--url", url, "--json")
    assert code == 0, err
    assert json.loads(out)["signal"] == "formalize"


def test_assess_pairs(write_config: Callable[..., Path], tmp_path: Path, encoder: object) -> None:
    lines = [
        {"id": "a", "claim": CLAIM, "text": "Nimbus Mobile declined to comment on Ferro Motors."},
        {
            "id": "b",
            "claim": CLAIM,
            "text": "Nimbus Mobile has terminated its car deal with Ferro Motors, it said.",
        },
        "not json",
        {"id": "d", "claim": "", "text": "x"},
        {
            "id": 5,
            "claim": "Acme will buy Widget Works",
            "text": "Acme is reportedly in talks to buy Widget Works.",
            "entities": ["Acme", "Widget Works"],
        },
    ]
    body = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    code, out, err = run(write_config(), "--pairs", "-", stdin=body)
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in results] == ["a", "b", 5]
    by_id = {r["id"]: r for r in results}
    assert by_id["a"]["signal"] == "none" and by_id["a"]["stance"] != "denies"
    assert (by_id["b"]["stance"], by_id["b"]["signal"]) == ("denies", "abandon")
    assert (by_id[5]["related"], by_id[5]["stance"]) == (True, "reports")
    assert code == 1
    assert "line 3: not JSON" in err and "line 4: 'claim'" in err


# The same two parties doing something else, mostly in words no list of the claim's content
# holds: whichever layer stops them (matching or the reader), the product path gives no signal.
SAME_PARTIES_OTHER_DEAL = [
    "Ferro Motors will supply batteries to Nimbus Mobile.",
    "Nimbus Mobile was the third-largest phone vendor in Europe, ahead of Ferro Motors.",
    "Ferro Motors and Nimbus Mobile settled their dispute over a dealer website on Monday.",
    "Nimbus Mobile has signed a contract to put its phones in Ferro Motors' showrooms.",
]


def test_the_same_two_parties_other_deal_moves_nothing(
    write_config: Callable[..., Path], encoder: object
) -> None:
    lines = [
        {
            "id": i,
            "claim": CLAIM,
            "text": text,
            "entities": ["Nimbus Mobile|Nimbus", "Ferro Motors|Ferro"],
        }
        for i, text in enumerate(SAME_PARTIES_OTHER_DEAL)
    ]
    body = "".join(json.dumps(x) + "\n" for x in lines)
    code, out, _ = run(write_config(), "--pairs", "-", stdin=body)
    assert code == 0
    read = {r["id"]: r for r in map(json.loads, out.splitlines())}
    moved = {SAME_PARTIES_OTHER_DEAL[i]: (r["stance"], r["signal"]) for i, r in read.items()}
    assert all(signal == "none" for _, signal in moved.values()), moved


@pytest.mark.parametrize("entities", [["Acme", "|"], ["Acme", "..."], ["Acme", " "], "Acme"])
def test_a_pair_whose_entity_names_nothing_is_refused(entities: object) -> None:
    line = json.dumps({"claim": "Acme buys Globex", "text": "Acme buys.", "entities": entities})
    with pytest.raises(PairError, match="line 7: 'entities' must be a list of names"):
        parse_pair(line, 7)
    fine = json.dumps({"claim": "Acme buys Globex", "text": "x", "entities": ["Acme|", "Globex"]})
    assert parse_pair(fine, 7).entities == ("Acme|", "Globex")


def test_a_pair_whose_parties_share_a_name_is_refused() -> None:
    # "Acme" alone would name both parties, so "Acme Labs signed with Globex" would pass as
    # news of the takeover.
    shared = json.dumps(
        {"claim": "Acme buys Acme Labs", "text": "x", "entities": ["Acme", "Acme Labs"]}
    )
    with pytest.raises(
        PairError, match="line 7: the alias 'Acme' of 'Acme' is also in 'Acme Labs'"
    ):
        parse_pair(shared, 7)
    apart = json.dumps(
        {"claim": "Acme buys Acme Labs", "text": "x", "entities": ["Acme Corp", "Acme Labs"]}
    )
    assert parse_pair(apart, 7).entities == ("Acme Corp", "Acme Labs")


def test_assess_usage_errors(write_config: Callable[..., Path]) -> None:
    config = write_config()
    assert run(config, "--claim", CLAIM)[0] == 2
    assert run(config, "--claim", CLAIM, "--text", "a", "--url", "http://127.0.0.1/")[0] == 2
    assert run(config, "--text", "a")[0] == 2
    assert run(config, "--pairs", "-", "--claim", CLAIM, stdin="")[0] == 2


def test_assess_needs_no_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoder: object
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./config.toml here, and none named
    monkeypatch.delenv("RUMOUR_MONITOR_CONFIG", raising=False)
    text = "Nimbus Mobile said on Monday it has no plans to build cars with Ferro Motors."
    result = CliRunner().invoke(cli, ["assess", "--claim", CLAIM, "--text", text, "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["signal"] == "deny"
    assert not (tmp_path / "state").exists()  # defaults, and nothing written
    named = CliRunner().invoke(
        cli,
        ["--config", str(tmp_path / "missing.toml"), "assess", "--claim", CLAIM, "--text", text],
    )
    assert named.exit_code == 2 and "config file not found" in named.stderr


def test_assess_pairs_from_a_file_that_is_not_utf8(
    write_config: Callable[..., Path], tmp_path: Path, encoder: object
) -> None:
    pairs = tmp_path / "pairs.jsonl"
    line = json.dumps({"id": "a", "claim": CLAIM, "text": "Nimbus Mobile said it builds cars."})
    pairs.write_bytes(line.encode() + b"\n" + "café\n".encode("latin-1"))
    code, _, err = run(write_config(), "--pairs", str(pairs))
    assert code == 1
    assert "pairs.jsonl: not UTF-8" in err and "Traceback" not in err


def test_loading_the_model_leaves_stderr_to_the_logs(write_config: Callable[..., Path]) -> None:
    # A fresh process, so the model is really loaded: the library's "Loading weights" progress
    # bar used to land on stderr, between the JSON log lines and in the journal.
    text = "Ferro Motors declined to comment on Nimbus Mobile."
    command = [sys.executable, "-m", "monitor", "--config", str(write_config())]
    command += ["--log-format", "json", "--log-level", "info"]
    command += ["assess", "--json", "--claim", CLAIM, "--text", text]
    proc = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["stance"] in {"unrelated", "reports"}
    for line in proc.stderr.splitlines():
        assert isinstance(json.loads(line), dict), line


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--claim", "  ", "--text", "Nimbus Mobile builds cars."], "the claim is empty"),
        (["--claim", CLAIM, "--text", "  \n"], "no text to judge"),
        (["--claim", CLAIM, "--text", "Nimbus Mobile builds cars.", "--entity", ""], "entity"),
        (["--claim", CLAIM, "--text", "Nimbus builds cars.", "--entity", "--"], "names nothing"),
        (
            [
                "--claim",
                CLAIM,
                "--text",
                "x",
                "--entity",
                "Nimbus Mobile|Nimbus",
                "--entity",
                "Nimbus",
            ],
            "give each entity names of its own",
        ),
        (["--claim", CLAIM, "--url", "ftp://files.example/story"], "not an http"),
        (["--claim", CLAIM, "--url", "example.org/story"], "not an http"),
    ],
)
def test_assess_refuses_empty_or_malformed_input_as_usage_errors(
    write_config: Callable[..., Path], args: list[str], problem: str
) -> None:
    # These used to be judged (an empty entity lets any text through the entity gate) or fail
    # as runtime errors (exit 1) after the model had loaded.
    code, out, err = run(write_config(), *args)
    assert code == 2, out
    assert problem in err and out == ""


def test_assess_an_empty_file_is_a_usage_error(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    empty = tmp_path / "story.txt"
    empty.write_text("\n", encoding="utf-8")
    code, _, err = run(write_config(), "--claim", CLAIM, "--file", str(empty))
    assert code == 2 and "--file" in err and "no text to judge" in err


def test_assess_file_reads_a_saved_html_page_like_a_fetched_one(
    write_config: Callable[..., Path], tmp_path: Path, encoder: object
) -> None:
    # A page saved from a browser: its markup, navigation and footer are not article text.
    page = tmp_path / "story.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>Nimbus Mobile and Ferro Motors sign deal</title>"
        "</head><body><nav><a href='/'>Home</a> <a href='/cars'>Cars</a></nav>"
        "<article><h1>Nimbus Mobile and Ferro Motors sign deal</h1>"
        "<p>Nimbus Mobile and Ferro Motors signed a definitive agreement on Tuesday under which "
        "Ferro Motors will manufacture Nimbus electric cars, the companies said.</p>"
        "<p>Production starts next year at the Baoding plant, which employs 4,000 people "
        "and has made cars for two decades.</p></article>"
        "<footer>Copyright 2024 Example News</footer></body></html>",
        encoding="utf-8",
    )
    code, out, err = run(write_config(), "--claim", CLAIM, "--file", str(page), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["signal"] == "formalize"
    assert "<" not in data["sentence"] and ">" not in data["sentence"]


def test_assess_reads_past_control_characters_and_prints_none(
    write_config: Callable[..., Path], encoder: object
) -> None:
    # A bell glued to a word hid it from matching ("unrelated"), and the escape sequences went
    # to the terminal with the sentence.
    text = "Ferro Motors\x07 said\x1b[2J in a statement\x1b]0;x\x07 it has no plans to build cars"
    code, out, _ = run(write_config(), "--claim", CLAIM, "--text", text + " for Nimbus Mobile.")
    assert code == 0
    assert "stance      denies" in out and "signal      deny" in out
    assert not any(ord(c) < 32 and c != "\n" for c in out)


# Headlines that tell the claim loosely, naming its party otherwise or not at all: the
# bi-encoder puts each between 0.35 and 0.55 from the claim. The similarity floor only bounds
# the reader's work; the reader decides whether they speak to the claim.
LOOSE_HEADLINES = [
    (
        "A woman in Tarnby grew a third arm after an experiment",
        "Three-armed lady is a hoax, doctors say",
    ),
    (
        "The Velmark army shot down a spy drone over Kessa",
        "Drone downed near border town, officials confirm",
    ),
    (
        "A pensioner from Holbeck won the lottery twice in one week",
        "Lucky grandad scoops jackpot again days after first win",
    ),
]


def test_a_loosely_worded_headline_reaches_the_reader(
    write_config: Callable[..., Path], encoder: object
) -> None:
    lines = [{"id": i, "claim": c, "text": t} for i, (c, t) in enumerate(LOOSE_HEADLINES)]
    # A headline about something else in the same town sits under the floor (0.24): stopped
    # before the reader, as the floor is there to do.
    lines.append(
        {
            "id": "far",
            "claim": LOOSE_HEADLINES[0][0],
            "text": "Tarnby council approves a new swimming pool",
        }
    )
    body = "".join(json.dumps(x) + "\n" for x in lines)
    code, out, _ = run(write_config(), "--pairs", "-", stdin=body)
    read = {r["id"]: r for r in map(json.loads, out.splitlines())}
    assert code == 0
    assert all(0.35 <= read[i]["similarity"] < 0.55 for i in range(len(LOOSE_HEADLINES))), read
    assert all(read[i]["related"] for i in range(len(LOOSE_HEADLINES))), read
    assert read[0]["stance"] == "denies"  # a hoax, though it names neither Tarnby nor a woman
    assert read["far"]["stance"] == "unrelated", read["far"]
