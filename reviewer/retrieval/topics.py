"""Per-topic scores of a draft against the example bank (the semantic engine's signal).

Each query (the whole draft, and each sentence of a multi-sentence draft) is compared
with the bank's phrasings; a topic's score for that query is the mean similarity of its
TOP_N nearest breach phrasings (more stable than the single nearest one), held back by
NEAR_MISS_WEIGHT times how much closer the query is to the bank's near-misses (of any
topic: clean posts look alike across topics). The draft's score is the best query's.
Both choices were compared on the dev split (per-topic AUC and F1 at a fixed clean-draft
false-flag budget). Context decides where a topic can apply at all,
as it does for the rules: anonymity only on public posts, and on a public post by an
author who presents as a doctor without a name it holds whatever the words
(sm-17); boundaries never on a closed professional forum; confidentiality not in a
reply to the patient themself.
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
CONTEXT_SCORE = 2.0  # above any cosine: a context-only breach always passes its threshold


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


def score(ix: store.Index, view: NormalisedText, ctx: ReviewContext) -> Scores:
    import numpy as np

    ectx = effective_context(view, ctx, rulepacks.load())
    out = Scores(ectx=ectx)
    spans = query_spans(view.text)
    if not spans:
        return out
    sims = ix.scores(ix.embedder.encode([view.text[a:b] for a, b in spans]))
    misses = ix.positions("near_miss")
    near_miss = _top_mean(sims[:, misses], np) if misses else None
    for topic, cols in _topic_columns(ix).items():
        if topic not in TOPICS or not applicable(topic, ectx):
            continue
        sub = sims[:, cols]
        per_query = _top_mean(sub, np)
        if near_miss is not None:
            per_query = per_query - NEAR_MISS_WEIGHT * np.maximum(0.0, near_miss - per_query)
        nearest = sub.argmax(axis=1)
        hits = []
        for q, (a, b) in enumerate(spans):
            start, end = view.span(a, b)
            hits.append(Hit(topic, float(per_query[q]), start, end, cols[int(nearest[q])], q > 0 or len(spans) == 1))
        hits.sort(key=lambda h: -h.score)
        out.hits[topic] = hits
        out.topic[topic] = hits[0].score
    for topic in TOPICS:
        if context_breach(topic, ectx):
            out.by_context.add(topic)
            out.topic[topic] = CONTEXT_SCORE + out.topic.get(topic, 0.0)
    return out
