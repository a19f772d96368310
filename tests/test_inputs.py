"""Real exports as published, checked inputs: skipped rows counted, bad values refused by name."""

from __future__ import annotations

import pytest

from dembias.errors import IngestError
from dembias.ingest import ingest_contributions, ingest_polis
from dembias.validation import ParameterError, check_range, check_share, normalise_country, normalise_language
from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace
from tests.helpers import POLIS_COMMENTS, POLIS_VOTES, polis_folder, tree_digest, write

# comment 3 was rejected by moderators and is empty, as in compdemocracy's football-concussions export;
# voters saw it before it was rejected, and one vote names a comment the export does not list
COMMENTS_WITH_EMPTY_REJECTED = POLIS_COMMENTS + "4000,x,3,12,0,1,-1,\n"
VOTES_ON_IT = POLIS_VOTES + "6,x,3,10,-1\n7,x,3,11,0\n8,x,42,11,1\n"


def test_a_rejected_empty_comment_and_its_votes_are_skipped_and_counted(tmp_path):
    ws = Workspace(tmp_path / "ws")
    export = polis_folder(tmp_path / "export", comments=COMMENTS_WITH_EMPTY_REJECTED, votes=VOTES_ON_IT)
    counts = ingest_polis(ws, export, debate_id="t", language="en")
    assert counts == {
        "contributions": 3,
        "vote_rows": 8,
        "votes": 4,
        "skipped_rejected_empty_comments": 1,
        "skipped_votes_on_skipped_comments": 2,
        "skipped_votes_on_unknown_comments": 1,
    }
    con = open_corpus(ws)
    try:
        ids = [r[0] for r in con.execute("SELECT contribution_id FROM contributions ORDER BY 1").fetchall()]
        voted = {r[0] for r in con.execute("SELECT contribution_id FROM votes").fetchall()}
    finally:
        con.close()
    assert ids == ["0", "1", "2"] and voted == {"0", "1"}


def test_an_empty_comment_that_was_not_rejected_is_still_refused(tmp_path):
    export = polis_folder(tmp_path / "export", comments=POLIS_COMMENTS + "4000,x,3,12,0,1,1,\n")
    with pytest.raises(IngestError, match="empty comment text") as caught:
        ingest_polis(Workspace(tmp_path / "ws"), export)
    assert caught.value.row == 5


def test_a_file_with_no_rows_is_refused_without_creating_a_debate(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ingest_contributions(ws, write(tmp_path / "one.csv", "id,text\n1,Hello there.\n"), debate_id="kept", language="en")
    before = tree_digest(ws.root)
    for name, text in {"header.csv": "id,text\n", "empty.jsonl": ""}.items():
        with pytest.raises(IngestError, match=r"no contributions|no rows|empty") as caught:
            ingest_contributions(ws, write(tmp_path / name, text), debate_id="empty", language="en")
        assert caught.value.file.endswith(name)
        assert tree_digest(ws.root) == before
    export = polis_folder(
        tmp_path / "export", comments=POLIS_COMMENTS.splitlines()[0] + "\n", votes=None, **{"participants-votes": None}
    )
    with pytest.raises(IngestError, match="no contributions"):
        ingest_polis(ws, export, debate_id="empty")
    assert tree_digest(ws.root) == before


@pytest.mark.parametrize(
    ("given", "expected"),
    [("fr", "fr"), ("FR", "fr"), ("fr-fr", "fr-FR"), ("en_us", "en-US"), ("eng", "en"), ("zh-hant", "zh-Hant")],
)
def test_languages_are_normalised_to_bcp47(given, expected):
    assert normalise_language(given) == expected


@pytest.mark.parametrize("given", ["xx-notalang", "French", "qq", "", "12"])
def test_bad_languages_are_refused_naming_the_accepted_forms(given):
    with pytest.raises(ParameterError, match="BCP 47"):
        normalise_language(given)


@pytest.mark.parametrize(("given", "expected"), [("France", "FR"), ("fr", "FR"), ("FRA", "FR"), ("austria", "AT")])
def test_countries_are_normalised_to_iso_alpha2(given, expected):
    assert normalise_country(given) == expected


@pytest.mark.parametrize("given", ["Frankreich", "XX", "Fr4nce", ""])
def test_bad_countries_are_refused_naming_the_accepted_forms(given):
    with pytest.raises(ParameterError, match="ISO 3166-1"):
        normalise_country(given)


def test_ranges_name_the_parameter_and_the_interval():
    with pytest.raises(ParameterError, match=r"minority_share must be in \(0, 1\), got 1.5"):
        check_share("minority_share", 1.5)
    with pytest.raises(ParameterError, match="resamples must be >= 1, got 0"):
        check_range("resamples", 0, low=1)
    with pytest.raises(ParameterError, match="must be a number"):
        check_range("budget", float("nan"), low=1)
    assert check_share("share", 0.2) == 0.2 and check_range("k", 5, low=2, high=5) == 5


def test_country_and_language_columns_and_options_are_normalised(tmp_path):
    ws = Workspace(tmp_path / "ws")
    path = write(
        tmp_path / "c.csv",
        "id,text,country,language\n1,Bike lanes now.,France,FR\n2,Lower taxes.,fra,en_gb\n3,Plus de parcs.,fr,\n",
    )
    ingest_contributions(ws, path, debate_id="d", columns={"country": "country", "language": "language"})
    ingest_polis(ws, polis_folder(tmp_path / "export"), debate_id="p", country="Austria", language="DE")
    con = open_corpus(ws)
    try:
        rows = con.execute("SELECT country, language FROM contributions WHERE debate_id = 'd' ORDER BY 1, 2").fetchall()
        debate = con.execute("SELECT country, language FROM debates WHERE debate_id = 'p'").fetchone()
    finally:
        con.close()
    assert [r[0] for r in rows] == ["FR", "FR", "FR"] and {r[1] for r in rows} >= {"fr", "en-GB"}
    assert debate == ("AT", "de")


def test_bad_country_in_a_row_names_file_row_and_field(tmp_path):
    ws = Workspace(tmp_path / "ws")
    path = write(tmp_path / "c.csv", "id,text,land\n1,Bike lanes now.,FR\n2,Lower taxes.,Narnia\n")
    with pytest.raises(IngestError, match="Narnia") as caught:
        ingest_contributions(ws, path, debate_id="d", language="en", columns={"country": "land"})
    assert (caught.value.row, caught.value.field) == (3, "land")
    with pytest.raises(ParameterError, match="BCP 47"):
        ingest_polis(ws, polis_folder(tmp_path / "export"), language="xx-notalang")


@pytest.mark.parametrize(
    "args",
    [
        ["map", "--min-cluster-size", "0"],
        ["map", "--seeds", "0"],
        ["map", "--vote-engine", "magic"],
        ["score", "pluralism", "--minority-share", "1.5"],
        ["score", "pluralism", "--resamples", "0"],
        ["score", "baselines", "--budget", "0"],
        ["ingest", "polis", "x", "--country", "Narnia"],
    ],
)
def test_cli_refuses_out_of_range_options(tmp_path, args):
    from typer.testing import CliRunner

    from dembias.cli import app

    result = CliRunner().invoke(app, [*args, "--workspace", str(tmp_path / "ws")])
    assert result.exit_code != 0
    message = (result.output or "") + (str(result.exception) if result.exception else "")
    assert any(word in message for word in ("Invalid value", "must be", "is not", "ISO 3166")), message


def test_python_api_refuses_out_of_range_parameters():
    from dembias.fidelity import FidelityParams
    from dembias.generation import GenerationParams
    from dembias.models.causal_lm import DecodingParams
    from dembias.opinion_map.params import MapParams

    for bad in (
        {"min_cluster_size": 0},
        {"n_seeds": 0},
        {"max_cluster_share": 1.5},
        {"n_neighbors": 1},
        {"vote_engine": "magic"},
    ):
        with pytest.raises(ParameterError):
            MapParams(**bad)
    for bad in ({"max_new_tokens": 0}, {"top_p": 1.5}, {"temperature": -1.0}, {"repetition_penalty": 0.0}):
        with pytest.raises(ParameterError):
            DecodingParams(**bad)
    with pytest.raises(ParameterError, match="n_resamples must be >= 1"):
        FidelityParams(n_resamples=0)
    with pytest.raises(ParameterError, match="limit must be >= 1"):
        GenerationParams(task="summary", limit=0)
    with pytest.raises(ParameterError, match="BCP 47"):
        GenerationParams(task="translation", target_language="xx-notalang")
