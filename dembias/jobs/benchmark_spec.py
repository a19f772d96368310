"""The benchmark spec: one YAML file naming models, debates, tasks with their prompts and languages, and samples.

Read and checked strictly by :func:`load_spec` (an unknown key, a wrong type or a bad value is an
:class:`~dembias.errors.IngestError` naming the file, the key and the value). The format is documented in
``docs/benchmark.md``; ``benchmarks/specs/demo.yaml`` is a small example over the demo.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dembias.errors import DembiasError, IngestError
from dembias.generation.prompts import DEFAULT_PROMPTS, get_prompt
from dembias.validation import normalise_language

TOP_KEYS = {"output", "workspace", "models", "debates", "tasks", "samples", "decoding", "scoring"}
REQUIRED_TOP = ("output", "models", "debates", "tasks")
MODEL_KEYS = {"spec", "base_url", "device", "threads", "batch_size"}
TASK_KEYS = {"prompts", "limit", "sample_per_cluster", "strata", "max_new_tokens", "context_tokens", "languages"}
DECODING_KEYS = {"sample", "temperature", "top_p", "seed", "repetition_penalty"}
SCORING_KEYS = {"resamples", "placebo", "embedder", "n_null", "seed", "min_cell"}
STRATA = ("auto", "cluster", "vote-group", "none")


@dataclass(frozen=True)
class ModelEntry:
    """One model of a benchmark: a :func:`dembias.models.causal_lm.load_model` spec and how to run it."""

    spec: str
    base_url: str | None = None
    device: str | None = None
    threads: int | None = None
    batch_size: int = 8


@dataclass(frozen=True)
class TaskEntry:
    """One task of a benchmark: its prompt ids, contribution selection, budgets and target languages."""

    task: str
    prompts: tuple[str, ...]
    limit: int | None = None
    sample_per_cluster: int | None = None
    strata: str = "auto"
    max_new_tokens: int | None = None
    context_tokens: int | None = None
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class BenchmarkSpec:
    """A checked benchmark spec (paths resolved against the spec file's folder)."""

    path: Path
    output: Path
    workspace: Path | None
    models: tuple[ModelEntry, ...]
    debates: tuple[str, ...]
    tasks: tuple[TaskEntry, ...]
    samples: int = 1
    decoding: dict[str, Any] = field(default_factory=dict)
    scoring: dict[str, Any] = field(default_factory=dict)

    @property
    def do_sample(self) -> bool:
        """Whether decoding samples (always with more than one sample; else as ``decoding.sample`` says)."""
        return self.samples > 1 or bool(self.decoding.get("sample", False))


class _Checker:
    """Type and value checks that name the spec file, the key and the value."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> IngestError:
        return IngestError(self.path, problem, field=key)

    def mapping(self, key: str, value: Any, allowed: set[str], required: tuple[str, ...] = ()) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, f"must be a mapping, got {type(value).__name__} {value!r}")
        unknown = sorted(set(map(str, value)) - allowed)
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}" if key else unknown[0], f"unknown key; expected {sorted(allowed)}")
        for name in required:
            if name not in value or value[name] is None:
                raise self.fail(f"{key}.{name}" if key else name, "is required")
        return dict(value)

    def integer(self, key: str, value: Any, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(key, f"must be an integer >= {minimum}, got {value!r}")
        return value

    def number(self, key: str, value: Any, low: float, high: float | None = None) -> float:
        bad = isinstance(value, bool) or not isinstance(value, int | float)
        if bad or value < low or (high is not None and value > high):
            span = f"in [{low}, {high}]" if high is not None else f">= {low}"
            raise self.fail(key, f"must be a number {span}, got {value!r}")
        return float(value)

    def text(self, key: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be a non-empty string, got {value!r}")
        return value.strip()

    def texts(self, key: str, value: Any) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise self.fail(key, f"must be a non-empty list of strings, got {value!r}")
        out = tuple(self.text(f"{key}[{i}]", v) for i, v in enumerate(items))
        if len(set(out)) != len(out):
            raise self.fail(key, f"lists a value twice: {list(out)}")
        return out


def load_spec(path: str | Path) -> BenchmarkSpec:
    """Read and check a benchmark spec (YAML); every problem names the file, the key and the value."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DembiasError(f"{path}: cannot read the benchmark spec: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise IngestError(path, f"not valid YAML: {exc}") from exc
    return parse_spec(raw, path=path)


def parse_spec(raw: Any, *, path: Path) -> BenchmarkSpec:
    """Check a spec already read from YAML (``path`` names it in errors and anchors relative paths)."""
    check = _Checker(path)
    top = check.mapping("", raw, TOP_KEYS, REQUIRED_TOP)
    base = path.resolve().parent
    samples = check.integer("samples", top.get("samples", 1), 1)
    decoding = _decoding(check, top.get("decoding") or {}, samples)
    models = top["models"]
    if not isinstance(models, list) or not models:
        raise check.fail("models", f"must be a non-empty list of models, got {models!r}")
    tasks = check.mapping("tasks", top["tasks"], set(DEFAULT_PROMPTS))
    if not tasks:
        raise check.fail("tasks", "names no task; expected one or more of summary, reformulation, translation")
    workspace = top.get("workspace")
    return BenchmarkSpec(
        path=path,
        output=(base / check.text("output", top["output"])).resolve(),
        workspace=(base / check.text("workspace", workspace)).resolve() if workspace is not None else None,
        models=tuple(_model(check, f"models[{i}]", m) for i, m in enumerate(models)),
        debates=check.texts("debates", top["debates"]),
        tasks=tuple(_task(check, name, options or {}) for name, options in tasks.items()),
        samples=samples,
        decoding=decoding,
        scoring=_scoring(check, top.get("scoring") or {}),
    )


def _model(check: _Checker, key: str, value: Any) -> ModelEntry:
    if isinstance(value, str):
        value = {"spec": value}
    entry = check.mapping(key, value, MODEL_KEYS, ("spec",))
    base_url = entry.get("base_url")
    if base_url is not None and not str(base_url).startswith(("http://", "https://")):
        raise check.fail(f"{key}.base_url", f"must be an http(s) URL, got {base_url!r}")
    return ModelEntry(
        spec=check.text(f"{key}.spec", entry["spec"]),
        base_url=base_url,
        device=check.text(f"{key}.device", entry["device"]) if entry.get("device") is not None else None,
        threads=check.integer(f"{key}.threads", entry["threads"], 1) if entry.get("threads") is not None else None,
        batch_size=check.integer(f"{key}.batch_size", entry.get("batch_size", 8), 1),
    )


def _task(check: _Checker, task: str, value: Any) -> TaskEntry:
    key = f"tasks.{task}"
    options = check.mapping(key, value, TASK_KEYS)
    prompts = check.texts(f"{key}.prompts", options.get("prompts", [DEFAULT_PROMPTS[task]]))
    for i, prompt in enumerate(prompts):
        try:
            get_prompt(prompt, task=task)
        except DembiasError as exc:
            raise check.fail(f"{key}.prompts[{i}]", str(exc)) from exc
    languages = ()
    if task == "translation":
        if "languages" not in options:
            raise check.fail(f"{key}.languages", "is required: the target languages of the translations")
        listed = check.texts(f"{key}.languages", options["languages"])
        languages = tuple(_language(check, f"{key}.languages[{i}]", v) for i, v in enumerate(listed))
    elif "languages" in options:
        raise check.fail(f"{key}.languages", "is only for translation (target languages)")
    strata = options.get("strata", "auto")
    if strata not in STRATA:
        raise check.fail(f"{key}.strata", f"must be one of {list(STRATA)}, got {strata!r}")
    numbers = {"limit": 1, "sample_per_cluster": 1, "max_new_tokens": 1, "context_tokens": 64}
    checked = {
        name: check.integer(f"{key}.{name}", options[name], low) if options.get(name) is not None else None
        for name, low in numbers.items()
    }
    return TaskEntry(task=task, prompts=prompts, strata=strata, languages=languages, **checked)


def _language(check: _Checker, key: str, value: Any) -> str:
    try:
        return normalise_language(check.text(key, value))
    except DembiasError as exc:
        raise check.fail(key, f"{value!r} is not a language code ({exc})") from exc


def _decoding(check: _Checker, value: Any, samples: int) -> dict[str, Any]:
    options = check.mapping("decoding", value, DECODING_KEYS)
    sample = options.get("sample")
    if sample is not None and not isinstance(sample, bool):
        raise check.fail("decoding.sample", f"must be true or false, got {sample!r}")
    if samples > 1 and sample is False:
        raise check.fail("decoding.sample", f"is false, but samples is {samples}: greedy repeats are identical")
    out: dict[str, Any] = {"sample": sample}
    if "temperature" in options:
        out["temperature"] = check.number("decoding.temperature", options["temperature"], 0.01)
    if "top_p" in options:
        out["top_p"] = check.number("decoding.top_p", options["top_p"], 0.01, 1.0)
    if "repetition_penalty" in options:
        out["repetition_penalty"] = check.number("decoding.repetition_penalty", options["repetition_penalty"], 0.01)
    out["seed"] = check.integer("decoding.seed", options.get("seed", 0), 0)
    return out


def _scoring(check: _Checker, value: Any) -> dict[str, Any]:
    options = check.mapping("scoring", value, SCORING_KEYS)
    minimums = {"resamples": 100, "placebo": 0, "n_null": 10, "seed": 0, "min_cell": 1}
    out: dict[str, Any] = {
        name: check.integer(f"scoring.{name}", options[name], low) for name, low in minimums.items() if name in options
    }
    if "embedder" in options:
        out["embedder"] = check.text("scoring.embedder", options["embedder"])
    return out
