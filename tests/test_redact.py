"""Redaction of personal data: exact outputs in five languages, false-positive guards, the corpus and the CLI."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import dembias.cli.redact_commands  # noqa: F401  (registers `dembias redact` on the app)
from dembias.cli import app
from dembias.ingest import ingest_contributions, ingest_outputs
from dembias.ingest.redact import PATTERN_NAMES, redact_corpus, redact_text
from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace
from tests.helpers import tree_digest, write

# (input, expected output) per language; every personal datum replaced, every other number kept
CASES = {
    "en": [
        ("Call me on (555) 123-4567 or 555-123-4567.", "Call me on [PHONE] or [PHONE]."),
        ("From abroad: +1 (555) 123-4567, +44 20 7946 0958.", "From abroad: [PHONE], [PHONE]."),
        ("Write to jane.doe@example.org, or see https://facebook.com/jane.doe.", "Write to [EMAIL], or see [URL]."),
        ("My card 4111 1111 1111 1111 was charged $1,250.", "My card [CARD] was charged $1,250."),
        ("(see www.example.org/users/42?ref=7)", "(see [URL])"),
        ("Bank: GB82 WEST 1234 5698 7654 32, thanks", "Bank: [IBAN], thanks"),
    ],
    "fr": [
        ("Appelez-moi au 06 12 34 56 78 ou au +33 6 12 34 56 78.", "Appelez-moi au [PHONE] ou au [PHONE]."),
        (
            "Depuis l'étranger : +33 (0)1 23 45 67 89 ; numéro vert 0800 123 456.",
            "Depuis l'étranger : [PHONE] ; numéro vert [PHONE].",
        ),
        ("Mon mail : jean.dupont@exemple.fr.", "Mon mail : [EMAIL]."),
        ("Écrivez à marie (arobase) orange (point) fr svp", "Écrivez à [EMAIL] svp"),
        ("RIB : FR76 3000 6000 0112 3456 7890 189", "RIB : [IBAN]"),
    ],
    "de": [
        ("Ruf an: +49 30 1234567 oder 030/1234567.", "Ruf an: [PHONE] oder [PHONE]."),
        ("Handy +43 664 1234567 oder 0664 1234567", "Handy [PHONE] oder [PHONE]"),
        ("Mail an jürgen.müller@beispiel.de oder max (at) gmx (punkt) de", "Mail an [EMAIL] oder [EMAIL]"),
        ("IBAN DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX", "IBAN [IBAN] BIC COBADEFFXXX"),
    ],
    "it": [
        ("Chiamami al 333 1234567 o al 347 123 4567.", "Chiamami al [PHONE] o al [PHONE]."),
        ("Ufficio di Roma: 06 1234 5678, Milano 02 12345678.", "Ufficio di Roma: [PHONE], Milano [PHONE]."),
        ("Scrivete a mario.rossi@esempio.it", "Scrivete a [EMAIL]"),
        ("IBAN IT60 X054 2811 1010 0000 0123 456", "IBAN [IBAN]"),
    ],
    "es": [
        ("Llámame al 612 34 56 78 o al +34 612 345 678.", "Llámame al [PHONE] o al [PHONE]."),
        ("Oficina en Madrid: 91 123 45 67", "Oficina en Madrid: [PHONE]"),
        ("Correo: maría.garcía@ejemplo.es; web http://ejemplo.es/~maria", "Correo: [EMAIL]; web [URL]"),
        ("Cuenta ES91 2100 0418 4502 0005 1332.", "Cuenta [IBAN]."),
    ],
}

# numbers that are not personal data, in the same five languages: left exactly as they are
UNCHANGED = [
    "By 2040, 20% of the budget (1.5 °C target) goes to 3 parks; 12,500 people signed.",
    "Population 2 034 567 890 people; between 1990 and 2024; +20 000 jobs; 3.14159.",
    "Le budget est de 3 000 000 000 euros, soit 0,5 % du PIB, le 01/02/2024 à 10:30.",
    "Le loyer passe de 06 12 34 56 78 € ? Non : 612 345 678 habitants, 75001 Paris.",
    "Bis 2040 pflanzen wir 3 Bäume, 1.5 °C, 20%, 12 500 €, 1 000 000 Menschen.",
    "Am 01.02.2024 um 10:30, Art. 12 Abs. 3 GG, 2019-2024, Tempo 30, 8 000 000 Tonnen CO2.",
    "Nel 2030 il 45% dei 60 000 000 di abitanti; 1.234.567 voti; legge 241/1990.",
    "En 2023 hubo 47 385 107 habitantes, un 3,5 % más; 1.000.000 de euros.",
    "Fake IBAN DE00 1234 5678 9012 3456 78 and a non-Luhn 4111111111111112.",
    "Ratio 1:1000, ISBN 978-3-16-148410-0, version 2.10.3, 10^12.",
    # cited sources are content, not personal data (and digits inside them are not phone numbers)
    "Siehe https://www.umweltzeichen.at/bildung und www.freshwaterrescueplan.org/the-plan/.",
    "Source : https://news.example.com/article-0612345678.html (https://en.wikipedia.org/wiki/Foo_(bar)).",
    "Watch https://www.youtube.com/watch?v=abc or see https://twitter.com/ itself.",
]


@pytest.mark.parametrize(
    ("text", "expected"), [pair for pairs in CASES.values() for pair in pairs], ids=lambda v: v[:30]
)
def test_redacts_exactly(text, expected):
    assert redact_text(text).text == expected


@pytest.mark.parametrize("text", UNCHANGED, ids=lambda v: v[:30])
def test_leaves_ordinary_numbers_alone(text):
    result = redact_text(text)
    assert result.text == text, result.matches
    assert not result.changed


def test_counts_matches_and_pattern_choice():
    text = "a@b.co, +33 6 12 34 56 78 and 06 12 34 56 78, https://twitter.com/jdoe"
    result = redact_text(text)
    assert dict(result.counts) == {"url": 1, "email": 1, "phone": 2}
    assert result.matches[0] == ("url", "https://twitter.com/jdoe")
    only = redact_text(text, patterns=["email"])
    assert only.text == "[EMAIL], +33 6 12 34 56 78 and 06 12 34 56 78, https://twitter.com/jdoe"
    with pytest.raises(ValueError, match="unknown redaction patterns"):
        redact_text(text, patterns=["names"])


def test_an_email_inside_a_url_is_one_url_and_a_url_host_in_an_email_is_an_email():
    assert redact_text("https://x.org/?to=a@b.com").text == "[URL]"
    assert redact_text("jean@www.example.com").text == "[EMAIL]"


@pytest.mark.parametrize(
    "url",
    [
        "https://www.linkedin.com/in/jane-doe-123/",
        "https://medium.com/@jane",
        "https://user:secret@host.org/x",
        "https://example.org/page?email=x",
        "https://forum.example.org/members/4711",
        "https://mastodon.social/@jane",
    ],
)
def test_personal_urls_are_redacted(url):
    assert redact_text(f"voir {url} merci").text == "voir [URL] merci"


def test_redaction_is_idempotent():
    once = redact_text(" ".join(text for pairs in CASES.values() for text, _ in pairs)).text
    assert redact_text(once).text == once


# --------------------------------------------------------------------------------------------------
# the corpus


@pytest.fixture
def ws(tmp_path):
    workspace = Workspace(tmp_path / "ws")
    rows = [
        {"id": "1", "text": "Call me on 06 12 34 56 78 or mail a.b@example.fr"},
        {"id": "2", "text": "Plant 3 trees by 2040, 20% more."},
        {"id": "3", "text": "IBAN DE89 3704 0044 0532 0130 00 for donations"},
    ]
    path = write(tmp_path / "c.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    ingest_contributions(workspace, path, debate_id="d1", language="en")
    ingest_contributions(workspace, path, debate_id="d2", language="en")
    outputs = {"debate_id": "d1", "task": "summary", "model": "m", "text": "One says call 06 12 34 56 78. Fine."}
    ingest_outputs(workspace, write(tmp_path / "o.jsonl", json.dumps(outputs) + "\n"))
    return workspace


def texts(ws: Workspace, debate: str) -> dict[str, str]:
    con = open_corpus(ws)
    try:
        return dict(
            con.execute("SELECT contribution_id, text FROM contributions WHERE debate_id = ?", [debate]).fetchall()
        )
    finally:
        con.close()


def test_redact_corpus_rewrites_one_debate_and_records_counts(ws):
    [result] = redact_corpus(ws, debate_ids=["d1"])
    assert result.counts == {"url": 0, "email": 1, "iban": 1, "card": 0, "phone": 3}  # 1 contribution, output, unit
    assert result.texts_changed == {"contributions": 2, "outputs": 1, "output_units": 1, "output_prompts": 0}
    assert texts(ws, "d1") == {
        "1": "Call me on [PHONE] or mail [EMAIL]",
        "2": "Plant 3 trees by 2040, 20% more.",
        "3": "IBAN [IBAN] for donations",
    }
    assert texts(ws, "d2")["1"] == "Call me on 06 12 34 56 78 or mail a.b@example.fr"  # other debate untouched
    con = open_corpus(ws)
    try:
        output = con.execute("SELECT text FROM outputs").fetchone()[0]
        units = [t for (t,) in con.execute("SELECT text FROM output_units ORDER BY unit_index").fetchall()]
        extra = json.loads(con.execute("SELECT extra FROM debates WHERE debate_id = 'd1'").fetchone()[0])
        extra2 = con.execute("SELECT extra FROM debates WHERE debate_id = 'd2'").fetchone()[0]
    finally:
        con.close()
    assert output == "One says call [PHONE]. Fine."
    assert units == ["One says call [PHONE].", "Fine."]
    assert extra["redaction"]["counts"] == result.counts
    assert extra["redaction"]["total_counts"] == result.counts
    assert extra["redaction"]["patterns"] == list(PATTERN_NAMES)
    assert "redaction" not in json.loads(extra2 or "{}")
    [again] = redact_corpus(ws, debate_ids=["d1"])  # nothing left; the totals keep the first run
    assert sum(again.counts.values()) == 0
    con = open_corpus(ws)
    try:
        extra = json.loads(con.execute("SELECT extra FROM debates WHERE debate_id = 'd1'").fetchone()[0])
    finally:
        con.close()
    assert extra["redaction"]["total_counts"] == result.counts


def test_dry_run_and_unknown_debate_write_nothing(ws):
    before = tree_digest(ws.root)
    results = redact_corpus(ws, dry_run=True)
    assert [r.debate_id for r in results] == ["d1", "d2"]
    assert results[1].counts["phone"] == 1 and not results[1].written
    assert results[0].examples[0] == {
        "table": "contributions",
        "pattern": "email",  # patterns run in order (url, email, iban, card, phone): the first match shown
        "before": "… me on 06 12 34 56 78 or mail a.b@example.fr",  # 30 characters either side
    }
    with pytest.raises(ValueError, match="unknown debates"):
        redact_corpus(ws, debate_ids=["nope"])
    assert tree_digest(ws.root) == before


def test_cli_dry_run_then_redact(ws):
    runner = CliRunner()
    dry = runner.invoke(app, ["redact", "--dry-run", "--debate", "d2", "-w", str(ws.root)])
    assert dry.exit_code == 0, dry.output
    assert "d2: would replace email 1, iban 1, phone 1 (2 texts)" in dry.output
    assert texts(ws, "d2")["3"].startswith("IBAN DE89")
    done = runner.invoke(app, ["redact", "--json", "-w", str(ws.root)])
    assert done.exit_code == 0, done.output
    payload = json.loads(done.stdout)
    assert [(r["debate_id"], r["counts"]["phone"], r["written"]) for r in payload] == [("d1", 3, True), ("d2", 1, True)]
    assert texts(ws, "d2")["3"] == "IBAN [IBAN] for donations"


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.lists(st.sampled_from([*[t for pairs in CASES.values() for t, _ in pairs], *UNCHANGED]), max_size=3), st.text()
)
def test_any_text_is_redacted_without_error_and_idempotently(samples, noise):
    text = noise.join(samples) + noise
    once = redact_text(text)
    assert redact_text(once.text).text == once.text
    placeholders = sum(once.text.count(p) - text.count(p) for p in ("[URL]", "[EMAIL]", "[IBAN]", "[CARD]", "[PHONE]"))
    assert placeholders == sum(once.counts.values()) == len(once.matches)


ORIGINALS = [b"a.b@example.fr", b"06 12 34 56 78", b"DE89 3704 0044 0532 0130 00", b"4111 1111 1111 1111"]


def test_redaction_removes_the_originals_from_the_file_bytes(tmp_path):
    """Not only rows updated: the corpus file is rewritten, so no free block keeps a replaced text."""
    workspace = Workspace(tmp_path / "ws")
    rows = [
        {
            "id": str(i),
            "text": f"Mail a.b@example.fr, call 06 12 34 56 78, IBAN DE89 3704 0044 0532 0130 00, "
            f"card 4111 1111 1111 1111 (message {i})",
        }
        for i in range(200)
    ]
    path = write(tmp_path / "c.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    ingest_contributions(workspace, path, debate_id="d1", language="en")
    record = {
        "debate_id": "d1",
        "task": "summary",
        "model": "m",
        "text": "Mail a.b@example.fr.",
        "prompt": "Mail a.b@example.fr",
    }
    ingest_outputs(workspace, write(tmp_path / "o.jsonl", json.dumps(record) + "\n"))
    before = workspace.corpus_path.read_bytes()
    assert all(o in before for o in ORIGINALS)  # a small corpus stores them as they are: the test can fail
    runner = CliRunner()
    done = runner.invoke(app, ["redact", "--json", "-w", str(workspace.root)])
    assert done.exit_code == 0, done.output
    data = workspace.corpus_path.read_bytes()
    assert [o for o in ORIGINALS if o in data] == []
    assert not any(o.decode() in done.output for o in ORIGINALS)  # the report shows no original snippet
    [result] = json.loads(done.stdout)
    assert result["texts_changed"]["output_prompts"] == 1 and all("before" not in e for e in result["examples"])
    assert "[EMAIL]" in result["examples"][0]["after"]
    assert sorted(p.name for p in workspace.root.iterdir() if ".tmp." in p.name) == []  # no copy left behind
    assert texts(workspace, "d1")["0"].startswith("Mail [EMAIL], call [PHONE], IBAN [IBAN], card [CARD]")


def test_the_documented_url_examples_are_redacted():
    """docs/privacy.md lists bare profiles (no scheme, no www) as personal URLs; the URL pattern missed them."""
    cases = {
        "see facebook.com/jane.doe now.": "see [URL] now.",
        "twitter.com/jane": "[URL]",
        "on mastodon.social/@jane!": "on [URL]!",
        "ask linkedin.com/in/jane-doe": "ask [URL]",
        "see umweltzeichen.at/bildung": "see umweltzeichen.at/bildung",  # a cited source stays
        "facebook.com is great": "facebook.com is great",
    }
    assert {text: redact_text(text).text for text in cases} == cases
