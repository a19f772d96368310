"""Benchmark the opinion map: embed + map generated multilingual debates, and compare with BERTopic.

    .venv/bin/python benchmarks/map.py                 # 10k contributions
    .venv/bin/python benchmarks/map.py --n 10000 --n 100000 --seeds 5

Prints seconds per stage and peak memory (RSS) for dembias's mapping, then runs BERTopic's
``fit_transform`` on the same embeddings with the same UMAP and HDBSCAN settings (one seed) and prints
the time ratio. BERTopic is benchmark-only (``pip install bertopic``); without it the peer is skipped.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dembias import opinion_map
from dembias.ingest import ingest_contributions
from dembias.models.bundle import StageModels
from dembias.models.embedders import get_embedder
from dembias.opinion_map.clustering import reduce, scaled_min_cluster_size
from dembias.opinion_map.params import MapParams
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import list_runs, read_run_table

TOPICS = {
    "en": [
        "The city should build more {a} bike lanes near the {b}.",
        "Rents are too {a}; we need rent control around the {b}.",
        "We must plant {a} trees and protect the {b}.",
        "Public buses should be {a} and run more often to the {b}.",
        "Local taxes are {a} for small shops near the {b}.",
        "Noise from the {b} at night is {a} and should be limited.",
    ],
    "de": [
        "Die Stadt sollte mehr {a} Radwege beim {b} bauen.",
        "Die Mieten sind zu {a}; wir brauchen eine Mietpreisbremse am {b}.",
        "Wir müssen {a} Bäume pflanzen und den {b} schützen.",
        "Busse sollten {a} sein und öfter zum {b} fahren.",
        "Die Gemeindesteuern sind {a} für kleine Läden am {b}.",
        "Der Lärm vom {b} in der Nacht ist {a} und sollte begrenzt werden.",
    ],
    "fr": [
        "La ville devrait construire plus de pistes cyclables {a} près du {b}.",
        "Les loyers sont trop {a} ; il faut encadrer les loyers autour du {b}.",
        "Il faut planter des arbres {a} et protéger le {b}.",
        "Les bus devraient être {a} et passer plus souvent vers le {b}.",
        "Les impôts locaux sont {a} pour les petits commerces près du {b}.",
        "Le bruit du {b} la nuit est {a} et devrait être limité.",
    ],
    "es": [
        "La ciudad debería construir más carriles bici {a} cerca del {b}.",
        "Los alquileres son demasiado {a}; necesitamos controlarlos en el {b}.",
        "Debemos plantar árboles {a} y proteger el {b}.",
        "Los autobuses deberían ser {a} y pasar más a menudo por el {b}.",
        "Los impuestos locales son {a} para las tiendas del {b}.",
        "El ruido del {b} por la noche es {a} y debería limitarse.",
    ],
}
FILLERS_A = ["new", "safe", "cheap", "free", "high", "unfair", "green", "big", "small", "better", "old", "quiet"]
FILLERS_B = ["station", "river", "school", "market", "park", "harbour", "centre", "hospital", "stadium", "bridge"]
TOPIC_SHARES = np.array([0.30, 0.25, 0.20, 0.12, 0.10, 0.03])


def generate(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` contributions over six topics (one holding 3%) in four languages, with slight variation."""
    rng = np.random.default_rng(seed)
    topics = rng.choice(len(TOPIC_SHARES), size=n, p=TOPIC_SHARES)
    langs = rng.choice(list(TOPICS), size=n, p=[0.4, 0.25, 0.2, 0.15])
    rows = []
    for i, (topic, lang) in enumerate(zip(topics, langs, strict=True)):
        text = TOPICS[lang][topic].format(a=rng.choice(FILLERS_A), b=rng.choice(FILLERS_B))
        rows.append({"id": f"c{i}", "text": f"{text} (#{i})", "language": lang, "topic": int(topic)})
    return pd.DataFrame(rows)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(n: int, seeds: int, root: Path) -> None:
    """Embed, map and (when installed) BERTopic one generated debate of ``n`` contributions."""
    frame = generate(n)
    ws = Workspace(root / f"ws{n}")
    path = root / f"debate{n}.csv"
    frame.drop(columns="topic").to_csv(path, index=False)
    started = time.perf_counter()
    ingest_contributions(ws, path, debate_id=f"bench{n}")
    print(f"\n== {n} contributions (4 languages, 6 topics, smallest 3%)")
    print(f"ingest               {time.perf_counter() - started:8.1f} s")
    embedder = get_embedder("use-multilingual")
    params = MapParams(n_seeds=seeds)
    started = time.perf_counter()
    summary = opinion_map.run(ws, debate_id=f"bench{n}", params=params, models=StageModels(embedder=embedder)).details
    total = time.perf_counter() - started
    timings = list_runs(ws, stage="mapping")[-1].manifest["timings"]
    for stage, seconds in timings.items():
        print(f"{stage:20s} {seconds:8.1f} s")
    print(f"{'map stage total':20s} {total:8.1f} s   peak RSS {peak_rss_mib():.0f} MiB")
    d = summary.diagnostics
    assignments = read_run_table(ws, summary.run_id, "assignments")
    truth = frame.set_index("id").loc[assignments["contribution_id"], "topic"].to_numpy()
    from sklearn.metrics import adjusted_rand_score

    print(
        f"clusters {int(d['n_clusters'])}, noise {d['noise_share']:.1%}, stability ARI {d['stability_ari']:.2f}, "
        f"NMI(language) {d['nmi_language']:.2f}, cross-language NN {d['cross_language_nn_share']:.2f} "
        f"(expected {d['cross_language_nn_expected']:.2f}), ARI vs planted topics "
        f"{adjusted_rand_score(truth, assignments['cluster']):.2f}"
    )
    # one seed of our clustering, for a like-for-like comparison with BERTopic
    embeddings = embedder.embed(frame["text"].tolist())
    started = time.perf_counter()
    space = reduce(embeddings, n_components=params.cluster_dims, seed=0, min_dist=params.cluster_min_dist)
    ours_one_seed = time.perf_counter() - started
    import hdbscan

    mcs = scaled_min_cluster_size(n)
    started = time.perf_counter()
    hdbscan.HDBSCAN(min_cluster_size=mcs, min_samples=min(mcs, 3)).fit(space)
    ours_one_seed += time.perf_counter() - started
    try:
        from bertopic import BERTopic
    except ImportError:
        print("BERTopic not installed: peer skipped (pip install bertopic)")
        return
    import umap

    peer = BERTopic(
        umap_model=umap.UMAP(n_components=5, n_neighbors=15, min_dist=0.0, metric="cosine", random_state=0),
        hdbscan_model=hdbscan.HDBSCAN(min_cluster_size=mcs, min_samples=min(mcs, 3), prediction_data=True),
        calculate_probabilities=False,
    )
    started = time.perf_counter()
    peer.fit_transform(frame["text"].tolist(), embeddings=embeddings)
    theirs = time.perf_counter() - started
    print(f"BERTopic fit_transform (same embeddings, UMAP, HDBSCAN): {theirs:.1f} s, peak RSS {peak_rss_mib():.0f} MiB")
    print(
        f"dembias one seed (5-D UMAP + HDBSCAN): {ours_one_seed:.1f} s -> ratio dembias/BERTopic {ours_one_seed / theirs:.2f}"
    )
    print(
        f"dembias full mapping ({seeds} seeds, 2-D map, labels, diagnostics; embedding excluded): "
        f"{total - timings.get('embed', 0):.1f} s -> ratio {(total - timings.get('embed', 0)) / theirs:.2f}"
    )


def main(argv: list[str] | None = None) -> None:
    """Command line of the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, action="append", help="debate size (repeatable; default 10000)")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.n or [10_000]:
            bench(n, args.seeds, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
