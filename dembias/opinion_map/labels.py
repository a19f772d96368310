"""Cluster labels: c-TF-IDF keywords (stop words for every language present) and representative texts.

c-TF-IDF (as in BERTopic): the texts of each cluster form one document; a term's weight in cluster c
is ``tf(t, c) * log(1 + A / f(t))`` with tf the term frequency normalised by the cluster's term count,
A the mean number of terms per cluster and f(t) the term's frequency over all clusters. Words are
lower-cased runs of letters; Chinese and Japanese text is split into character bigrams.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

_STOP_LISTS = {
    "de": """aber alle allem allen aller alles als also am an ander andere anderen anderer anderes auch auf aus bei
        bin bis bist da damit dann das dass dasselbe dazu dein deine dem den denn der des dessen deshalb die dies
        diese diesem diesen dieser dieses doch dort du durch ein eine einem einen einer eines einig einige er es
        etwas euch euer für gegen gewesen hab habe haben hat hatte hatten hier hin hinter ich ihm ihn ihnen ihr
        ihre ihrem ihren ihrer im in indem ins ist jede jedem jeden jeder jedes jene jetzt kann kein keine keinen
        können könnte machen man manche mehr mein meine mich mir mit muss müssen musste nach nicht nichts noch nun
        nur ob oder ohne sehr sein seine sich sie sind so soll sollen sollte sondern sonst über um und uns unser
        unsere unter viel vom von vor während war waren warum was weil welche wenn werden wie wieder will wir wird
        wo wollen würde würden zu zum zur zwar zwischen sowie bzw z.b dafür daher damit dadurch""",
    "fr": """a au aux avec ce ces cet cette dans de des du elle elles en est et eux il ils je la le les leur leurs
        lui ma mais me même mes moi mon ne nos notre nous on ou où par pas pour qu que qui sa se ses son sont sur
        ta te tes toi ton tu un une vos votre vous y été être avoir fait faire plus comme tout tous toute toutes
        aussi bien doit doivent peut sans si ni car donc alors ainsi très""",
    "it": """a ad al alla alle allo agli ai anche che chi ci come con contro da dal dalla dalle dei del della delle
        dello di e è essere fa gli ha hanno i il in io la le lei li lo loro ma mi mio ne nel nella nelle noi non
        o per più perché può quando quello questa queste questi questo se si sia sono su sua sue sui sul sulla
        suo tra tu tutti tutto un una uno vi voi deve devono molto""",
    "es": """a al algo como con contra cual cuando de del desde donde el ella ellos en entre era es esa esas ese
        eso esos esta estas este esto estos está están fue ha hay la las le les lo los más me mi mucho muy nada
        ni no nos nuestro o otra otro para pero por porque que quien se ser si sin sobre su sus también tan te
        todo todos tu un una uno unos y ya debe deben puede""",
    "nl": """aan al alles als ben bij dan dat de der deze die dit doch doen door dus een eens en er ge geen heb
        hebben heeft hem het hier hij hoe hun ik in is ja je kan kon kunnen maar me meer men met mij mijn moet
        na naar niet niets nog nu of om omdat ons ook op over te tegen toch tot u uit van veel voor want was wat
        we wel werd wezen wie wij wil worden zal ze zelf zich zij zijn zo zonder zou""",
    "zh": """的 了 和 是 在 我 有 他 她 它 们 这 那 也 就 都 而 及 与 或 一 个 上 下 不 人 会 对 为 以 之 其 中 从 被 把 让
        要 可 能 所 得 着 很 到 说 还 没 吗 呢 吧 啊 嗎 這 們 個 為 對 會 與 從 讓 還 說 應 該 應該 我們 他們 可以 如果 因為 因为
        所以 但是 就是 不是 沒有 没有 一個 一个 覺得 觉得 認為 认为 應該 应该 希望 需要 什麼 什么 這樣 这样 那麼
        那么 自己 大家 現在 现在""",
}


def stop_words(language: str | None) -> frozenset[str]:
    """Stop words of a language code (``en``, ``de``, ``fr``, ``it``, ``es``, ``nl``, ``zh``...)."""
    base = (language or "").lower().split("-")[0]
    if base == "en":
        return frozenset(ENGLISH_STOP_WORDS)
    return frozenset(_STOP_LISTS.get(base, "").split())


def stop_words_for(languages: Iterable[str | None]) -> frozenset[str]:
    """Union of the stop words of every language present, English always included."""
    words = set(ENGLISH_STOP_WORDS)
    for language in set(languages):
        words |= stop_words(language)
    return frozenset(words)


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


def tokenize(text: str, *, stop: frozenset[str] = frozenset()) -> list[str]:
    """Lower-cased word tokens; runs of CJK characters become character bigrams (single characters alone)."""
    tokens: list[str] = []
    for run in _CJK.findall(text):
        if len(run) == 1:
            grams = [run]
        else:
            grams = [run[i : i + 2] for i in range(len(run) - 1)]
        # a bigram that holds a one-character stop word (的, 我, 是...) is glue, not content
        tokens.extend(g for g in grams if g not in stop and not any(ch in stop for ch in g))
    rest = _CJK.sub(" ", text).lower()
    tokens.extend(w for w in _WORD.findall(rest) if w not in stop)
    return tokens


def ctfidf_keywords(
    texts: Sequence[str],
    clusters: Sequence[int],
    *,
    languages: Sequence[str | None] | None = None,
    top_n: int = 8,
) -> dict[int, list[str]]:
    """The top ``top_n`` c-TF-IDF keywords of each cluster (noise, -1, included as its own document)."""
    stop = stop_words_for(languages or [])
    counts: dict[int, Counter[str]] = {}
    for text, cluster in zip(texts, clusters, strict=True):
        counts.setdefault(int(cluster), Counter()).update(tokenize(text, stop=stop))
    total = Counter()
    for counter in counts.values():
        total.update(counter)
    if not total:
        return {c: [] for c in counts}
    mean_terms = np.mean([sum(c.values()) for c in counts.values()])
    keywords = {}
    for cluster, counter in counts.items():
        n_terms = sum(counter.values()) or 1
        scored = [(count / n_terms * np.log1p(mean_terms / total[term]), term) for term, count in counter.items()]
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        keywords[cluster] = [term for _, term in scored[:top_n]]
    return keywords


def representatives(
    ids: Sequence[str], embeddings: np.ndarray, clusters: np.ndarray, *, n: int = 5
) -> dict[int, list[str]]:
    """The ``n`` contributions of each cluster closest (cosine) to the cluster's centroid, closest first."""
    clusters = np.asarray(clusters)
    ids_array = np.asarray(ids, dtype=object)
    found = {}
    for cluster in np.unique(clusters):
        members = np.flatnonzero(clusters == cluster)
        vectors = embeddings[members]
        centroid = vectors.mean(axis=0)
        centroid /= np.linalg.norm(centroid) or 1.0
        order = np.lexsort((ids_array[members].astype(str), -(vectors @ centroid)))
        found[int(cluster)] = [str(x) for x in ids_array[members[order[:n]]]]
    return found


def cluster_label(keywords: Sequence[str], *, n: int = 3) -> str:
    """A short label from the first keywords (``"bus / transit / routes"``)."""
    return " / ".join(keywords[:n]) if keywords else ""
