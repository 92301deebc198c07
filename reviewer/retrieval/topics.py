"""Per-topic scores of a draft (the semantic engine's signal).

Each query (the whole draft, and each sentence of a multi-sentence draft) is embedded and
scored per topic by the kernel classifiers of reviewer/retrieval/classifier.py as the pair
(query, whole draft), giving a probability; the draft's score is the best query's. The
nearest breach phrasing of the topic in the FAISS index is kept with every query as the
evidence shown to the user.

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


def score(ix: store.Index, view: NormalisedText, ctx: ReviewContext, classifier, encoder=None) -> Scores:
    """`classifier`: the KernelModel of the calibration (thresholds.load()["classifier"]);
    `encoder`: the embedder it reads (the calibration's fine-tuned one), else the index's.
    The nearest bank phrasing is always found in the index's own vector space."""
    ectx = effective_context(view, ctx, rulepacks.load())
    out = Scores(ectx=ectx)
    spans = query_spans(view.text)
    if not spans:
        return out
    texts = [view.text[a:b] for a, b in spans]
    vecs = ix.embedder.encode(texts)
    sims = ix.scores(vecs)
    read = encoder.encode(texts) if encoder is not None else vecs
    per_topic = classifier.probabilities(read, read[0])
    cols = _topic_columns(ix)
    for topic, per_query in per_topic.items():
        if topic not in cols or not applicable(topic, ectx):
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
