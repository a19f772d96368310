"""Small helpers shared by the tests (not fixtures: plain functions)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (relative path -> digest), to prove nothing changed."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".corpus.lock"
    }


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` (creating folders) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


POLIS_COMMENTS = """timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body
1000,x,0,10,2,0,1,Build more bike lanes downtown.
2000,x,1,11,0,2,1,Lower taxes on small businesses.
3000,x,2,10,1,1,-1,Spam spam spam.
"""
POLIS_VOTES = """timestamp,datetime,comment-id,voter-id,vote
1,x,0,10,1
2,x,0,11,-1
3,x,0,11,1
4,x,1,10,-1
5,x,1,11,0
"""
POLIS_PARTICIPANTS = """participant,group-id,n-comments,n-votes,n-agree,n-disagree,0,1,2
10,0,2,2,1,1,1,-1,
11,1,1,2,1,0,1,0,
"""
POLIS_SUMMARY = """topic,Mobility in Testville
url,https://pol.is/example
conversation-description,"What should change, and why?"
"""


def polis_folder(root: Path, **overrides: str) -> Path:
    """A three-comment Polis export; ``overrides`` replace whole files by name (``comments``, ``votes``...)."""
    files = {
        "comments": POLIS_COMMENTS,
        "votes": POLIS_VOTES,
        "participants-votes": POLIS_PARTICIPANTS,
        "summary": POLIS_SUMMARY,
        **overrides,
    }
    for name, text in files.items():
        if text is not None:
            write(root / f"{name}.csv", text)
    return root


def generate(ws, *, debate_id: str, model="smollm2", progress=None, **options):
    """One generation run through the stage's entry point, returning its ``GenerateResult``.

    ``model`` is a spec (loaded by the stage) or a loaded model (handed over as ``models.generator``);
    ``options`` are the other fields of ``GenerationParams``.
    """
    from dembias.generation import GenerationParams, run
    from dembias.models.bundle import StageModels

    loaded = None if isinstance(model, str) else model
    params = GenerationParams(model=model if loaded is None else loaded.spec, **options)
    models = StageModels(generator=loaded)
    return run(ws, debate_id=debate_id, params=params, models=models, progress=progress).details


def dropped_topics(ws, debate_id: str, *, model_contains: str = "SmolLM2") -> list[int]:
    """The topics (noise left out) that the summary of the model named ``model_contains`` does not carry, read
    from the debate's latest pluralism run: which topics a demo summary carries moves with the map (UMAP/HDBSCAN
    releases), so tests read it instead of assuming it."""
    from dembias.workspace.runs import latest_run, read_run_table

    run_id = latest_run(ws, stage="pluralism", debate_id=debate_id).run_id
    outputs = read_run_table(ws, run_id, "outputs")
    (output_id,) = outputs.loc[outputs["model"].str.contains(model_contains), "output_id"]
    coverage = read_run_table(ws, run_id, "cluster_coverage")
    mine = coverage[(coverage["output_id"] == output_id) & (coverage["cluster"] >= 0)]
    return sorted(int(c) for c in mine.loc[~mine["covered"].astype(bool), "cluster"])
