"""The workspace folder and the paths of the files it holds.

A workspace is a folder::

    corpus.duckdb          ingested sources (debates, contributions, votes, outputs, ...)
    runs/<run_id>.duckdb   one file per derived stage run (embedding, mapping, scoring, ...)
    runs/<run_id>.json     that run's manifest, readable without opening any database
    state.duckdb           the dashboard's own state (annotations, job requests)
    pseudonym.key          the HMAC key for author pseudonyms (never inside a database)

The corpus is opened, migrated and written in :mod:`dembias.workspace.corpus`, runs in
:mod:`dembias.workspace.runs`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from dembias.errors import StoreError

DEFAULT_WORKSPACE = Path("data/workspace")
CORPUS_FILE = "corpus.duckdb"
RUNS_DIR = "runs"
STATE_FILE = "state.duckdb"
KEY_FILE = "pseudonym.key"
LOCK_FILE = ".corpus.lock"


RUN_ID_PATTERN = re.compile(r"^[a-z]+-[0-9]{8}T[0-9]{6}-[0-9a-f]{8}$")


@dataclass(frozen=True)
class Workspace:
    """A workspace folder and the paths of the files it holds."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def resolve(cls, path: str | os.PathLike[str] | None = None) -> Workspace:
        """Workspace at ``path``, else ``$DEMBIAS_WORKSPACE``, else ``data/workspace``."""
        chosen = path or os.environ.get("DEMBIAS_WORKSPACE") or DEFAULT_WORKSPACE
        return cls(Path(chosen).expanduser().resolve())

    @property
    def corpus_path(self) -> Path:
        return self.root / CORPUS_FILE

    @property
    def runs_dir(self) -> Path:
        return self.root / RUNS_DIR

    @property
    def state_path(self) -> Path:
        return self.root / STATE_FILE

    @property
    def key_path(self) -> Path:
        return self.root / KEY_FILE

    def exists(self) -> bool:
        """Whether the workspace has a corpus database."""
        return self.corpus_path.exists()

    def run_path(self, run_id: str) -> Path:
        """Path of the database file of run ``run_id`` (validated, so it cannot escape the folder)."""
        if not RUN_ID_PATTERN.match(run_id):
            raise StoreError(f"not a run id: {run_id!r}")
        return self.runs_dir / f"{run_id}.duckdb"
