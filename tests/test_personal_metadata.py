"""Personal data in unmapped metadata columns: found by name or by value, pseudonymised by default."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from dembias.cli import app
from dembias.ingest import ingest_contributions
from dembias.ingest.personal import name_is_personal, values_are_personal
from dembias.ingest.pseudonym import load_key, pseudonymise
from dembias.validation import ParameterError
from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace
from tests.helpers import write

# a Decidim comments export: author/id is mapped (pseudonymised), author/name and the contact are not
DECIDIM = (
    "id,body,author/id,author/name,contact,region,country_name\n"
    "1,More bike lanes please.,17,Marie Dupont,marie.dupont@example.org,Nord,France\n"
    "2,Lower the rents.,18,Jean Martin,+33 6 12 34 56 78,Sud,France\n"
    "3,Plant trees.,19,Ana Silva,,Nord,Portugal\n"
)
MAPPING = {"id": "id", "text": "body", "author": "author/id"}


def _metadata(ws: Workspace) -> list[dict]:
    con = open_corpus(ws)
    try:
        rows = con.execute("SELECT metadata FROM contributions ORDER BY contribution_id").fetchall()
    finally:
        con.close()
    return [json.loads(r[0]) for r in rows]


@pytest.mark.parametrize(
    "column",
    ["author/name", "email", "E-Mail", "Telefon", "prénom", "Nachname", "nombre_usuario", "cognome", "naam", "phone"],
)
def test_personal_column_names_in_several_languages(column):
    assert name_is_personal(column)


@pytest.mark.parametrize("column", ["region", "country_name", "category", "age_group", "nom du projet", "stance"])
def test_other_column_names_are_not_personal(column):
    assert not name_is_personal(column)


def test_values_with_emails_or_phones_are_personal():
    assert values_are_personal(["a@b.org", "", "x", "y"])
    assert values_are_personal(["+49 30 1234567", "none"])
    assert not values_are_personal(["North", "South", "2040", "20%"])


def test_names_emails_and_phones_are_pseudonymised_by_default(tmp_path):
    ws = Workspace(tmp_path / "ws")
    counts = ingest_contributions(ws, write(tmp_path / "d.csv", DECIDIM), debate_id="d", language="en", columns=MAPPING)
    assert counts["d"]["personal_data"] == {"pseudonymised": ["author/name", "contact"]}
    meta = _metadata(ws)
    key = load_key(ws.key_path)
    assert meta[0]["author/name"] == pseudonymise(key, "d", "Marie Dupont")
    assert meta[1]["contact"] == pseudonymise(key, "d", "+33 6 12 34 56 78")
    assert "contact" not in meta[2]  # empty stays absent
    assert meta[0]["region"] == "Nord" and meta[0]["country_name"] == "France"  # not personal: kept
    stored = (ws.corpus_path).read_bytes()
    for clear in (b"Marie Dupont", b"marie.dupont@example.org", b"12 34 56 78"):
        assert clear not in stored


def test_personal_columns_can_be_dropped_or_kept_explicitly(tmp_path):
    dropped = Workspace(tmp_path / "a")
    counts = ingest_contributions(
        dropped, write(tmp_path / "d.csv", DECIDIM), debate_id="d", language="en", columns=MAPPING, personal_data="drop"
    )
    assert counts["d"]["personal_data"] == {"dropped": ["author/name", "contact"]}
    assert all("author/name" not in m and "contact" not in m for m in _metadata(dropped))
    kept = Workspace(tmp_path / "b")
    counts = ingest_contributions(
        kept, tmp_path / "d.csv", debate_id="d", language="en", columns=MAPPING, personal_data="keep"
    )
    assert counts["d"]["personal_data"] == {"kept_in_clear": ["author/name", "contact"]}
    assert _metadata(kept)[0]["author/name"] == "Marie Dupont"
    with pytest.raises(ParameterError, match="personal_data"):
        ingest_contributions(Workspace(tmp_path / "c"), tmp_path / "d.csv", debate_id="d", personal_data="hide")


def test_cli_says_which_columns_it_pseudonymised(tmp_path):
    path = write(tmp_path / "d.csv", DECIDIM)
    args = ["ingest", "contributions", str(path), "-w", str(tmp_path / "ws"), "--debate", "d", "--language", "en"]
    for field, column in MAPPING.items():
        args += ["--map", f"{field}={column}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "personal data in metadata columns author/name, contact: pseudonymised" in result.stderr
    assert json.loads(result.stdout)["d"]["personal_data"] == {"pseudonymised": ["author/name", "contact"]}
