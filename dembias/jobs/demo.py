"""Build the demo workspace from ``data/`` alone (``dembias demo``).

``data/demo.json`` lists the sources. Stages run in order; each later stage of the pipeline adds
is listed in :data:`DEMO_STAGES` as ``(name, function(workspace, manifest, progress))``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dembias.fidelity import interaction_runs
from dembias.fidelity import stage as fidelity_stage
from dembias.ingest import ingest_contributions, ingest_outputs, ingest_polis, ingest_sensemaker
from dembias.opinion_map import stage as opinion_map_stage
from dembias.pluralism import stage as pluralism_stage
from dembias.workspace.folder import Workspace
from dembias.workspace.stage import Progress

DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data"


def load_demo_manifest(data_dir: Path = DATA_DIR) -> dict[str, Any]:
    """The demo's source list (``data/demo.json``) with paths made absolute."""
    manifest = json.loads((data_dir / "demo.json").read_text(encoding="utf-8"))
    for entry in manifest.get("polis", []):
        entry["folder"] = str(data_dir / entry["folder"])
    for entry in manifest.get("contributions", []):
        entry["file"] = str(data_dir / entry["file"])
    for entry in manifest.get("sensemaker", []):
        entry["summary"] = str(data_dir / entry["summary"])
        entry["comments"] = str(data_dir / entry["comments"])
    manifest["outputs"] = [str(data_dir / p) for p in manifest.get("outputs", [])]
    manifest["interactions"] = [str(data_dir / p) for p in manifest.get("interactions", [])]
    return manifest


def ingest_demo_sources(ws: Workspace, manifest: dict[str, Any], progress: Progress) -> None:
    """Ingest the Polis conversations, the contribution files (make.org), the Sensemaker report and model outputs."""
    for entry in manifest["polis"]:
        progress(f"ingest polis {entry['debate_id']}")
        ingest_polis(
            ws,
            entry["folder"],
            debate_id=entry["debate_id"],
            country=entry.get("country"),
            language=entry.get("language"),
        )
    for entry in manifest.get("contributions", []):
        progress(f"ingest contributions {entry['debate_id']}")
        options = {k: v for k, v in entry.items() if k not in ("file", "columns")}
        ingest_contributions(ws, entry["file"], columns=entry.get("columns"), **options)
    for entry in manifest["sensemaker"]:
        progress(f"ingest sensemaker report for {entry['debate_id']}")
        ingest_sensemaker(ws, entry["summary"], debate_id=entry["debate_id"], comments_path=entry["comments"])
    for path in manifest["outputs"]:
        progress(f"ingest outputs {Path(path).name}")
        ingest_outputs(ws, path)


#: The demo build, stage by stage (each stage module of the pipeline is added here explicitly).
DEMO_STAGES: list[tuple[str, Callable[[Workspace, dict[str, Any], Progress], None]]] = [
    ("ingest", ingest_demo_sources),
    ("map", opinion_map_stage.demo_stage),
    ("pluralism", pluralism_stage.demo_stage),
    ("fidelity", fidelity_stage.demo_stage),
    ("interactions", interaction_runs.demo_stage),
]


def build_demo(ws: Workspace, *, force: bool = False, progress: Progress = print, data_dir: Path = DATA_DIR) -> None:
    """Build the demo workspace at ``ws`` (``force`` deletes an existing one first).

    The build happens in a sibling temporary folder that is renamed into place at the end, so an
    interrupted build never leaves a half-built workspace behind.
    """
    if ws.exists() and not force:
        raise FileExistsError(f"{ws.root} already holds a workspace; pass --force to rebuild it")
    manifest = load_demo_manifest(data_dir)
    staging = Workspace(ws.root.with_name(ws.root.name + ".building"))
    if staging.root.exists():
        shutil.rmtree(staging.root)
    try:
        for name, stage in DEMO_STAGES:
            progress(f"== {name}")
            stage(staging, manifest, progress)
        if ws.root.exists():
            shutil.rmtree(ws.root)
        staging.root.rename(ws.root)
    except BaseException:
        shutil.rmtree(staging.root, ignore_errors=True)
        raise
