"""The one shape every stage has.

Every stage package (``opinion_map``, ``generation``, ``pluralism``, ``fidelity``) exposes, in
``dembias/<stage>/stage.py`` and re-exported as ``dembias.<stage>.run``::

    run(ws, *, debate_id, params, models=None, progress=None, provenance=None) -> RunInfo

- ``params``: the stage's frozen parameter dataclass (``MapParams``, ``GenerationParams``,
  ``PluralismParams``, ``FidelityParams``). It holds *every* option that shapes the result, and every one
  of its fields appears in the run's manifest (the stage's ``"params"`` record, beside the debate's corpus
  fingerprint and the package versions), so a run can be re-made from its manifest alone;
  :func:`params_record` turns a params object into plain JSON values for that.
- ``models``: a :class:`dembias.models.StageModels` of models already loaded (a job or a benchmark
  reuses them across debates); ``None`` or a missing model: the stage loads what ``params`` names.
- ``progress``: a callable that receives one-line messages (:data:`Progress`); ``None`` is silent.
- ``provenance``: who asked for the run (a job, a benchmark spec), recorded in the manifest as given;
  it never changes a number.
- Returns the landed run's :class:`~dembias.workspace.runs.RunInfo`; ``RunInfo.details`` carries what
  the stage computed in memory for a caller that prints it (the CLI's JSON). A stage with nothing to
  do raises :class:`~dembias.errors.NothingToDo` with a message saying why (a caller looping over
  debates catches it and goes on, as the CLI did before).

The CLI, the demo build, the job worker, the benchmark runner and the notebooks call these entry
points and nothing below them; ``tests/test_stage_contract.py`` checks the signature of each.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

Progress = Callable[[str], None]

#: the stage packages and the name of the run each writes
STAGES: dict[str, str] = {
    "opinion_map": "mapping",
    "generation": "generation",
    "pluralism": "pluralism",
    "fidelity": "fidelity",
}

#: the keyword-only parameters of every stage's ``run``, in order
ENTRY_POINT_PARAMETERS = ("debate_id", "params", "models", "progress", "provenance")


def silent(_message: str) -> None:
    """A progress callback that says nothing."""


def progress_or_silent(progress: Progress | None) -> Progress:
    """``progress``, or :func:`silent` when none was given."""
    return progress or silent


def params_record(params: Any) -> dict[str, Any]:
    """A stage's params dataclass as plain JSON values, for the manifest's ``"params"``.

    Tuples become lists, paths and enums strings, nested dataclasses dictionaries; keys keep the
    dataclass's field order so two manifests diff cleanly.
    """
    if not dataclasses.is_dataclass(params) or isinstance(params, type):
        raise TypeError(f"stage params must be a dataclass instance, not {type(params).__name__}")
    return {f.name: _plain(getattr(params, f.name)) for f in dataclasses.fields(params)}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return params_record(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [_plain(v) for v in items]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value
