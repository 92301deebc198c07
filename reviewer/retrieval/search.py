"""Query side: which guidance paragraphs matter for this draft, and why.

The draft (normalised, so homoglyph tricks do not hide words) is embedded whole and,
when it has several sentences, sentence by sentence; a paragraph scores the best cosine
similarity any of those queries reaches. Paragraphs cited by rule findings always go in.
sm-9 (the benefits of social media) is never a breach: it is kept out of the hits and
reported separately for positive feedback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from reviewer import guidance
from reviewer.normalise import normalise
from reviewer.retrieval import sentences, store
from reviewer.schema import Finding, GuidanceHit

log = logging.getLogger(__name__)
Mode = Literal["plain", "enriched", "examples", "hybrid"]
BENEFITS = "sm-9"
DEFAULT_K = 5
DEFAULT_MODE: Mode = "hybrid"  # best recall@3 on dev (benchmarks/eval_retrieval.py)


def query_spans(text: str) -> list[tuple[int, int]]:
    """The whole text plus each sentence when there are several (offsets into `text`)."""
    parts = sentences.spans(text)
    whole = [(0, len(text))] if text.strip() else []
    return whole + (parts if len(parts) > 1 else [])


def paragraph_scores(ix: store.Index, sims, mode: Mode = DEFAULT_MODE) -> dict[str, float]:
    """Best similarity per paragraph over all query rows of `sims` (n_queries x n_rows).

    plain: the paragraph's text; enriched: paragraph + summary + description + examples;
    examples: the best of the plain paragraph and each of its breach phrasings;
    hybrid: the best of the enriched text and the mean of its 3 closest breach phrasings."""
    kinds = {"plain": ("paragraph",), "enriched": ("enriched",), "examples": ("paragraph", "breach"),
             "hybrid": ("enriched",)}[mode]
    best = sims.max(axis=0) if len(sims) else None
    scores: dict[str, float] = {}
    if best is None:
        return scores
    for kind in kinds:
        for i in ix.positions(kind):
            pid = ix.rows[i].paragraph
            scores[pid] = max(scores.get(pid, -1.0), float(best[i]))
    if mode == "hybrid":  # enriched text, or the mean of a paragraph's 3 closest phrasings
        by_para: dict[str, list[float]] = {}
        for i in ix.positions("breach"):
            by_para.setdefault(ix.rows[i].paragraph, []).append(float(best[i]))
        for pid, vals in by_para.items():
            top = sorted(vals)[-3:]
            scores[pid] = max(scores.get(pid, -1.0), sum(top) / len(top))
    return scores


@dataclass
class Retrieved:
    hits: list[GuidanceHit]  # breach-relevant paragraphs, cited first
    benefits: GuidanceHit | None  # sm-9, for positive feedback only


def retrieve(text: str, rule_findings: list[Finding] = (), *, k: int = DEFAULT_K,
             mode: Mode = DEFAULT_MODE, model: str | None = None,
             ix: store.Index | None = None) -> Retrieved:
    ix = ix or store.load(model)
    corpus = guidance.load()
    view = normalise(text).text
    spans = query_spans(view)
    sims = ix.scores(ix.embedder.encode([view[a:b] for a, b in spans]))
    scores = paragraph_scores(ix, sims, mode)
    cited = {f.paragraph for f in rule_findings}
    ranked = sorted((p for p in scores if p != BENEFITS), key=lambda p: -scores[p])
    top = set(ranked[:k])
    hits = []
    for pid in list(dict.fromkeys([*sorted(cited, key=lambda p: -scores.get(p, 0.0)), *ranked])):
        if pid not in cited and pid not in top:
            continue
        why = "cited by a finding" if pid in cited else "embedding"
        if pid in cited and pid in top:
            why = "cited by a finding; embedding"
        hits.append(GuidanceHit(paragraph=pid, score=round(scores.get(pid, 0.0), 4),
                                topic=corpus.topic_of(pid), why=why))
    benefits = None
    if BENEFITS in scores:
        benefits = GuidanceHit(paragraph=BENEFITS, score=round(scores[BENEFITS], 4),
                               topic=corpus.topic_of(BENEFITS), why="benefits (never a breach)")
    return Retrieved(hits, benefits)


class Retriever:
    """`review(..., retriever=Retriever())`: loads lazily, and never breaks a review.

    If the embedder or index cannot be loaded, the cited paragraphs alone are returned
    and `error` says why (no draft text in it)."""

    def __init__(self, k: int = DEFAULT_K, mode: Mode = DEFAULT_MODE, model: str | None = None):
        self.k, self.mode, self.model = k, mode, model
        self.error: str | None = None

    def __call__(self, text: str, rule_findings: list[Finding]) -> list[GuidanceHit]:
        try:
            return retrieve(text, rule_findings, k=self.k, mode=self.mode, model=self.model).hits
        except Exception as exc:  # noqa: BLE001 - retrieval is an aid; the review must go on
            from reviewer.review import cited_guidance

            self.error = f"{exc.__class__.__name__}: {exc}" if isinstance(exc, store_errors()) \
                else exc.__class__.__name__
            log.info("guidance retrieval unavailable (%s)", self.error)
            return cited_guidance(rule_findings)


def store_errors() -> tuple[type, ...]:
    """Exceptions whose message is ours (safe to show): never contains draft text."""
    from reviewer.errors import ReviewerError

    return (ReviewerError,)
