"""A small workspace whose every user-visible text carries an XSS payload (for the security tests).

OWASP filter-evasion classics, each marked with its number: a payload that ran would set
``window.__xss`` (or call ``alert``/``fetch`` to 127.0.0.2). They are put through the debate title,
contributions, a summary's units, a reformulation, model names and annotation notes; the opinion-cluster
labels come from keywords of the texts, so payload words (script, onerror, alert, iframe ...) are made
frequent enough to reach them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from dembias import fidelity, opinion_map, pluralism
from dembias.ingest import ingest_outputs, ingest_polis
from dembias.models.bundle import StageModels
from dembias.opinion_map.params import MapParams
from dembias.workspace.annotations import Annotation, add_annotation
from dembias.workspace.folder import Workspace
from tests.fakes import FakeEmbedder

DEBATE = "xss-debate![d](http://127.0.0.2/debate.png)"  # markdown image in the id itself
EVIL = "127.0.0.2"  # any request to this host means a payload reached the network


def _payloads() -> list[str]:
    """~40 classic payloads; payload ``i`` sets ``window.__xss=i`` (or alerts ``i``, or fetches from EVIL)."""
    templates = [
        "<script>window.__xss={i}</script>",
        "<SCRIPT SRC=http://{evil}/xss{i}.js></SCRIPT>",
        "<img src=x onerror=window.__xss={i}>",
        '<IMG SRC="javascript:window.__xss={i}">',
        "<IMG SRC=javascript:alert({i})>",
        "<IMG SRC=`javascript:alert({i})`>",
        "<img src=x onerror=&#119;&#105;&#110;&#100;&#111;&#119;.__xss={i}>",
        "<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C&#x65&#x72&#x74&#x28&#x31&#x29>",
        "<svg onload=window.__xss={i}>",
        "<svg/onload=alert({i})>",
        "<body onload=window.__xss={i}>",
        '<iframe src="javascript:parent.__xss={i}"></iframe>',
        "<iframe src=http://{evil}/frame{i}></iframe>",
        '<a href="javascript:window.__xss={i}">click me {i}</a>',
        "[click {i}](javascript:window.__xss={i})",
        "![x{i}](http://{evil}/img{i}.png)",
        "[link {i}](http://{evil}/link{i})",
        '<div style="background:url(http://{evil}/bg{i}.png)">bg</div>',
        '<div style="width: expression(window.__xss={i});">x</div>',
        "<style>@import 'http://{evil}/css{i}.css';</style>",
        "<link rel=stylesheet href=http://{evil}/link{i}.css>",
        "<input onfocus=window.__xss={i} autofocus>",
        "<details open ontoggle=window.__xss={i}>",
        "<video><source onerror=window.__xss={i}></video>",
        "<audio src=x onerror=alert({i})>",
        '<object data="javascript:window.__xss={i}"></object>',
        "<embed src=http://{evil}/embed{i}.swf>",
        "<marquee onstart=window.__xss={i}>m</marquee>",
        '<meta http-equiv="refresh" content="0;url=http://{evil}/meta{i}">',
        "<base href=http://{evil}/base{i}/>",
        '"><script>window.__xss={i}</script>',
        "'><img src=x onerror=window.__xss={i}>",
        "</textarea><script>window.__xss={i}</script>",
        "<scr<script>ipt>window.__xss={i}</scr</script>ipt>",
        "%3Cscript%3Ewindow.__xss={i}%3C/script%3E",
        "&lt;script&gt;window.__xss={i}&lt;/script&gt;",
        "<form action=http://{evil}/form{i}><button>go</button></form>",
        "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss={i}>",
        '=HYPERLINK("http://{evil}/csv{i}","click")',
        '<img src="http://{evil}/plain{i}.png">',
    ]
    return [t.format(i=i + 1, evil=EVIL) for i, t in enumerate(templates)]


PAYLOADS: list[str] = _payloads()

TOPICS = {
    "script": "script alert window tags should be escaped in onerror handlers",
    "iframe": "iframe svg onload embeds are a frame problem for the iframe council",
    "bikes": "bike lanes downtown need more money and safer crossings",
}


def _contributions() -> list[tuple[str, str]]:
    """(text, topic) for every contribution: each payload appears in at least one contribution."""
    rows = []
    for i in range(48):
        topic = list(TOPICS)[i % 3]
        payload = PAYLOADS[i % len(PAYLOADS)]
        rows.append((f"{TOPICS[topic]} {payload}", topic))
    return rows


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def build_payload_workspace(root: Path) -> Workspace:
    """Build the payload workspace under ``root``: debate, map, summary, reformulations, scores, annotations."""
    ws = Workspace(root / "ws")
    src = root / "polis"
    src.mkdir(parents=True, exist_ok=True)
    contributions = _contributions()
    _write_csv(
        src / "comments.csv",
        ["timestamp", "datetime", "comment-id", "author-id", "agrees", "disagrees", "moderated", "comment-body"],
        [[1000 + i, "x", i, 100 + i % 12, 3, 1, 1, text] for i, (text, _) in enumerate(contributions)],
    )
    rng = np.random.default_rng(0)
    votes, groups = [], []
    for voter in range(30):
        group = voter % 2
        groups.append([voter, group])
        for cid, (_, topic) in enumerate(contributions):
            liked = (topic == "bikes") == (group == 0)
            vote = 1 if (liked and rng.random() < 0.8) else (-1 if rng.random() < 0.7 else 0)
            votes.append([voter * 1000 + cid, "x", cid, voter, vote])
    _write_csv(src / "votes.csv", ["timestamp", "datetime", "comment-id", "voter-id", "vote"], votes)
    _write_csv(src / "participants-votes.csv", ["participant", "group-id"], groups)
    _write_csv(
        src / "summary.csv",
        ["key", "value"],
        [["topic", PAYLOADS[0] + " " + PAYLOADS[2]], ["conversation-description", PAYLOADS[8]]],
    )
    # summary.csv has no header row in Polis exports
    (src / "summary.csv").write_text(
        "\n".join(line for line in (src / "summary.csv").read_text(encoding="utf-8").splitlines()[1:]) + "\n",
        encoding="utf-8",
    )
    ingest_polis(ws, src, debate_id=DEBATE, country="NZ", language="en")

    topics = {text: topic for text, topic in contributions}
    summary_units = [
        {"text": f"Unit {k}: {PAYLOADS[k % len(PAYLOADS)]}", "citations": [str(k), str(k + 1)]} for k in range(0, 40, 3)
    ]
    for unit in summary_units:
        topics[unit["text"]] = list(TOPICS)[int(unit["citations"][0]) % 3]
    records = [
        {
            "debate_id": DEBATE,
            "task": "summary",
            "model": "![m](http://127.0.0.2/model.png) <img src=x onerror=window.__xss=901>model",
            "prompt_id": "summary-v1",
            "text": " ".join(u["text"] for u in summary_units),
            "units": summary_units,
        }
    ]
    for k in range(12):
        text = f"Rewritten: {PAYLOADS[(k * 7) % len(PAYLOADS)]} {contributions[k][0][:60]}"
        topics[text] = contributions[k][1]
        records.append(
            {
                "debate_id": DEBATE,
                "task": "reformulation",
                "output_id": f"o{k}![o](http://127.0.0.2/oid{k}.png)",
                "model": "<svg onload=window.__xss=902>rewriter",
                "source_ids": [str(k)],
                "text": text,
            }
        )
    jsonl = root / "outputs.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    ingest_outputs(ws, jsonl)

    embedder = FakeEmbedder(topics=topics, dim=16, noise=0.3, seed=0)
    opinion_map.run(
        ws, debate_id=DEBATE, params=MapParams(n_seeds=2, min_cluster_size=5), models=StageModels(embedder=embedder)
    )
    pluralism.run(
        ws, debate_id=DEBATE, params=pluralism.PluralismParams(n_resamples=50), models=StageModels(embedder=embedder)
    )
    fidelity_params = fidelity.FidelityParams(n_null=50, n_resamples=50, n_permutations=200)
    fidelity.run(ws, debate_id=DEBATE, params=fidelity_params, models=StageModels(embedder=embedder))
    for k, payload in enumerate(PAYLOADS[:10]):
        add_annotation(
            ws.state_path,
            Annotation(DEBATE, "contribution", str(k), "misrepresented", note=f"note {k}: {payload}"),
        )
    return ws
