"""The `semantic` engine: draft sentences close to the bank's breach phrasings become findings.

A second opinion that needs no LLM: all-MiniLM-L6-v2 embeddings (its top layers fine-tuned
for this, index/semantic_encoder.npz) of each sentence, read with its whole draft, are scored per topic by kernel classifiers fitted on the example
bank (index/examples.yml) and the dev split; a sentence whose topic score passes that
topic's threshold (both stored in index/ by `reviewer index calibrate`) is reported with
the nearest breach phrasing of the bank as evidence. Patient
identifiers stay the rules' job. Heavy libraries load on the first review, once per
process; any failure is reported as "unavailable: <reason>", never raised.
"""

from __future__ import annotations

import logging
import threading

from reviewer import guidance
from reviewer.engines.base import Draft, EngineOutput
from reviewer.errors import ReviewerError
from reviewer.schema import Finding

log = logging.getLogger(__name__)
MAX_PER_TOPIC = 3  # sentences reported per topic; the strongest make the point
# A confidentiality finding cites the paragraph for where the post goes, as the rules do.
_CONF_PARAGRAPH = {"public": "sm-14", "friends": "gmp-69", "professional": "sm-12", "patient": "conf-118"}
_CONFIDENCE_SPAN = 0.25  # score above threshold at which confidence reaches 1


class SemanticEngine:
    name = "semantic"

    def __init__(self, model: str | None = None, thresholds: str | None = None) -> None:
        self._model = model
        self._thresholds_path = thresholds
        self._lock = threading.Lock()
        self._state: tuple | None = None  # (index, thresholds)
        self._error: str | None = None

    def load(self) -> None:
        """Load the embedder, index and thresholds (once; later calls are free)."""
        with self._lock:
            if self._state is not None or self._error is not None:
                return
            try:
                from pathlib import Path

                from reviewer.retrieval import store, thresholds

                ix = store.load(self._model)
                cal = thresholds.load(ix.meta["model_id"],
                                      Path(self._thresholds_path) if self._thresholds_path else None,
                                      embedder=self._model)
                self.use(ix, cal)
            except ReviewerError as exc:  # our messages carry no draft text
                self._error = str(exc)
            except Exception as exc:  # noqa: BLE001 - never raise into the pipeline
                log.warning("semantic engine failed to load (%s)", exc.__class__.__name__)
                self._error = f"load failed ({exc.__class__.__name__})"

    def use(self, ix, cal: dict) -> None:
        """Score with this index and calibration (calibration and benchmarks inject their own:
        a dict with `threshold` and `classifier`, as thresholds.load() returns)."""
        self._state = (ix, cal)

    @property
    def status(self) -> str:
        if self._error:
            return f"unavailable: {self._error}"
        return "ok" if self._state else "not loaded"

    def review(self, draft: Draft) -> EngineOutput:
        self.load()
        if self._state is None:
            return EngineOutput(status=self.status)
        try:
            return EngineOutput(findings=self._findings(draft))
        except Exception as exc:  # noqa: BLE001
            log.warning("semantic engine failed on a draft (%s)", exc.__class__.__name__)
            return EngineOutput(status=f"unavailable: review failed ({exc.__class__.__name__})")

    def scores(self, draft: Draft):
        from reviewer.retrieval import topics

        ix, cal = self._state
        return topics.score(ix, draft.view, draft.context, cal["classifier"], cal.get("encoder"))

    def _findings(self, draft: Draft) -> list[Finding]:
        from reviewer.retrieval import bank

        ix, cal = self._state
        limits: dict[str, float] = cal["threshold"]
        scores = self.scores(draft)
        corpus = guidance.load()
        entries = bank.load()
        findings: list[Finding] = []
        for topic, value in scores.topic.items():
            limit = limits.get(topic)
            if limit is None or value < limit:
                continue
            if topic in scores.by_context:
                para = "sm-17"
                findings.append(Finding(
                    rule=f"semantic-{topic}", paragraph=para, topic=topic, source="semantic",
                    severity="low", message=corpus.get(para).summary,
                    suggestion=_suggestion(entries, para, corpus),
                    confidence=1.0, evidence="context: a public post by a doctor from an account without their name",
                    found_by=["semantic"], agreement="semantic only"))
                continue
            hits = scores.hits[topic]
            chosen = [h for h in hits if h.sentence and h.score >= limit][:MAX_PER_TOPIC]
            if not chosen:  # only the whole draft passed: point at its strongest sentence
                chosen = [next((h for h in hits if h.sentence), hits[0])]
            for h in chosen:
                row = ix.rows[h.example]
                para = row.paragraph
                if topic == "confidentiality" and para != "sm-13":
                    para = _CONF_PARAGRAPH[draft.context.audience]
                conf = 0.5 + 0.5 * min(1.0, max(0.0, h.score - limit) / _CONFIDENCE_SPAN)
                findings.append(Finding(
                    rule=f"semantic-{topic}", paragraph=para, topic=topic, source="semantic",
                    severity="medium", start=h.start, end=h.end, quote=draft.text[h.start:h.end],
                    message=f"This reads like a {topic} concern: {corpus.get(para).summary}",
                    suggestion=_suggestion(entries, para, corpus),
                    confidence=round(conf, 3),
                    evidence=f"close to the example \"{row.text}\" ({row.note}; {row.paragraph})",
                    found_by=["semantic"], agreement="semantic only"))
        findings.sort(key=lambda f: (f.start if f.start is not None else -1, f.topic))
        return findings


def _suggestion(entries, para: str, corpus) -> str:
    entry = entries.entry(para)
    if entry is not None and entry.suggest:
        return entry.suggest
    return f"Reread guidance {para} before posting: {corpus.get(para).summary}"


def create(**options) -> SemanticEngine:
    """Cheap: nothing is loaded until the first review (or an explicit .load())."""
    return SemanticEngine(model=options.get("model"), thresholds=options.get("thresholds"))
