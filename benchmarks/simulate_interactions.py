"""Build the demo's bot-citizen interaction log: real drafts, real model suggestions, SIMULATED outcomes.

Drafts are real contributions of the demo debates; suggestions are the default local model's reformulations
of them (SmolLM2-135M-Instruct, files in ``data/outputs/``). What the citizen did with each suggestion is
**simulated** by the rule below, so that the Interactions page has something to show; every row carries
``"simulated": true``. It demonstrates the method; it is not field data.

Rule (seeded, per row ``numpy.random.default_rng([seed, row])``), from the suggestion's own fidelity flags
(:func:`dembias.fidelity.lexical.lexical_flags`, the fidelity audit's implementation):

* a stance flag (negation added/removed, polarity flipped): accepted 10%, edited 20%, rejected 70%;
* any other flag (length, numbers, names...): accepted 25%, edited 35%, rejected 40%;
* no flag: accepted 60%, edited 30%, rejected 10%.

Accepted: final = suggestion. Rejected: final = draft. Edited: with ``u ~ Uniform(0.3, 0.8)``, the first
``round(u * len)`` words of the suggestion followed by the draft's words after its first ``round(u * len)``.

Usage (a demo workspace gives the drafts' texts and authors)::

    python benchmarks/simulate_interactions.py -w /tmp/ws --out data/outputs/interactions-simulated-v1.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from dembias.fidelity.lexical import lexical_flags
from dembias.fidelity.metrics import STANCE_FLAG_KINDS
from dembias.workspace.contribution_selection import select_contributions
from dembias.workspace.corpus import corpus_reader
from dembias.workspace.folder import Workspace

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [  # (outputs file, debate, at most n, country)
    ("data/outputs/smollm2-reformulation-v1.jsonl", "bowling-green", 40, "US"),
    ("data/outputs/smollm2-reformulation-v1-makeorg.jsonl", "makeorg-fr", 25, "FR"),
    ("data/outputs/smollm2-reformulation-v1-klimarat.jsonl", "klimarat-produktion-konsum", 20, "AT"),
]
PROBABILITIES = {"stance": (0.10, 0.20, 0.70), "other": (0.25, 0.35, 0.40), "none": (0.60, 0.30, 0.10)}
OUTCOMES = ("accepted", "edited", "rejected")


def simulate(draft: str, suggestion: str, language: str, rng: np.random.Generator) -> tuple[str, str, str]:
    """(outcome, final, flag class) of one interaction under the documented rule."""
    kinds = {f.kind for f in lexical_flags(draft, suggestion, source_lang=language, target_lang=language)}
    flag_class = "stance" if kinds & set(STANCE_FLAG_KINDS) else ("other" if kinds else "none")
    outcome = OUTCOMES[int(rng.choice(3, p=PROBABILITIES[flag_class]))]
    if outcome == "accepted":
        return outcome, suggestion, flag_class
    if outcome == "rejected":
        return outcome, draft, flag_class
    u = rng.uniform(0.3, 0.8)
    s_words, d_words = suggestion.split(), draft.split()
    final = " ".join(s_words[: round(u * len(s_words))] + d_words[round(u * len(d_words)) :])
    return outcome, final or suggestion, flag_class


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-w", "--workspace", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ws = Workspace(args.workspace)
    rows = []
    for file, debate, n, country in SOURCES:
        outputs = [json.loads(line) for line in (ROOT / file).read_text(encoding="utf-8").splitlines() if line]
        outputs = sorted((o for o in outputs if o["debate_id"] == debate), key=lambda o: o["source_ids"][0])
        picked = np.random.default_rng([args.seed, len(rows)]).permutation(len(outputs))[:n]
        with corpus_reader(ws, {}) as con:
            corpus = select_contributions(
                con,
                debate_id=debate,
                include_rejected=True,
                columns=("contribution_id", "text", "language", "author_pid"),
                debate_defaults=False,
            )
        by_id = corpus.set_index(corpus["contribution_id"].astype(str))
        for index in sorted(picked):
            out = outputs[index]
            cid = str(out["source_ids"][0])
            source = by_id.loc[cid]
            language = str(source["language"]).split("-")[0]
            rng = np.random.default_rng([args.seed, len(rows)])
            outcome, final, flag_class = simulate(str(source["text"]), out["text"], language, rng)
            rows.append(
                {
                    "interaction_id": f"sim-{len(rows) + 1:03d}",
                    "contribution_id": cid,
                    "debate_id": debate,
                    "task": "reformulation",
                    "language": language,
                    "country": country,
                    "author": source["author_pid"] if isinstance(source["author_pid"], str) else None,
                    "draft": str(source["text"]),
                    "suggestion": out["text"],
                    "final": final,
                    "outcome": outcome,
                    "simulated": True,
                    "labels": {"simulated": True, "rule": f"simulate_interactions.py v1, {flag_class} flag"},
                    "suggestion_output_id": out["output_id"],
                    "model": out["model"],
                }
            )
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    counts = {o: sum(r["outcome"] == o for r in rows) for o in OUTCOMES}
    print(f"{len(rows)} interactions -> {args.out}: {counts}")


if __name__ == "__main__":
    main()
