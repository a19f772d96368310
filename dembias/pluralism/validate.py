"""``dembias validate``: the controls every pluralism number must pass, on every debate (DESIGN.md §5).

For each debate, a battery of control "summaries" is scored by the very code that scores real
outputs (:func:`dembias.pluralism.scoring.score_output`), and the orderings each metric must respect are
checked. Controls (texts in ``resources/controls.json``, in the debate's language when available):

* ``vacuous``: "The opinions expressed are diverse ..." ten times;
* ``title``: the debate's title ten times, numbered;
* ``off_topic``: proposals of an invented consultation on space debris (a subject absent from the
  unrelated sentences that calibrate the support test, so the control is not judged by what
  calibrated it);
* ``random_citations``: the vacuous sentence ten times, each citing three contributions drawn at random;
* ``one_sided`` (debates with votes): the ten comments most representative of the largest opinion
  group's agreement, each citing itself;
* ``ideal``: the cluster-representative extract (:func:`dembias.pluralism.baselines.pick_cluster_representatives`)
  with one unit per topic at least (budget max(20, number of topics)).

Checks (a stated convention, not tuned on the demo):

* the four content-free controls: survival <= 0.10, coverage <= 0.02, and at least one quality flag;
* ``one_sided``: every other opinion group is under-represented (p_t <= 0.8 p_s);
* ``ideal``: survival and minority-topic survival at least those of every real summary of the debate.

A validation run (stage ``validation``) stores the checks and the controls' headlines; the Overview
shows whether the controls pass for the selected debate. The exit status of the CLI is 1 when any
check fails.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dembias.pluralism.params import PluralismParams
from dembias.pluralism.scoring import OutputScore, SummaryInput, prepare_debate, score_output, score_summaries
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import RunInfo, RunRecord, write_run
from dembias.workspace.stage import Progress, progress_or_silent
from dembias.workspace.staleness import workspace_fingerprint

VALIDATION_STAGE = "validation"
CONTROLS_PATH = Path(__file__).resolve().parent / "resources" / "controls.json"
CONTENT_FREE_CONTROLS = ("vacuous", "title", "off_topic", "random_citations")
#: Near zero, for a content-free control (a stated convention).
MAX_SURVIVAL, MAX_COVERAGE = 0.10, 0.02
REPEATS = 10


@dataclass
class Check:
    """One check of the battery: what was expected, what was found, whether it holds."""

    debate_id: str
    control: str
    check: str
    expected: str
    found: str
    passed: bool


@lru_cache(maxsize=1)
def control_texts() -> dict[str, Any]:
    """The bundled control texts (vacuous sentence and off-topic proposals per language)."""
    return json.loads(CONTROLS_PATH.read_text(encoding="utf-8"))


def _language(ctx_language: str | None, available: Sequence[str]) -> str:
    base = (ctx_language or "en").split("-")[0].lower()
    return base if base in available else "en"


def _units(texts: Sequence[str], citations: Sequence[Sequence[str]] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    units = pd.DataFrame({"unit_index": np.arange(len(texts), dtype=np.int64), "text": list(texts), "kind": "sentence"})
    rows = [(i, str(c)) for i, cited in enumerate(citations or []) for c in cited]
    cites = pd.DataFrame(rows, columns=["unit_index", "contribution_id"])
    return units, cites


def build_controls(ctx: Any, *, seed: int = 0) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """name -> (units, citations) of every control that applies to the debate."""
    from dembias.pluralism.baselines import pick_cluster_representatives

    texts = control_texts()
    lang = _language(ctx.language, list(texts["vacuous"]))
    vacuous = texts["vacuous"][lang]
    contributions = ctx.inputs.contributions.reset_index(drop=True)
    ids = contributions["contribution_id"].astype(str).to_numpy()
    rng = np.random.default_rng([seed, 1])
    controls = {
        "vacuous": _units([vacuous] * REPEATS),
        "title": _units([f"{i + 1}. {ctx.title}" for i in range(REPEATS)]),
        "off_topic": _units(texts["off_topic"][_language(ctx.language, list(texts["off_topic"]))]),
        "random_citations": _units(
            [vacuous] * REPEATS, [rng.choice(ids, size=min(3, len(ids)), replace=False) for _ in range(REPEATS)]
        ),
    }
    cgv = ctx.inputs.comment_group_votes
    if cgv is not None and len(cgv) and ctx.participant_groups is not None and len(ctx.participant_groups):
        largest = int(ctx.participant_groups.value_counts().idxmax())
        mine = cgv[(cgv["vote_group"] == largest) & cgv["contribution_id"].astype(str).isin(set(ids))]
        if "direction" in mine.columns:
            mine = mine[mine["direction"] == "agree"]
        top = mine.sort_values(["representativeness", "contribution_id"], ascending=[False, True]).head(REPEATS)
        text_of = contributions.set_index(contributions["contribution_id"].astype(str))["text"]
        chosen = top["contribution_id"].astype(str).tolist()
        if chosen:
            controls["one_sided"] = _units([text_of[c] for c in chosen], [[c] for c in chosen])
    clusters = (
        contributions["contribution_id"]
        .astype(str)
        .map(ctx.inputs.assignments.assign(contribution_id=ctx.inputs.assignments["contribution_id"].astype(str))
             .set_index("contribution_id")["cluster"])
        .fillna(-1)
        .astype(int)
        .to_numpy()
    )  # fmt: skip
    n_topics = len({c for c in clusters.tolist() if c >= 0})
    rows = pick_cluster_representatives(ctx.contribution_vectors, clusters, max(20, n_topics))
    controls["ideal"] = _units([str(contributions.at[r, "text"]) for r in rows], [[ids[r]] for r in rows])
    return controls


def _head(score: OutputScore, name: str) -> float | None:
    return score.result.headline().get(name, {}).get("value")


def _fmt(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.2f}"


def check_controls(debate_id: str, controls: dict[str, OutputScore], real: Sequence[OutputScore]) -> list[Check]:
    """The orderings of the module docstring, as checks."""
    checks: list[Check] = []
    for name in CONTENT_FREE_CONTROLS:
        score = controls[name]
        survival, coverage = _head(score, "survival") or 0.0, _head(score, "coverage") or 0.0
        checks.append(
            Check(debate_id, name, "survival near 0", f"<= {MAX_SURVIVAL}", _fmt(survival), survival <= MAX_SURVIVAL)
        )
        checks.append(
            Check(debate_id, name, "coverage near 0", f"<= {MAX_COVERAGE}", _fmt(coverage), coverage <= MAX_COVERAGE)
        )
        flags = score.quality.flags
        checks.append(Check(debate_id, name, "flagged", "a quality flag", ", ".join(flags) or "none", bool(flags)))
    if "one_sided" in controls:
        groups = controls["one_sided"].result.opinion_groups
        largest = groups.sort_values("n_participants", ascending=False).iloc[0]["vote_group"] if len(groups) else None
        others = groups[groups["vote_group"] != largest]
        found = ", ".join(
            f"group {int(r.vote_group)}: {r.p_t:.2f} of summary vs {r.p_s:.2f} of debate" for r in others.itertuples()
        )
        checks.append(
            Check(
                debate_id,
                "one_sided",
                "other opinion groups under-represented",
                "p_t <= 0.8 p_s for every other group",
                found or "no other group",
                bool(len(others)) and bool(others["under_represented"].all()),
            )
        )
    ideal = controls["ideal"]
    for metric in ("survival", "minority_topic_survival"):
        value = _head(ideal, metric)
        worse = [
            f"{s.model}: {_fmt(_head(s, metric))}"
            for s in real
            if value is not None and _head(s, metric) is not None and _head(s, metric) > value + 1e-9
        ]
        checks.append(
            Check(
                debate_id,
                "ideal",
                f"{metric.replace('_', ' ')} at least every real summary's",
                f">= max over {len(real)} summaries",
                _fmt(value) + (f" (beaten by {'; '.join(worse)})" if worse else ""),
                not worse,
            )
        )
    return checks


def validate_debate(
    ws: Workspace, debate_id: str, *, seed: int = 0, n_resamples: int = 200, progress: Progress | None = None
) -> tuple[RunInfo, list[Check], dict[str, OutputScore]]:
    """Score the controls and the real summaries of a debate, check them, and write a validation run."""
    say = progress_or_silent(progress)
    started = time.perf_counter()
    fingerprint = workspace_fingerprint(ws, debate_id)  # the corpus version the controls are scored against
    ctx = prepare_debate(ws, debate_id, seed=seed)
    options = {"n_resamples": n_resamples, "n_placebo": 5, "seed": seed}
    params = PluralismParams(**options)
    controls: dict[str, OutputScore] = {}
    for name, (units, cites) in build_controls(ctx, seed=seed).items():
        cites = cites.assign(output_id=f"control:{name}") if len(cites) else None
        control = SummaryInput(
            output_id=f"control:{name}",
            model=f"control:{name}",
            units=units,
            unit_vectors=ctx.embed(units["text"].tolist()),
            citations=cites,
            text="\n".join(units["text"]),
        )
        controls[name] = score_output(ctx, control, params=params)
    real, _ = score_summaries(ws, ctx, ctx.inputs.outputs, params=params)
    checks = check_controls(debate_id, controls, real)
    n_failed = sum(not c.passed for c in checks)
    say(f"validate {debate_id}: {len(checks) - n_failed} of {len(checks)} checks pass")
    tables = {
        "checks": pd.DataFrame([asdict(c) for c in checks]),
        "controls": pd.DataFrame(
            [
                {
                    "control": name,
                    "survival": _head(s, "survival"),
                    "minority_topic_survival": _head(s, "minority_topic_survival"),
                    "coverage": _head(s, "coverage"),
                    "uer_topics": _head(s, "uer_topics"),
                    "n_linked_units": _head(s, "n_linked_units"),
                    "quality_flags": json.dumps(s.quality.flags),
                }
                for name, s in controls.items()
            ]
        ),
    }
    info = write_run(
        ws,
        stage=VALIDATION_STAGE,
        debate_id=debate_id,
        tables=tables,
        record=RunRecord(
            params={**options, "controls": sorted(controls), "support": ctx.calibration.to_manifest()},
            inputs=ctx.run_inputs,
            fingerprint=fingerprint,
            timings={"total": time.perf_counter() - started},
        ),
    )
    return info, checks, controls


def checks_frame(checks: Sequence[Check]) -> pd.DataFrame:
    """The checks as a table (one row each)."""
    return pd.DataFrame([asdict(c) for c in checks], columns=list(Check.__dataclass_fields__))
