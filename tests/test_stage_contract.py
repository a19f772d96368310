"""Every stage exposes the same entry point (dembias/workspace/stage.py)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from pathlib import Path

import pytest

from dembias.models.bundle import StageModels
from dembias.workspace.stage import ENTRY_POINT_PARAMETERS, STAGES, params_record


@pytest.mark.parametrize("package", sorted(STAGES))
def test_every_stage_has_the_one_entry_point(package):
    module = importlib.import_module(f"dembias.{package}")
    run = getattr(module, "run", None)
    assert callable(run), f"dembias.{package} exposes no run()"
    params = list(inspect.signature(run).parameters.values())
    assert params[0].name == "ws" and params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    keyword_only = [p.name for p in params[1:]]
    assert tuple(keyword_only) == ENTRY_POINT_PARAMETERS
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[1:])
    assert [p.name for p in params[1:] if p.default is inspect.Parameter.empty] == ["debate_id", "params"]


def test_params_record_is_plain_json():
    @dataclasses.dataclass(frozen=True)
    class Inner:
        a: tuple[int, ...] = (1, 2)

    @dataclasses.dataclass(frozen=True)
    class Params:
        path: Path = Path("/x/y")
        inner: Inner = Inner()
        tags: frozenset[str] = frozenset({"b", "a"})
        ref: dict = dataclasses.field(default_factory=lambda: {"model": ("h",)})

    assert params_record(Params()) == {
        "path": "/x/y",
        "inner": {"a": [1, 2]},
        "tags": ["a", "b"],
        "ref": {"model": ["h"]},
    }
    with pytest.raises(TypeError, match="dataclass instance"):
        params_record({"a": 1})


def test_stage_models_default_to_loading():
    assert StageModels() == StageModels(embedder=None, nli=None, generator=None)
