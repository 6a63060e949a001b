"""An invented story, in our own words, replayed by the end-to-end tests.

Nimbus Mobile (a phone maker) and Ferro Motors (a carmaker): a hedged report, a non-answer, a
denial, two pieces of noise (another pair of companies doing the same kind of deal; Nimbus's
other deal, with Kestrel Auto), an on-record confirmation, a signed agreement and a termination.
"""

from __future__ import annotations

from datetime import UTC, datetime

SEEDS = """
[[rumour]]
id = "nimbus-ferro"
claim = "Nimbus Mobile will build its electric cars in a Ferro Motors factory"
entities = ["Nimbus Mobile|Nimbus", "Ferro Motors|Ferro"]
confidence = 0.5
paraphrases = ["Ferro Motors will manufacture electric cars for Nimbus Mobile"]

[[rumour]]
id = "nimbus-kestrel"
claim = "Nimbus Mobile is in partnership talks with Kestrel Auto to make electric cars"
entities = ["Nimbus Mobile|Nimbus", "Kestrel Auto|Kestrel"]
confidence = 0.5
"""

# (key, published, title, text, nimbus-ferro state after, nimbus-kestrel state after)
TIMELINE = [
    (
        "hedged",
        datetime(2024, 1, 10, 8, 0, tzinfo=UTC),
        "Nimbus Mobile may turn to Ferro Motors for its first EV",
        "Smartphone maker Nimbus Mobile could build its electric cars at a Ferro Motors plant, "
        "according to people familiar with the matter.\n"
        "The two companies have held early discussions, the people said.\n"
        "Read more: our EV coverage\n",
        "unconfirmed",
        "unconfirmed",
    ),
    (
        "no-comment",
        datetime(2024, 1, 12, 9, 30, tzinfo=UTC),
        "Nimbus Mobile shares climb 3.2%",
        "Shares of Nimbus Mobile Inc. rose 3.2% to HK$21.40 on Friday.\n"
        "Asked whether Ferro Motors would build electric cars for Nimbus Mobile, a Nimbus Mobile "
        "spokesperson declined to comment.\n",
        "unconfirmed",
        "unconfirmed",
    ),
    (
        "denial",
        datetime(2024, 1, 15, 7, 0, tzinfo=UTC),
        "Ferro Motors denies it will make cars for Nimbus Mobile",
        "Ferro Motors said in a statement on Monday that it has no plans to build electric cars "
        "for Nimbus Mobile.\n"
        "The carmaker's shares were flat.\n",
        "denied",
        "unconfirmed",
    ),
    (
        "other-pair",
        datetime(2024, 2, 1, 6, 0, tzinfo=UTC),
        "Orion Phones picks Kestrel Auto to build its first car",
        "Orion Phones will make its electric cars in a Kestrel Auto factory, the two companies "
        "said in a joint statement.\n"
        "Orion Phones signed a definitive agreement with Kestrel Auto on Thursday.\n",
        "denied",
        "unconfirmed",
    ),
    (
        "other-deal",
        datetime(2024, 2, 5, 6, 0, tzinfo=UTC),
        "Nimbus Mobile turns to Kestrel Auto after Ferro Motors rebuff",
        "Nimbus Mobile confirmed on Monday that it is in talks with Kestrel Auto to make "
        "electric cars.\n"
        "Nimbus Mobile said in a statement that the talks with Kestrel were at an early stage.\n",
        "denied",
        "confirmed",
    ),
    (
        "confirmation",
        datetime(2024, 3, 1, 10, 0, tzinfo=UTC),
        "Nimbus Mobile confirms car talks with Ferro Motors",
        "Nimbus Mobile confirmed on Friday that it is in talks with Ferro Motors to build its "
        "electric cars at a Ferro Motors plant.\n"
        "Ferro Motors said the discussions were at an early stage.\n",
        "confirmed",
        "confirmed",
    ),
    (
        "signed",
        datetime(2024, 4, 2, 10, 0, tzinfo=UTC),
        "Nimbus Mobile and Ferro Motors sign car manufacturing deal",
        "Nimbus Mobile and Ferro Motors signed a definitive agreement on Tuesday under which "
        "Ferro Motors will manufacture Nimbus electric cars, the companies said in a joint "
        "statement.\n"
        "Production is due to start in 2025.\n",
        "formalized",
        "confirmed",
    ),
    (
        "terminated",
        datetime(2024, 9, 20, 10, 0, tzinfo=UTC),
        "Nimbus Mobile ends Ferro Motors car deal",
        "Nimbus Mobile has terminated its car manufacturing agreement with Ferro Motors, the "
        "company said in a filing to the Hong Kong stock exchange.\n"
        "Nimbus Mobile will look for another partner.\n",
        "abandoned",
        "confirmed",
    ),
]
