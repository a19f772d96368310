"""The embedding cache's lookup: which text hashes an embedding run holds, and their vectors.

An embedding run (stage ``embedding``, written by :mod:`dembias.opinion_map.embed` through
:func:`dembias.workspace.runs.write_run`) has one table ``embeddings(text_sha256 VARCHAR, vector FLOAT[dim])``.
"""

from __future__ import annotations

import pyarrow as pa

from dembias.workspace.folder import Workspace
from dembias.workspace.runs import open_run

SQL_CACHED_ROWS = "SELECT {columns} FROM embeddings e JOIN wanted w ON e.text_sha256 = w.text_sha256"


def cached_embedding_rows(ws: Workspace, run_id: str, wanted: pa.Table, *, with_vectors: bool) -> pa.Table:
    """Rows of embedding run ``run_id`` whose ``text_sha256`` is in ``wanted`` (a one-column ``text_sha256`` table).

    Columns ``text_sha256`` and, when ``with_vectors``, ``vector``; in the run's order, as Arrow.
    """
    columns = "e.text_sha256, e.vector" if with_vectors else "e.text_sha256"
    con = open_run(ws, run_id)
    try:
        con.register("wanted", wanted)
        return con.sql(SQL_CACHED_ROWS.format(columns=columns)).to_arrow_table()
    finally:
        con.close()
