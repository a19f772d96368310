"""One definition per concept: contribution selection, the small-cell threshold, the formula guard,
the embedder spec parser (exact outputs on three-row tables)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from dembias.errors import DembiasError
from dembias.ingest import ingest_polis
from dembias.models.embedders import EmbedderSpec, get_embedder, parse_embedder_spec, spec_from_manifest
from dembias.small_cells import MIN_CELL, is_small_cell
from dembias.workspace.contribution_selection import select_contributions
from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace
from tests.fakes import FakeEmbedder
from tests.helpers import polis_folder


@pytest.fixture
def ws(tmp_path) -> Workspace:
    ws = Workspace(tmp_path / "ws")
    ingest_polis(ws, polis_folder(tmp_path / "polis"), debate_id="d", country="US", language="en")
    return ws


def test_contribution_selection_rules_are_explicit_options(ws):
    con = open_corpus(ws)
    try:
        default = select_contributions(con, debate_id="d", columns=("contribution_id", "country", "language"))
        assert default.to_dict("records") == [
            {"contribution_id": "0", "country": "US", "language": "en"},
            {"contribution_id": "1", "country": "US", "language": "en"},
        ]  # comment 2 was moderated out; the debate's country fills the contributions'
        every = select_contributions(
            con, debate_id="d", include_rejected=True, columns=("contribution_id", "is_rejected")
        )
        assert every.to_dict("records") == [
            {"contribution_id": "0", "is_rejected": False},
            {"contribution_id": "1", "is_rejected": False},
            {"contribution_id": "2", "is_rejected": True},
        ]
        raw = select_contributions(con, debate_id="d", columns=("contribution_id", "country"), debate_defaults=False)
        assert raw["country"].isna().all()
        chosen = select_contributions(
            con, debate_id="d", include_rejected=True, ids=["2", "0"], columns=("contribution_id", "published_group")
        )
        assert chosen.to_dict("records") == [
            {"contribution_id": "0", "published_group": 0},
            {"contribution_id": "2", "published_group": 0},
        ]
        assert select_contributions(con, debate_id="d", ids=[], columns=("contribution_id",)).empty
        assert select_contributions(con, debate_id=["d", "other"], columns=("contribution_id",)).shape == (2, 1)
        with pytest.raises(DembiasError, match="unknown contribution column"):
            select_contributions(con, debate_id="d", columns=("contribution_id; DROP TABLE debates",))
    finally:
        con.close()


def test_the_stages_select_the_same_contributions(ws):
    from dembias.opinion_map.embed import load_contributions
    from dembias.read.queries import contribution_texts

    assert load_contributions(ws, "d")["contribution_id"].tolist() == ["0", "1"]
    assert load_contributions(ws, "d", include_rejected=True)["contribution_id"].tolist() == ["0", "1", "2"]
    from dembias.small_cells import withheld_label
    from dembias.workspace.contribution_selection import select_contributions
    from dembias.workspace.corpus import open_corpus

    con = open_corpus(ws)
    try:
        selected = select_contributions(
            con, debate_id="d", include_rejected=True, ids=["1"], columns=("contribution_id", "language", "country")
        )
    finally:
        con.close()
    assert selected.to_dict("records") == [{"contribution_id": "1", "language": "en", "country": "US"}]
    # a quote's country and language follow the one privacy rule: this debate has under 5 contributors per pair
    texts = contribution_texts(ws, debate_id="d", contribution_ids=["1"])
    assert texts.to_dict("records") == [
        {
            "contribution_id": "1",
            "language": withheld_label(),
            "country": withheld_label(),
            "text": "Lower taxes on small businesses.",
        }
    ]


def test_one_small_cell_threshold():
    assert MIN_CELL == 5
    assert is_small_cell(4) and not is_small_cell(5) and not is_small_cell(2, min_cell=2)
    assert is_small_cell(pd.Series([1, 5, 9]), min_cell=6).tolist() == [True, True, False]


def test_min_cell_and_its_old_name_k_give_the_same_interaction_view(tmp_path):
    from dembias.cli import app
    from tests.test_interactions import _log

    def view(flag: str, folder: str) -> dict:
        args = ["score", "interactions", "-w", str(tmp_path / folder), "--log", str(_log(tmp_path)), flag, "2"]
        result = CliRunner().invoke(app, [*args, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    old, new = view("-k", "old"), view("--min-cell", "new")
    assert old["params"]["min_cell"] == new["params"]["min_cell"] == 2
    assert old["rates"] == new["rates"]


def test_the_per_contribution_csv_goes_through_the_export_guard(tmp_path):
    from dembias.cli.pluralism_commands import write_per_contribution

    frame = pd.DataFrame({"=cmd": ["\u2212 1+1", "@SUM(A1)", "plain"], "n": [1, 2, 3]})
    write_per_contribution(tmp_path / "p.csv", frame)
    back = pd.read_csv(tmp_path / "p.csv", dtype=str, keep_default_na=False)
    assert back.columns.tolist() == ["'=cmd", "n"]  # column names guarded too
    assert back.iloc[:, 0].tolist() == ["'\u2212 1+1", "'@SUM(A1)", "plain"]  # a minus lookalike is a formula


def test_one_embedder_spec_parser():
    assert parse_embedder_spec(None) == EmbedderSpec("use-multilingual")
    assert parse_embedder_spec("sentence-transformers:BAAI/bge-m3") == EmbedderSpec(
        "sentence-transformers", "BAAI/bge-m3"
    )
    assert parse_embedder_spec("fake:8") == EmbedderSpec("fake", "8")  # registered by tests.fakes
    assert parse_embedder_spec("BAAI/bge-m3", bare_is_model=True) == EmbedderSpec(
        "sentence-transformers", "BAAI/bge-m3"
    )
    with pytest.raises(DembiasError, match="unknown embedder 'BAAI/bge-m3'"):
        parse_embedder_spec("BAAI/bge-m3")
    # a run's manifest names its embedder back: the model id now carries its prefix (no double prefix)
    assert spec_from_manifest({"embedder": "sentence-transformers:/m/x"}) == "sentence-transformers:/m/x"
    assert spec_from_manifest({"embedder": "BAAI/bge-m3"}) == "sentence-transformers:BAAI/bge-m3"
    assert spec_from_manifest({}) == "use-multilingual"
    fake = FakeEmbedder(dim=16, noise=0.3, seed=2)
    rebuilt = get_embedder(spec_from_manifest({"embedder": fake.model_id, "revision": fake.revision}))
    assert (rebuilt.dim, rebuilt.noise, rebuilt.seed) == (16, 0.3, 2)
    assert (rebuilt.embed(["a::x"]) == fake.embed(["a::x"])).all()


def test_an_embedder_that_cannot_be_loaded_offline_is_a_clear_error(monkeypatch) -> None:
    """A run's embedder that is not in the cache nor registered (here the tests' 'fake', unregistered) names itself."""
    from dembias.errors import DembiasError
    from dembias.models.embedders import get_embedder, spec_from_manifest

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = spec_from_manifest({"embedder": "no-such-embedder-xyz"})
    assert spec == "sentence-transformers:no-such-embedder-xyz"
    with pytest.raises(
        DembiasError, match=r"cannot load the embedder 'no-such-embedder-xyz'.*DEMBIAS_EMBEDDER_PLUGINS"
    ):
        get_embedder(spec, device="cpu")
