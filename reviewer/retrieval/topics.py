"""Per-topic scores of a draft (the semantic engine's signal).

Each query (the whole draft, and each sentence of a multi-sentence draft) is embedded;
a topic's score for that query is the probability from a small per-topic logistic
regression on the embedding (weights in index/semantic.json, fitted by
`reviewer index calibrate` on the bank's breach and near-miss phrasings plus the dev
drafts). The draft's score is the best query's. The nearest breach phrasing of the topic
is kept with every query as the evidence shown to the user. Without fitted weights
(an old thresholds file) the score falls back to the mean similarity of the TOP_N
nearest breach phrasings, held back by NEAR_MISS_WEIGHT times how much closer the
query is to the bank's near-misses.

Context decides where a topic can apply at all, as it does for the rules: anonymity only
on public posts, and on a public post by an author who presents as a doctor without a
name it holds whatever the words (sm-17); boundaries never on a closed professional
forum; confidentiality not in a reply to the patient themself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reviewer import rulepacks
from reviewer.engines.rules import EffectiveContext, effective_context
from reviewer.normalise import NormalisedText
from reviewer.retrieval import store
from reviewer.retrieval.search import query_spans
from reviewer.schema import TOPICS, ReviewContext

TOP_N = 3
NEAR_MISS_WEIGHT = 0.5
CONTEXT_SCORE = 2.0  # above any score: a context-only breach always passes its threshold


def applicable(topic: str, ectx: EffectiveContext) -> bool:
    if topic == "anonymity":
        return ectx.audience == "public" and ectx.named is not True
    if topic == "boundaries":
        return ectx.audience != "professional"
    if topic == "confidentiality":
        return ectx.audience != "patient"
    return True


def context_breach(topic: str, ectx: EffectiveContext) -> bool:
    """Breaches decided by context alone (sm-17: a doctor posting publicly without a name)."""
    return topic == "anonymity" and ectx.audience == "public" and ectx.as_doctor is True \
        and ectx.named is False


@dataclass
class Hit:
    """One query's score for one topic; `start`/`end` are offsets into the original text."""

    topic: str
    score: float
    start: int
    end: int
    example: int  # row index of the nearest breach phrasing
    sentence: bool  # False for the whole-draft query


@dataclass
class Scores:
    topic: dict[str, float] = field(default_factory=dict)  # draft-level score per topic
    hits: dict[str, list[Hit]] = field(default_factory=dict)  # per topic, best first
    by_context: set[str] = field(default_factory=set)
    ectx: EffectiveContext | None = None


def _topic_columns(ix: store.Index) -> dict[str, list[int]]:
    cols: dict[str, list[int]] = {}
    for i in ix.positions("breach"):
        cols.setdefault(ix.rows[i].topic, []).append(i)
    return cols


def _top_mean(sub, np):
    n = min(TOP_N, sub.shape[1])
    return np.sort(sub, axis=1)[:, -n:].mean(axis=1)


def classifier_arrays(model: dict) -> dict:
    """{topic: (w, b)} as numpy arrays, converted once per thresholds dict."""
    import numpy as np

    return {t: (np.asarray(v["w"], dtype="float32"), float(v["b"])) for t, v in model.items()}


def query_scores(ix: store.Index, vecs, sims, classifier: dict | None) -> dict:
    """{topic: per-query score array} for the topics that have breach phrasings."""
    import numpy as np

    out = {}
    cols = _topic_columns(ix)
    if classifier is not None:
        for topic, (w, b) in classifier.items():
            if topic in cols:
                out[topic] = 1.0 / (1.0 + np.exp(-(vecs @ w + b)))
        return out
    misses = ix.positions("near_miss")
    near_miss = _top_mean(sims[:, misses], np) if misses else None
    for topic, c in cols.items():
        per_query = _top_mean(sims[:, c], np)
        if near_miss is not None:
            per_query = per_query - NEAR_MISS_WEIGHT * np.maximum(0.0, near_miss - per_query)
        out[topic] = per_query
    return out


def score(ix: store.Index, view: NormalisedText, ctx: ReviewContext, classifier: dict | None = None) -> Scores:
    ectx = effective_context(view, ctx, rulepacks.load())
    out = Scores(ectx=ectx)
    spans = query_spans(view.text)
    if not spans:
        return out
    vecs = ix.embedder.encode([view.text[a:b] for a, b in spans])
    sims = ix.scores(vecs)
    per_topic = query_scores(ix, vecs, sims, classifier)
    cols = _topic_columns(ix)
    for topic, per_query in per_topic.items():
        if topic not in TOPICS or not applicable(topic, ectx):
            continue
        nearest = sims[:, cols[topic]].argmax(axis=1)
        hits = []
        for q, (a, b) in enumerate(spans):
            start, end = view.span(a, b)
            hits.append(Hit(topic, float(per_query[q]), start, end, cols[topic][int(nearest[q])],
                            q > 0 or len(spans) == 1))
        hits.sort(key=lambda h: -h.score)
        out.hits[topic] = hits
        out.topic[topic] = hits[0].score
    for topic in TOPICS:
        if context_breach(topic, ectx):
            out.by_context.add(topic)
            out.topic[topic] = CONTEXT_SCORE + out.topic.get(topic, 0.0)
    return out
