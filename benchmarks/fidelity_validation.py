"""Validate the fidelity metric on the demo data: can it tell faithful rewrites from corrupted ones?

True pairs:

* **paraphrase** (en -> en): demo contributions (bowling-green, nz-ubi, nz-freshwater) rewritten by
  transparent word substitutions (:data:`PARAPHRASE`, e.g. "should" -> "ought to", "people" ->
  "residents"); only contributions where at least one rule applies are used.
* **translation** (en -> fr/de, de -> en): the hand-written faithful translations of
  ``data/examples/faithful_pairs.jsonl``.

Corrupted pairs, built from each true pair's output by a transparent rule:

* **negated**: ``not``/``ne ... pas``/``nicht`` inserted after the first auxiliary or modal verb
  (:func:`negate`); pairs with no such verb are skipped;
* **number**: the first number n of the output becomes n + max(1, n // 2); pairs with no digit are skipped;
* **different**: the output of another true pair of the same debate (a different contribution).

For each corruption, the AUC of telling true from corrupted pairs (1 = perfect, 0.5 = chance) by
similarity, by its percentile, by the review score (lower = more faithful), and by the matching lexical
flag (negation_* for negated, number_* for number, any flag for different), with the flag's recall on
corrupted pairs and its false-positive rate on true pairs.

    .venv/bin/python benchmarks/fidelity_validation.py                  # builds the demo in a temp folder
    .venv/bin/python benchmarks/fidelity_validation.py -w /tmp/ws_demo  # an existing demo workspace
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dembias.fidelity.pair_scoring import score_pairs  # noqa: E402
from dembias.jobs.demo import build_demo  # noqa: E402
from dembias.models.embedders import get_embedder  # noqa: E402
from dembias.workspace.contribution_selection import select_contributions  # noqa: E402
from dembias.workspace.corpus import open_corpus  # noqa: E402
from dembias.workspace.folder import Workspace  # noqa: E402

FAITHFUL = ROOT / "data" / "examples" / "faithful_pairs.jsonl"
PARAPHRASE_DEBATES = ("bowling-green", "nz-ubi", "nz-freshwater")

PARAPHRASE = {
    "should": "ought to",
    "need": "require",
    "needs": "requires",
    "important": "essential",
    "people": "residents",
    "city": "town",
    "help": "assist",
    "because": "since",
    "big": "large",
    "many": "numerous",
    "get": "obtain",
    "make": "create",
    "improve": "enhance",
    "use": "utilise",
    "want": "wish",
    "buy": "purchase",
    "start": "begin",
    "stop": "halt",
    "children": "kids",
    "think": "believe",
    "also": "additionally",
}
_PARAPHRASE = re.compile(r"\b(" + "|".join(PARAPHRASE) + r")\b")

NEGATION_SITES = {
    "en": (
        re.compile(r"\b(should|ought|must|is|are|can|will|would|could|was|were|has|have|am)\b", re.IGNORECASE),
        lambda m: m.group(1) + " not",
    ),
    "fr": (
        re.compile(r"\b(est|sont|doit|doivent|devrait|devraient|faut|peut|peuvent|serait|seraient|a|ont|y a)\b"),
        lambda m: ("n'" if m.group(1)[0] in "aeiouy" else "ne ") + m.group(1) + " pas",
    ),
    "de": (
        re.compile(r"\b(ist|sind|soll|sollte|sollten|muss|müssen|kann|können|wird|werden|würde|würden|hat|bin)\b"),
        lambda m: m.group(1) + " nicht",
    ),
}


def paraphrase(text: str) -> str | None:
    """The text with every :data:`PARAPHRASE` substitution applied (lowercase words), or None if none applies."""
    out, n = _PARAPHRASE.subn(lambda m: PARAPHRASE[m.group(1)], text)
    return out if n else None


def negate(text: str, language: str) -> str | None:
    """Insert a negation after the first auxiliary or modal verb, or None when there is none."""
    pattern, replace = NEGATION_SITES[language]
    out, n = pattern.subn(replace, text, count=1)
    return out if n else None


def change_number(text: str) -> str | None:
    """The first number n becomes n + max(1, n // 2); None when the text has no digit."""
    match = re.search(r"\d+", text)
    if not match:
        return None
    n = int(match.group(0))
    return text[: match.start()] + str(n + max(1, n // 2)) + text[match.end() :]


def _debate_ids(con) -> list[str]:
    """Every debate of the corpus (the contributions of all of them are read through the one selection)."""
    return [d for (d,) in con.execute("SELECT debate_id FROM debates ORDER BY debate_id").fetchall()]


def true_pairs(ws: Workspace, *, n_paraphrase: int, seed: int) -> pd.DataFrame:
    """Faithful pairs: rule paraphrases of English contributions and the hand-written translations."""
    con = open_corpus(ws)
    try:
        contributions = select_contributions(
            con,
            debate_id=_debate_ids(con),
            columns=("debate_id", "contribution_id", "text", "language"),
            debate_defaults=False,
        )
    finally:
        con.close()
    texts = {(r.debate_id, r.contribution_id): (r.text.strip(), r.language) for r in contributions.itertuples()}
    rows = []
    rng = random.Random(seed)
    english = contributions[contributions.debate_id.isin(PARAPHRASE_DEBATES)]
    candidates = [r for r in english.itertuples() if 40 <= len(r.text) <= 300 and paraphrase(r.text.strip())]
    for r in rng.sample(candidates, min(n_paraphrase, len(candidates))):
        rows.append(
            ("paraphrase", r.debate_id, r.contribution_id, r.text.strip(), "en", "en", paraphrase(r.text.strip()))
        )
    for line in FAITHFUL.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        source, language = texts[(item["debate_id"], item["contribution_id"])]
        rows.append(
            (
                "translation",
                item["debate_id"],
                item["contribution_id"],
                source,
                language,
                item["target_language"],
                item["text"],
            )
        )
    columns = [
        "setting",
        "debate_id",
        "contribution_id",
        "source_text",
        "source_language",
        "target_language",
        "output_text",
    ]
    return pd.DataFrame(rows, columns=columns)


def corrupted_pairs(true: pd.DataFrame, *, seed: int) -> pd.DataFrame:
    """Negated, number-changed and different-contribution versions of the true pairs."""
    rng = random.Random(seed)
    rows = []
    for r in true.itertuples():
        negated = negate(r.output_text, r.target_language)
        if negated:
            rows.append({**r._asdict(), "corruption": "negated", "output_text": negated})
        changed = change_number(r.output_text)
        if changed:
            rows.append({**r._asdict(), "corruption": "number", "output_text": changed})
        others = true[
            (true.setting == r.setting) & (true.debate_id == r.debate_id) & (true.contribution_id != r.contribution_id)
        ]
        if len(others):
            other = others.iloc[rng.randrange(len(others))]
            rows.append(
                {
                    **r._asdict(),
                    "corruption": "different",
                    "output_text": other.output_text,
                    "target_language": other.target_language,
                }
            )
    frame = pd.DataFrame(rows).drop(columns=["Index"])
    return frame


def score(ws: Workspace, frame: pd.DataFrame, embedder, *, seed: int) -> pd.DataFrame:
    """Run the real scoring (similarity, percentile against each debate's null, flags, review score)."""
    con = open_corpus(ws)
    try:
        pool = select_contributions(
            con, debate_id=_debate_ids(con), columns=("debate_id", "contribution_id", "text"), debate_defaults=False
        )
    finally:
        con.close()
    scored = []
    for debate, group in frame.groupby("debate_id", sort=True):
        group = group.reset_index(drop=True).copy()
        group["output_id"] = [f"{debate}:{i}" for i in range(len(group))]
        group["source_ids"] = [[c] for c in group["contribution_id"]]
        debate_pool = pool[pool.debate_id == debate]
        pool_vectors = embedder.embed(debate_pool["text"].tolist())
        result = score_pairs(
            group,
            source_vectors=embedder.embed(group["source_text"].tolist()),
            output_vectors=embedder.embed(group["output_text"].tolist()),
            pool_ids=debate_pool["contribution_id"].tolist(),
            pool_vectors=pool_vectors,
            seed=seed,
        )
        scored.append(result.pairs)
    return pd.concat(scored, ignore_index=True)


def _auc(true_scores: np.ndarray, corrupt_scores: np.ndarray) -> float:
    labels = np.r_[np.ones(len(true_scores)), np.zeros(len(corrupt_scores))]
    return float(roc_auc_score(labels, np.r_[true_scores, corrupt_scores]))


#: The flag that should catch each corruption: a negation can surface as ``negation_*`` or, when it governs a
#: polarity word ("not build"), as ``polarity_flipped`` (see dembias/fidelity/polarity.py).
FLAG_FOR = {"negated": ("negation", "polarity"), "number": ("number",), "different": ("",)}


def auc_table(scored: pd.DataFrame) -> pd.DataFrame:
    """AUC per setting and corruption type (true pairs vs that corruption)."""
    rows = []
    for setting in ("paraphrase", "translation"):
        base = scored[(scored.setting == setting) & (scored.corruption == "none")]
        for corruption, prefix in FLAG_FOR.items():
            bad = scored[(scored.setting == setting) & (scored.corruption == corruption)]
            if bad.empty:
                continue

            def has_flag(frame: pd.DataFrame, prefix: tuple[str, ...] = prefix) -> np.ndarray:
                return np.array(
                    [any(k.startswith(prefix) for k in kinds) for kinds in frame["flag_kinds"]], dtype=float
                )

            rows.append(
                {
                    "setting": setting,
                    "corruption": corruption,
                    "n_true": len(base),
                    "n_corrupt": len(bad),
                    "auc_similarity": _auc(base["similarity"].to_numpy(), bad["similarity"].to_numpy()),
                    "auc_percentile": _auc(
                        base["similarity_percentile"].to_numpy(), bad["similarity_percentile"].to_numpy()
                    ),
                    "auc_review": _auc(-base["review_score"].to_numpy(), -bad["review_score"].to_numpy()),
                    "flag": "|".join(f"{p}_*" if p else "any" for p in prefix),
                    "auc_flag": _auc(-has_flag(base), -has_flag(bad)),
                    "flag_recall": float(has_flag(bad).mean()),
                    "flag_false_pos": float(has_flag(base).mean()),
                }
            )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-w", "--workspace", type=Path, help="A demo workspace (default: build one in a temp folder).")
    parser.add_argument("--embedder", default="use-multilingual", help="Embedder spec (default use-multilingual).")
    parser.add_argument("--n-paraphrase", type=int, default=80, help="Paraphrase pairs to draw.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if args.workspace:
            ws = Workspace.resolve(args.workspace)
        else:
            ws = Workspace(Path(tmp) / "ws")
            build_demo(ws, progress=lambda _m: None)
        true = true_pairs(ws, n_paraphrase=args.n_paraphrase, seed=args.seed)
        frame = pd.concat([true.assign(corruption="none"), corrupted_pairs(true, seed=args.seed)], ignore_index=True)
        scored = score(ws, frame, get_embedder(args.embedder), seed=args.seed)
    table = auc_table(scored)
    pd.set_option("display.width", 200)
    print(f"fidelity validation, embedder {args.embedder}, seed {args.seed}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    fp = scored[scored.corruption == "none"]
    print(
        f"true pairs: {len(fp)}; with any flag: {int((fp['n_flags'] > 0).sum())} "
        f"({', '.join(sorted({k for ks in fp['flag_kinds'] for k in ks})) or 'none'})"
    )
    print(f"{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
