"""Generate a realistic multilingual debate of any size, streamed to CSV in chunks (memory stays flat).

    .venv/bin/python benchmarks/generate_corpus.py --n 100000 --out /tmp/gen100k --seed 0

Writes into ``--out``:

* ``contributions.csv`` (id, text, language, country, author): eight opinion clusters of very unequal
  sizes (28% ... 3% and 1.5%), in five languages (en, fr, de, it, es). Each cluster has a small bank of
  templates translated into every language, filled with translated slot words and seeded variation
  (opening phrases, reasons), so texts of one topic share words across languages only as
  translations do.
* ``votes.csv`` (contribution_id, voter_id, vote): three voter groups; each group agrees with the
  clusters it favours and disagrees with the others (with noise).
* ``outputs.jsonl`` (format of :mod:`dembias.ingest.outputs`): one summary citing contributions of
  every cluster except the two smallest (known omissions), and rewrites (reformulations in the same
  language, translations into English) of sampled contributions, a quarter of which add a negation
  (known distortions).
* ``truth.csv`` (id, topic) and ``truth.json`` (shares, omitted topics, distorted output ids).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

LANGS = ("en", "fr", "de", "it", "es")
LANG_SHARES = np.array([0.30, 0.22, 0.22, 0.13, 0.13])
COUNTRIES = {
    "en": (["IE", "MT", "GB"], [0.6, 0.2, 0.2]),
    "fr": (["FR", "BE", "LU"], [0.7, 0.2, 0.1]),
    "de": (["DE", "AT", "LU"], [0.7, 0.25, 0.05]),
    "it": (["IT", "MT"], [0.95, 0.05]),
    "es": (["ES"], [1.0]),
}
#: cluster shares: six majority topics and two small minorities (3% and 1.5%)
TOPIC_SHARES = np.array([0.28, 0.22, 0.16, 0.12, 0.10, 0.075, 0.03, 0.015])
TOPIC_NAMES = ["bike lanes", "rent control", "trees", "buses", "shop taxes", "night noise", "nuclear", "sign language"]

# slot words, translated index by index: {a} an adjective-ish word, {b} a place
SLOT_A = {
    "en": ["new", "safe", "cheap", "free", "green", "better", "wider", "modern"],
    "fr": ["nouveaux", "sûrs", "bon marché", "gratuits", "verts", "meilleurs", "plus larges", "modernes"],
    "de": ["neue", "sichere", "günstige", "kostenlose", "grüne", "bessere", "breitere", "moderne"],
    "it": ["nuovi", "sicuri", "economici", "gratuiti", "verdi", "migliori", "più larghi", "moderni"],
    "es": ["nuevos", "seguros", "baratos", "gratuitos", "verdes", "mejores", "más anchos", "modernos"],
}
SLOT_B = {
    "en": ["station", "river", "school", "market", "park", "harbour", "hospital", "old town"],
    "fr": ["la gare", "la rivière", "l'école", "le marché", "le parc", "le port", "l'hôpital", "la vieille ville"],
    "de": ["Bahnhof", "Fluss", "Schule", "Markt", "Park", "Hafen", "Krankenhaus", "Altstadt"],
    "it": [
        "la stazione",
        "il fiume",
        "la scuola",
        "il mercato",
        "il parco",
        "il porto",
        "l'ospedale",
        "il centro storico",
    ],
    "es": [
        "la estación",
        "el río",
        "la escuela",
        "el mercado",
        "el parque",
        "el puerto",
        "el hospital",
        "el casco antiguo",
    ],
}
OPENERS = {
    "en": ["", "I think ", "In my view, ", "Honestly, ", "As a resident, ", "Clearly, "],
    "fr": ["", "Je pense que ", "À mon avis, ", "Franchement, ", "En tant qu'habitant, ", "Clairement, "],
    "de": ["", "Ich denke, ", "Meiner Meinung nach ", "Ehrlich gesagt ", "Als Anwohner finde ich, ", "Klar ist: "],
    "it": ["", "Penso che ", "Secondo me ", "Sinceramente, ", "Da residente, ", "Chiaramente "],
    "es": ["", "Creo que ", "En mi opinión, ", "Sinceramente, ", "Como vecino, ", "Claramente, "],
}
REASONS = {
    "en": ["", " for our children", " because it matters", " for the next generation", " for everyone", " now"],
    "fr": [
        "",
        " pour nos enfants",
        " parce que c'est important",
        " pour la prochaine génération",
        " pour tous",
        " maintenant",
    ],
    "de": ["", " für unsere Kinder", " weil es wichtig ist", " für die nächste Generation", " für alle", " jetzt"],
    "it": ["", " per i nostri figli", " perché è importante", " per la prossima generazione", " per tutti", " adesso"],
    "es": ["", " para nuestros hijos", " porque es importante", " para la próxima generación", " para todos", " ahora"],
}
# modal verb of every template and its negation (a distortion flips it)
NEGATION = {
    "en": ("should", "should not"),
    "fr": ("devrait", "ne devrait pas"),
    "de": ("sollte", "sollte nicht"),
    "it": ("dovrebbe", "non dovrebbe"),
    "es": ("debería", "no debería"),
}
# per topic, two templates translated into every language; each uses the language's modal verb
TEMPLATES: dict[str, list[list[str]]] = {
    "en": [
        ["the city should build {a} bike lanes near the {b}", "cycling to the {b} should be {a} with protected lanes"],
        [
            "rents should be capped, flats near the {b} are not {a} any more",
            "the council should control rents around the {b}",
        ],
        ["the city should plant {a} trees along the {b}", "every street to the {b} should have {a} trees and shade"],
        [
            "buses to the {b} should be {a} and run every ten minutes",
            "public transport should be {a} at night to the {b}",
        ],
        [
            "local taxes should be lower for {a} shops near the {b}",
            "small shops at the {b} should pay {a} business taxes",
        ],
        [
            "bars near the {b} should close earlier because of the noise",
            "night noise at the {b} should be limited by {a} rules",
        ],
        [
            "the nuclear plant should be closed and replaced by {a} solar parks",
            "nuclear power should be phased out, not the {b}",
        ],
        [
            "sign language should be taught in every {a} school",
            "deaf children at the {b} should get {a} sign language teachers",
        ],
    ],
    "fr": [
        [
            "la ville devrait construire des pistes cyclables {a} près de {b}",
            "aller à vélo vers {b} devrait être {a} avec des pistes protégées",
        ],
        [
            "on devrait plafonner les loyers, les appartements près de {b} ne sont plus {a}",
            "la mairie devrait encadrer les loyers autour de {b}",
        ],
        [
            "la ville devrait planter des arbres {a} le long de {b}",
            "chaque rue vers {b} devrait avoir des arbres {a} et de l'ombre",
        ],
        [
            "le bus vers {b} devrait être {a} et passer toutes les dix minutes",
            "le transport public devrait être {a} la nuit vers {b}",
        ],
        [
            "la taxe locale devrait baisser pour les commerces {a} près de {b}",
            "un petit commerce à {b} devrait payer des impôts {a}",
        ],
        [
            "le bar près de {b} devrait fermer plus tôt à cause du bruit",
            "le bruit nocturne à {b} devrait être limité par des règles {a}",
        ],
        [
            "la centrale nucléaire devrait fermer et être remplacée par des parcs solaires {a}",
            "le nucléaire devrait être abandonné, pas {b}",
        ],
        [
            "la langue des signes devrait être enseignée dans chaque école {a}",
            "un enfant sourd à {b} devrait avoir des professeurs de langue des signes {a}",
        ],
    ],
    "de": [
        ["die Stadt sollte {a} Radwege beim {b} bauen", "Radfahren zum {b} sollte mit geschützten Spuren {a} sein"],
        [
            "die Miete sollte gedeckelt werden, Wohnungen am {b} sind nicht mehr {a}",
            "der Stadtrat sollte die Mieten rund um den {b} begrenzen",
        ],
        [
            "die Stadt sollte {a} Bäume entlang dem {b} pflanzen",
            "jede Straße zum {b} sollte {a} Bäume und Schatten haben",
        ],
        [
            "der Bus zum {b} sollte {a} sein und alle zehn Minuten fahren",
            "der Nahverkehr sollte nachts zum {b} {a} sein",
        ],
        [
            "die Gemeindesteuer sollte für {a} Läden am {b} sinken",
            "ein kleiner Laden am {b} sollte {a} Gewerbesteuern zahlen",
        ],
        [
            "die Bar am {b} sollte wegen des Lärms früher schließen",
            "der Nachtlärm am {b} sollte durch {a} Regeln begrenzt werden",
        ],
        [
            "das Atomkraftwerk sollte geschlossen und durch {a} Solarparks ersetzt werden",
            "die Atomkraft sollte auslaufen, nicht der {b}",
        ],
        [
            "Gebärdensprache sollte in jeder {a} Schule unterrichtet werden",
            "ein gehörloses Kind am {b} sollte {a} Gebärdensprachlehrer bekommen",
        ],
    ],
    "it": [
        [
            "la città dovrebbe costruire piste ciclabili {a} vicino a {b}",
            "andare in bici verso {b} dovrebbe essere {a} con corsie protette",
        ],
        [
            "l'affitto dovrebbe avere un tetto, gli appartamenti vicino a {b} non sono più {a}",
            "il comune dovrebbe controllare gli affitti intorno a {b}",
        ],
        ["la città dovrebbe piantare alberi {a} lungo {b}", "ogni strada verso {b} dovrebbe avere alberi {a} e ombra"],
        [
            "l'autobus per {b} dovrebbe essere {a} e passare ogni dieci minuti",
            "il trasporto pubblico dovrebbe essere {a} di notte verso {b}",
        ],
        [
            "la tassa locale dovrebbe scendere per i negozi {a} vicino a {b}",
            "un piccolo negozio a {b} dovrebbe pagare tasse {a}",
        ],
        [
            "il bar vicino a {b} dovrebbe chiudere prima per il rumore",
            "il rumore notturno a {b} dovrebbe essere limitato da regole {a}",
        ],
        [
            "la centrale nucleare dovrebbe chiudere ed essere sostituita da parchi solari {a}",
            "il nucleare dovrebbe essere abbandonato, non {b}",
        ],
        [
            "la lingua dei segni dovrebbe essere insegnata in ogni scuola {a}",
            "un bambino sordo a {b} dovrebbe avere insegnanti di lingua dei segni {a}",
        ],
    ],
    "es": [
        [
            "la ciudad debería construir carriles bici {a} cerca de {b}",
            "ir en bici hasta {b} debería ser {a} con carriles protegidos",
        ],
        [
            "el alquiler debería tener un tope, los pisos cerca de {b} ya no son {a}",
            "el ayuntamiento debería controlar los alquileres en torno a {b}",
        ],
        [
            "la ciudad debería plantar árboles {a} a lo largo de {b}",
            "cada calle hacia {b} debería tener árboles {a} y sombra",
        ],
        [
            "el autobús a {b} debería ser {a} y pasar cada diez minutos",
            "el transporte público debería ser {a} de noche hacia {b}",
        ],
        [
            "el impuesto local debería bajar para las tiendas {a} cerca de {b}",
            "una tienda pequeña en {b} debería pagar impuestos {a}",
        ],
        [
            "el bar cerca de {b} debería cerrar antes por el ruido",
            "el ruido nocturno en {b} debería limitarse con normas {a}",
        ],
        [
            "la central nuclear debería cerrar y ser sustituida por parques solares {a}",
            "la energía nuclear debería abandonarse, no {b}",
        ],
        [
            "la lengua de signos debería enseñarse en cada escuela {a}",
            "un niño sordo en {b} debería tener profesores de lengua de signos {a}",
        ],
    ],
}
N_GROUPS = 3
#: topics each voter group favours (agrees with); the minorities are favoured by one group only
GROUP_FAVOURS = [{0, 2, 4, 6}, {1, 3, 5}, {0, 1, 7}]
CHUNK = 100_000


@dataclass
class Parts:
    """The structured pieces of generated contributions (so rewrites can re-render them in another language)."""

    topic: np.ndarray
    template: np.ndarray
    a: np.ndarray
    b: np.ndarray
    opener: np.ndarray
    reason: np.ndarray
    lang: np.ndarray


def render(
    lang: str, topic: int, template: int, a: int, b: int, opener: int, reason: int, *, negate: bool = False
) -> str:
    """One contribution's text in ``lang`` (optionally with its modal verb negated)."""
    body = TEMPLATES[lang][topic][template].format(a=SLOT_A[lang][a], b=SLOT_B[lang][b])
    if negate:
        modal, negated = NEGATION[lang]
        body = body.replace(f" {modal} ", f" {negated} ", 1)
    text = OPENERS[lang][opener] + body + REASONS[lang][reason] + "."
    return text[0].upper() + text[1:]


def draw_parts(rng: np.random.Generator, n: int) -> Parts:
    """Seeded structure of ``n`` contributions."""
    return Parts(
        topic=rng.choice(len(TOPIC_SHARES), size=n, p=TOPIC_SHARES),
        template=rng.integers(0, 2, n),
        a=rng.integers(0, len(SLOT_A["en"]), n),
        b=rng.integers(0, len(SLOT_B["en"]), n),
        opener=rng.integers(0, len(OPENERS["en"]), n),
        reason=rng.integers(0, len(REASONS["en"]), n),
        lang=rng.choice(len(LANGS), size=n, p=LANG_SHARES),
    )


def generate_corpus(
    n: int, out: Path, *, seed: int = 0, votes_per_contribution: int = 10, n_rewrites: int | None = None
) -> dict[str, object]:
    """Write the corpus files into ``out`` (see the module docstring); returns the truth summary."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = {name: out / name for name in ("contributions.csv", "votes.csv", "truth.csv", "outputs.jsonl")}
    for path in paths.values():
        path.unlink(missing_ok=True)
    n_authors = max(1, n // 3)
    n_voters = max(30, n // 5)
    voter_group = rng.integers(0, N_GROUPS, n_voters)
    favour = np.zeros((N_GROUPS, len(TOPIC_SHARES)), dtype=bool)
    for g, topics in enumerate(GROUP_FAVOURS):
        favour[g, list(topics)] = True
    n_rewrites = n_rewrites if n_rewrites is not None else int(min(2000, max(50, n // 50)))
    rewrite_ids = set(rng.choice(n, size=min(n_rewrites, n), replace=False).tolist())
    cited_pool: dict[int, list[str]] = {t: [] for t in range(len(TOPIC_SHARES))}
    rewrites: list[tuple[str, tuple[int, ...], str, str]] = []
    topic_counts = np.zeros(len(TOPIC_SHARES), dtype=np.int64)
    n_votes = 0
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        parts = draw_parts(rng, m)
        ids = np.array([f"g{i:07d}" for i in range(start, start + m)])
        langs = np.array(LANGS)[parts.lang]
        texts = [
            render(LANGS[g], t, k, a, b, o, r)
            for g, t, k, a, b, o, r in zip(
                parts.lang, parts.topic, parts.template, parts.a, parts.b, parts.opener, parts.reason, strict=True
            )
        ]
        countries = np.empty(m, dtype=object)
        for lang, (codes, probs) in COUNTRIES.items():
            mask = langs == lang
            countries[mask] = rng.choice(codes, size=int(mask.sum()), p=probs)
        frame = pd.DataFrame(
            {
                "id": ids,
                "text": texts,
                "language": langs,
                "country": countries,
                "author": np.char.add("a", rng.integers(0, n_authors, m).astype(str)),
            }
        )
        frame.to_csv(paths["contributions.csv"], mode="a", header=start == 0, index=False)
        pd.DataFrame({"id": ids, "topic": parts.topic}).to_csv(
            paths["truth.csv"], mode="a", header=start == 0, index=False
        )
        topic_counts += np.bincount(parts.topic, minlength=len(TOPIC_SHARES))
        # votes: each contribution is seen by a few voters; their group decides the direction
        k = votes_per_contribution
        voters = rng.integers(0, n_voters, m * k)
        topic_rep = np.repeat(parts.topic, k)
        agrees = favour[voter_group[voters], topic_rep]
        u = rng.random(m * k)
        vote = np.where(
            agrees, np.where(u < 0.8, 1, np.where(u < 0.9, 0, -1)), np.where(u < 0.25, 1, np.where(u < 0.4, 0, -1))
        )
        votes = pd.DataFrame(
            {"contribution_id": np.repeat(ids, k), "voter_id": np.char.add("v", voters.astype(str)), "vote": vote}
        )
        votes = votes.drop_duplicates(["contribution_id", "voter_id"])
        votes.to_csv(paths["votes.csv"], mode="a", header=start == 0, index=False)
        n_votes += len(votes)
        for j in range(m):
            topic = int(parts.topic[j])
            if len(cited_pool[topic]) < 40:
                cited_pool[topic].append(str(ids[j]))
            if start + j in rewrite_ids:
                structure = tuple(
                    int(x)
                    for x in (
                        parts.topic[j],
                        parts.template[j],
                        parts.a[j],
                        parts.b[j],
                        parts.opener[j],
                        parts.reason[j],
                    )
                )
                rewrites.append((str(ids[j]), structure, LANGS[parts.lang[j]], texts[j]))
    shares = topic_counts / max(n, 1)
    order = np.argsort(shares)
    omitted = sorted(int(t) for t in order[:2])
    debate_id = f"gen{n}"
    summary_sentences = []
    for topic in np.argsort(-shares):
        topic = int(topic)
        if topic in omitted or not cited_pool[topic]:
            continue
        cites = ", ".join(cited_pool[topic][:3])
        summary_sentences.append(
            f"{round(100 * shares[topic])}% of contributions ask that "
            f"{render('en', topic, 0, 0, 0, 0, 0)[:-1].lower()} [{cites}]."
        )
    lines = [
        {
            "debate_id": debate_id,
            "task": "summary",
            "model": "generated-summarizer",
            "prompt_id": "summary-v1",
            "output_id": f"{debate_id}-summary",
            "text": " ".join(summary_sentences),
            "inline_citations": True,
        }
    ]
    distorted: list[str] = []
    for i, (cid, (topic, template, a, b, opener, reason), lang, _text) in enumerate(rewrites):
        negate = i % 4 == 0
        translate = i % 2 == 1 and lang != "en"
        target = "en" if translate else lang
        # a reformulation drops the opener and reason; a translation renders the same parts in English
        text = render(
            target, topic, template, a, b, 0 if not translate else opener, 0 if not translate else reason, negate=negate
        )
        output_id = f"{debate_id}-rw{i:05d}"
        if negate:
            distorted.append(output_id)
        record: dict[str, object] = {
            "debate_id": debate_id,
            "task": "translation" if translate else "reformulation",
            "model": "generated-rewriter",
            "output_id": output_id,
            "source_ids": [cid],
            "text": text,
        }
        if translate:
            record["target_language"] = "en"
        lines.append(record)
    with paths["outputs.jsonl"].open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    truth = {
        "debate_id": debate_id,
        "n": n,
        "seed": seed,
        "n_votes": n_votes,
        "topic_names": TOPIC_NAMES,
        "topic_shares": [round(float(s), 5) for s in shares],
        "omitted_topics": omitted,
        "n_rewrites": len(rewrites),
        "distorted_output_ids": distorted,
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=1))
    return truth


def main(argv: list[str] | None = None) -> None:
    """Command line of the generator."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="number of contributions")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--votes-per-contribution", type=int, default=10)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    truth = generate_corpus(args.n, args.out, seed=args.seed, votes_per_contribution=args.votes_per_contribution)
    print(
        f"{args.n:,} contributions, {truth['n_votes']:,} votes, {truth['n_rewrites']} rewrites "
        f"({len(truth['distorted_output_ids'])} distorted), omitted topics {truth['omitted_topics']} "
        f"in {time.perf_counter() - started:.1f} s -> {args.out}"
    )


if __name__ == "__main__":
    sys.exit(main())
