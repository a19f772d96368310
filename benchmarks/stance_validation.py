"""Detection and false-flag rates of the fidelity audit per language pair, on a hand-made validation set.

The set (``tests/data/stance_validation.jsonl``) has 14 deliberation proposals written by hand in en, fr,
de, it and es, each with a faithful version, a same-language paraphrase, a negated version and an
antonym-flipped version ("ban" -> "allow", "more" -> "fewer", "mandatory" -> "voluntary", ...). It was
written and committed before the polarity lexicon (:mod:`dembias.fidelity.polarity`); proposals p01-p07 are the
``dev`` split (looked at while writing the lexicon), p08-p14 the held-out ``test`` split (run once the
lexicon was written, not tuned on).

For every ordered pair of languages (a, b) and every proposal, the source is the proposal in a and:

* **faithful**: the paraphrase in b when a == b (a rewrite), else the proposal in b (a translation);
* **negated** / **antonym**: the negated / antonym-flipped version in b;
* **wrong**: the proposal in b of the next proposal of the same split (another contribution).

Each pair is scored by the real code (:func:`dembias.fidelity.pair_scoring.score_pairs`): similarity with the
default multilingual embedder, its percentile against the other proposals (every language version of the
pair's own proposal is left out of its null), lexical flags and review score. Printed per language pair
and split: the stance-flag rate (``polarity_flipped`` / ``negation_*``; detection for negated and antonym,
false flags for faithful), the rate of any flag, the "needs review" rate (review score >= 0.5) and the
"off topic" rate (similarity percentile below 90: detection for wrong, false alarms for faithful).

    .venv/bin/python benchmarks/stance_validation.py                    # default embedder (use-multilingual)
    .venv/bin/python benchmarks/stance_validation.py --embedder fake    # flags only, no embedding model
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tests.fakes  # noqa: E402, F401  (registers the `fake` embedder spec)
from dembias.fidelity.pair_scoring import score_pairs  # noqa: E402
from dembias.fidelity.polarity import POLARITY_LANGUAGES  # noqa: E402
from dembias.models.embedders import get_embedder  # noqa: E402

VALIDATION = ROOT / "tests" / "data" / "stance_validation.jsonl"
KINDS = ("faithful", "negated", "antonym", "wrong")
REVIEW_THRESHOLD = 0.5
#: An output less similar to its source than this percentile of other contributions is "off topic".
OFF_TOPIC_PERCENTILE = 90.0


def load_items(path: Path = VALIDATION) -> list[dict]:
    """The validation proposals, one dict per line of the JSONL file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def build_pairs(items: list[dict]) -> pd.DataFrame:
    """Every (proposal, source language, target language, kind) pair as a frame ``score_pairs`` accepts."""
    rows = []
    by_split: dict[str, list[dict]] = {}
    for item in items:
        by_split.setdefault(item["split"], []).append(item)
    for split, group in by_split.items():
        for index, item in enumerate(group):
            other = group[(index + 1) % len(group)]
            for a in POLARITY_LANGUAGES:
                source = item["versions"][a]["faithful"]
                for b in POLARITY_LANGUAGES:
                    version = item["versions"][b]
                    outputs = {
                        "faithful": version["paraphrase" if a == b else "faithful"],
                        "negated": version["negated"],
                        "antonym": version["antonym"],
                        "wrong": other["versions"][b]["faithful"],
                    }
                    for kind, text in outputs.items():
                        rows.append(
                            {
                                "output_id": f"{item['id']}:{a}->{b}:{kind}",
                                "proposal": item["id"],
                                "split": split,
                                "kind": kind,
                                "source_ids": [f"{item['id']}:{lang}" for lang in POLARITY_LANGUAGES],
                                "source_text": source,
                                "output_text": text,
                                "source_language": a,
                                "target_language": b,
                                "language_pair": f"{a}->{b}",
                            }
                        )
    return pd.DataFrame(rows)


def score(frame: pd.DataFrame, items: list[dict], embedder_spec: str, *, seed: int = 0) -> pd.DataFrame:
    """Score every pair with the real fidelity code; the null pool is every proposal in every language."""
    embedder = get_embedder(embedder_spec)
    pool_ids = [f"{item['id']}:{lang}" for item in items for lang in POLARITY_LANGUAGES]
    pool_texts = [item["versions"][lang]["faithful"] for item in items for lang in POLARITY_LANGUAGES]
    result = score_pairs(
        frame,
        source_vectors=embedder.embed(frame["source_text"].tolist()),
        output_vectors=embedder.embed(frame["output_text"].tolist()),
        pool_ids=pool_ids,
        pool_vectors=embedder.embed(pool_texts),
        seed=seed,
    )
    scored = result.pairs
    scored["stance_flag"] = scored["lexical_stance_flip"]
    scored["any_flag"] = scored["flagged"]
    scored["needs_review"] = (scored["review_score"] >= REVIEW_THRESHOLD).astype(float)
    scored["off_topic"] = (scored["similarity_percentile"] < OFF_TOPIC_PERCENTILE).astype(float)
    return scored


def rate_table(scored: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Rates of stance flags, any flag and needs-review per ``by`` group and kind (columns kind:measure)."""
    measures = {"stance": "stance_flag", "any": "any_flag", "review": "needs_review", "offtopic": "off_topic"}
    parts = []
    for kind in KINDS:
        part = scored[scored["kind"] == kind].groupby(by)[list(measures.values())].mean()
        part.columns = [f"{kind}:{name}" for name in measures]
        parts.append(part)
    table = pd.concat(parts, axis=1)
    table.insert(0, "n", scored[scored["kind"] == "faithful"].groupby(by).size())
    keep = ["n", "faithful:stance", "faithful:any", "faithful:review", "negated:stance", "antonym:stance"]
    keep += ["wrong:offtopic", "faithful:offtopic", "wrong:review", "negated:offtopic"]
    return table[keep]


def markdown(table: pd.DataFrame) -> str:
    """A Markdown table (floats with two decimals), without the optional ``tabulate`` dependency."""

    def cell(value: object) -> str:
        return f"{value:.2f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="use-multilingual", help="Embedder spec (default use-multilingual).")
    parser.add_argument("--split", choices=["dev", "test", "all"], default="all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", action="store_true", help="Print the tables as Markdown (for docs).")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    items = load_items()
    frame = build_pairs(items)
    scored = score(frame, items, args.embedder, seed=args.seed)
    if args.split != "all":
        scored = scored[scored["split"] == args.split]
    scored = scored.assign(
        setting=["rewrite" if a == b else "translation" for a, b in scored["language_pair"].str.split("->")]
    )

    def show(table: pd.DataFrame) -> str:
        if args.markdown:
            return markdown(table.reset_index())
        return table.to_string(float_format=lambda v: f"{v:.2f}")

    pd.set_option("display.width", 200)
    print(f"stance validation, embedder {args.embedder}, seed {args.seed}, {len(items)} proposals")
    print("\nby split and setting")
    print(show(rate_table(scored, ["split", "setting"])))
    print("\nby language pair, held-out split (test)")
    print(show(rate_table(scored[scored["split"] == "test"], ["language_pair"])))
    print("\nby language pair, dev split")
    print(show(rate_table(scored[scored["split"] == "dev"], ["language_pair"])))
    percentile = scored.groupby("kind")["similarity_percentile"].mean()
    print("\nmean similarity percentile by kind: " + ", ".join(f"{k} {percentile[k]:.0f}" for k in KINDS))
    missed = scored[scored["kind"].isin(["negated", "antonym"]) & (scored["stance_flag"] == 0)]
    false = scored[(scored["kind"] == "faithful") & (scored["stance_flag"] == 1)]
    print(f"missed stance changes: {len(missed)}; false stance flags on faithful pairs: {len(false)}")
    for row in pd.concat([missed, false]).head(20).itertuples():
        print(f"  {row.output_id}: {row.source_text!r} -> {row.output_text!r} [{', '.join(row.flag_kinds)}]")
    print(f"{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
