"""Throughput of split + embed + match + stance next to the bare model, in one run.

    python bench/pipeline.py [--articles 150] [--rumours 1000] [--reader bundled|rules|DIR]

Generates synthetic rumours and articles (invented companies), encodes the articles' sentences
with the bare model, then runs the same articles through `process_pending` on a fresh SQLite
database (split, cached embedding, entity gate, similarity against every claim, stance,
tracker, evidence rows). Claims are embedded before timing, as they are once per process in
production. Prints sentences/s for both, their ratio (target >= 0.8) and peak memory.

The machine may be shared, so bare and pipeline runs alternate for several rounds (each pipeline
round on a fresh copy of the prepared database) and the best round of each is compared.
Rates count distinct sentences: the only ones the model sees in either run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import load_config
from monitor.db import Database, upgrade
from monitor.db.models import Article
from monitor.reading.embed import Embedder, shared_encoder
from monitor.reading.pipeline import build_index, process_pending
from monitor.reading.text import article_sentences
from monitor.seeds import load_seeds, sync_rumours

SYLLABLES = [
    "nim",
    "bus",
    "fer",
    "ro",
    "kes",
    "trel",
    "or",
    "ion",
    "lu",
    "men",
    "vex",
    "ta",
    "zan",
    "dor",
    "qui",
    "pel",
    "mar",
    "sol",
    "tek",
    "ra",
    "vo",
    "lin",
    "cas",
    "del",
]
KINDS = ["Mobile", "Motors", "Auto", "Tech", "Systems", "Energy", "Labs", "Group"]
CLAIMS = [
    "{a} will build its electric cars in a {b} factory",
    "{a} is in talks to acquire {b}",
    "{a} and {b} will form a battery joint venture",
    "{a} will invest in {b}",
    "{a} will supply chips to {b}",
]
SENTENCES = [
    "{a} could build electric cars at a {b} plant, according to people familiar with the matter.",
    "{a} said in a statement on {day} that it has no plans to work with {b}.",
    "{a} confirmed it is in talks with {b} about a deal worth ${n}.{m} billion.",
    "Shares of {a} rose {n}.{m}% on {day} after the report.",
    "{a} and {b} signed a definitive agreement on {day}, the companies said.",
    "Analysts at {c} expect {n} million units to be shipped next year.",
    "A spokesperson for {a} declined to comment on the report on {day}, {c} said.",
    "{a} reported revenue of ${n}.{m} billion for the quarter, up {m}% from a year earlier.",
    "Mr. {c} told reporters in the U.S. that demand remained strong in {n} markets.",
    "{b} has terminated its supply agreement with {a}, according to a filing.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def company(rng: random.Random) -> str:
    name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    return f"{name} {rng.choice(KINDS)}"


def companies(rng: random.Random, draws: int) -> list[str]:
    """Companies whose first words differ: the seeds give that word as an alias, and two parties
    sharing one cannot be told apart (seed loading refuses them)."""
    by_alias: dict[str, str] = {}
    for _ in range(draws):
        name = company(rng)
        by_alias.setdefault(name.split()[0], name)
    return list(by_alias.values())


def write_seeds(path: Path, rng: random.Random, count: int, names: list[str]) -> None:
    lines = []
    for i in range(count):
        a, b = rng.sample(names, 2)
        claim = rng.choice(CLAIMS).format(a=a, b=b)
        lines.append(
            f'[[rumour]]\nid = "r{i:04d}"\nclaim = "{claim}"\n'
            f'entities = ["{a}|{a.split()[0]}", "{b}|{b.split()[0]}"]\n'
            f'paraphrases = ["{rng.choice(CLAIMS).format(a=b, b=a)}"]\n'
        )
    path.write_text("\n".join(lines), encoding="utf-8")


def article(rng: random.Random, names: list[str]) -> tuple[str, str]:
    a, b, c = rng.sample(names, 3)

    def fill(t: str) -> str:
        return t.format(
            a=a,
            b=b,
            c=c.split()[0],
            day=rng.choice(DAYS),
            n=rng.randint(2, 999),
            m=rng.randint(0, 99),
        )

    title = fill(rng.choice(SENTENCES)).rstrip(".")
    paragraphs = [
        " ".join(fill(rng.choice(SENTENCES)) for _ in range(rng.randint(2, 4)))
        for _ in range(rng.randint(4, 8))
    ]
    return title, "\n".join(paragraphs) + "\nRead more\nShare this article\n"


def prepare(config_path: Path, stories: list[tuple[str, str]], embedder: Embedder) -> None:
    """Rumours, their claim vectors and the unprocessed articles, in a database file."""
    config = load_config(config_path)
    db = Database(config.database.url)
    upgrade(db.engine)
    with db.transaction() as session:
        sync_rumours(session, load_seeds(config.seeds.paths))
        build_index(session, embedder)  # claims are embedded once per process, then cached
        start = datetime(2024, 1, 1, tzinfo=UTC)
        for i, (title, text) in enumerate(stories):
            session.add(
                Article(
                    canonical_url=f"https://bench.example/{i}",
                    url=f"https://bench.example/{i}",
                    title=title,
                    text=text,
                    credibility=0.6,
                    content_hash=hashlib.sha256(text.encode()).hexdigest(),
                    published_at=start + timedelta(minutes=i),
                )
            )
    db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=150)
    parser.add_argument("--rumours", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--reader", default="bundled", help="[model] reader: bundled, rules or a trained folder"
    )
    args = parser.parse_args(argv)
    rng = random.Random(7)
    names = companies(rng, 400)
    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    write_seeds(work / "seeds.toml", rng, args.rumours, names)
    (work / "config.toml").write_text(
        f'[database]\nurl = "sqlite:///{work}/bench.db"\n[seeds]\npaths = ["seeds.toml"]\n'
        f"[model]\nreader = {json.dumps(args.reader)}\n"
    )
    config = load_config(work / "config.toml")
    stories = [article(rng, names) for _ in range(args.articles)]
    sentences = [s for t, x in stories for s in article_sentences(t, x)]
    unique = list(dict.fromkeys(sentences))

    started = time.perf_counter()
    encoder = shared_encoder(config.model.name)
    print(f"model load           {time.perf_counter() - started:.1f} s")
    encoder.encode(unique[:64], config.model.batch_size)  # warm-up
    prepare(work / "config.toml", stories, Embedder(encoder, config.model.name))
    shutil.copy(work / "bench.db", work / "prepared.db")

    bare_rates, pipe_rates, encoded, transitions = [], [], 0, 0
    for _ in range(args.rounds):
        started = time.perf_counter()
        encoder.encode(unique, config.model.batch_size)
        bare_rates.append(len(unique) / (time.perf_counter() - started))
        shutil.copy(work / "prepared.db", work / "bench.db")
        for extra in ("bench.db-wal", "bench.db-shm"):
            (work / extra).unlink(missing_ok=True)
        db = Database(config.database.url)
        embedder = Embedder(encoder, config.model.name, config.model.batch_size)
        started = time.perf_counter()
        transitions = len(process_pending(db, config, embedder))
        pipe_rates.append(len(unique) / (time.perf_counter() - started))
        encoded = embedder.encoded
        db.dispose()

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    bare, piped = max(bare_rates), max(pipe_rates)
    print(f"rumours tracked      {args.rumours}")
    print(f"articles             {len(stories)}")
    print(f"sentences            {len(sentences)} ({len(unique)} distinct, {encoded} encoded)")
    print(
        f"bare model encode    {bare:,.0f} sentences/s  (rounds: "
        + ", ".join(f"{r:,.0f}" for r in bare_rates)
        + ")"
    )
    print(
        f"pipeline             {piped:,.0f} sentences/s  (rounds: "
        + ", ".join(f"{r:,.0f}" for r in pipe_rates)
        + ")"
    )
    print(f"ratio                {piped / bare:.2f}  (best round each; target >= 0.80)")
    print(f"transitions          {transitions}")
    print(f"peak memory (RSS)    {peak:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
