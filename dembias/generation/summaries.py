"""Summaries of a whole debate: chunks of ``[id] text`` lines, map-reduce when they exceed the context, and the
bracketed contribution ids the model ends its sentences with, read back as unit citations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from dembias.generation.prompts import REDUCE_PROMPTS, PromptTemplate, get_prompt
from dembias.ingest.outputs import units_from_text
from dembias.models.causal_lm import DecodingParams, Generation, TextGenerator


def parse_citations(text: str, known_ids: set[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Units ``{"text", "citations"}`` of a summary with bracketed ids, and the ids dropped as unknown."""
    units, dropped = [], []
    for unit in units_from_text(text, task="summary", inline_citations=True):
        kept = []
        for cid in unit.citations:
            if cid in known_ids:
                if cid not in kept:
                    kept.append(cid)
            else:
                dropped.append(cid)
        units.append({"text": unit.text, "citations": kept})
    return units, dropped


def pack_chunks(lines: Sequence[str], lengths: Sequence[int], budget: int) -> list[list[str]]:
    """Greedy packing of lines (with token lengths) into chunks of at most ``budget`` tokens."""
    chunks: list[list[str]] = []
    current: list[str] = []
    used = 0
    for line, n in zip(lines, lengths, strict=True):
        if current and used + n + 1 > budget:
            chunks.append(current)
            current, used = [], 0
        current.append(line)
        used += n + 1
    if current:
        chunks.append(current)
    return chunks


def summarize(
    lm: TextGenerator,
    contributions: pd.DataFrame,
    *,
    topic: str,
    template: PromptTemplate,
    decoding: DecodingParams,
    context_tokens: int,
    batch_size: int = 4,
    progress: Callable[[int], None] | None = None,
) -> tuple[str, dict[str, Any]]:
    """Summarize contributions (map-reduce when they exceed ``context_tokens``); returns (text, info)."""
    reduce_template = get_prompt(REDUCE_PROMPTS.get(template.prompt_id, "summary-reduce-v1"), task="summary")
    overhead = lm.count_tokens(lm.render(template.messages(topic=topic, contributions="")))
    budget = max(64, context_tokens - decoding.max_new_tokens - overhead - 16)
    lines = [
        f"[{cid}] {' '.join(str(text).split())}" for cid, text in contributions[["contribution_id", "text"]].values
    ]
    lengths = [lm.count_tokens(line) for line in lines]
    lines = [line if n <= budget else _truncate(lm, line, budget) for line, n in zip(lines, lengths, strict=True)]
    lengths = [min(n, budget) for n in lengths]
    chunks = pack_chunks(lines, lengths, budget)
    generations: list[Generation] = []

    def run(conversations: list[list[dict[str, str]]]) -> list[str]:
        texts = []
        for start in range(0, len(conversations), batch_size):
            batch = lm.generate(conversations[start : start + batch_size], decoding=decoding)
            generations.extend(batch)
            texts.extend(g.text for g in batch)
            if progress:
                progress(len(batch))
        return texts

    partial = run([template.messages(topic=topic, contributions="\n".join(c)) for c in chunks])
    rounds = 0
    r_overhead = lm.count_tokens(lm.render(reduce_template.messages(topic=topic, summaries="")))
    r_budget = max(64, context_tokens - decoding.max_new_tokens - r_overhead - 16)
    while len(partial) > 1 and rounds < 5:
        rounds += 1
        groups = pack_chunks(partial, [lm.count_tokens(p) + 2 for p in partial], r_budget)
        if len(groups) == len(partial):  # budget too small for two: combine pairs anyway
            groups = [partial[i : i + 2] for i in range(0, len(partial), 2)]
        partial = run([reduce_template.messages(topic=topic, summaries="\n\n".join(g)) for g in groups])
    text = "\n\n".join(partial)
    info = {
        "map_reduce": {
            "context_tokens": context_tokens,
            "chunks": len(chunks),
            "reduce_rounds": rounds,
            "reduce_prompt_id": reduce_template.prompt_id if rounds else None,
            "calls": len(generations),
        },
        "timings": timings(generations),
        "generations": generations,
    }
    return text, info


def _truncate(lm: TextGenerator, line: str, budget: int) -> str:
    return lm.truncate(line, budget - 1)


def timings(generations: Sequence[Generation]) -> dict[str, Any]:
    """Seconds, prompt and new tokens of some model calls, and their new tokens per second."""
    seconds = sum(g.seconds for g in generations)
    new = sum(g.new_tokens for g in generations)
    return {
        "seconds": round(seconds, 3),
        "prompt_tokens": sum(g.prompt_tokens for g in generations),
        "new_tokens": new,
        "tokens_per_s": round(new / seconds, 2) if seconds > 0 else None,
    }
