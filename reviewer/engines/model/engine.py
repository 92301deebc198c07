"""The model engine: prompt -> backend -> checked findings (+ a gated rewrite).

Never raises into the pipeline: every failure becomes `status` ("timeout", "cancelled"
or "unavailable: <reason>") and the rules result stands. Model findings count only after
output.check(); a model rewrite is offered only after gates.check().
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

from reviewer.engines.base import CANCELLED, Draft, EngineOutput
from reviewer.engines.model import gates, output, prompts
from reviewer.engines.model.backends import Backend, BackendError, NoBackend, create_backend
from reviewer.engines.model.config import Settings

OnEvent = Callable[[str, dict], None]  # ("delta" | "finding" | "stage", details)


def first_item_closed(text: str) -> bool:
    """Has the streamed JSON closed its first element of "findings"? (time to first finding)"""
    return bool(output.closed_items(text))


def embedding_similarity() -> Callable[[str, str], float] | None:
    """Cosine similarity with the semantic engine's embedder (loaded on first use), or None
    when that embedder is not installed, in which case the meaning gate is skipped."""
    try:
        from reviewer.retrieval import embedder
    except ImportError:
        return None

    def similarity(a: str, b: str) -> float:
        vecs = embedder.load().encode([a, b])
        return float(vecs[0] @ vecs[1])

    return similarity


class ModelEngine:
    name = "model"

    def __init__(self, settings: Settings, *, similarity=..., on_event: OnEvent | None = None):
        self.settings = settings
        self.on_event = on_event
        self._similarity = embedding_similarity() if similarity is ... else similarity
        self.last: dict = {}  # timings of the last review (benchmarks, UI progress)
        self._stop: threading.Event | None = None  # set by cancel(); one per running review
        self._stop_lock = threading.Lock()
        try:
            self.backend: Backend = create_backend(settings)
            self.setup_error: str | None = None
        except BackendError as exc:
            self.backend = NoBackend()
            self.setup_error = exc.status

    @property
    def meaning_gate(self) -> bool:
        return self._similarity is not None

    def describe(self) -> dict:
        return {**self.backend.describe(), "prompts": prompts.versions(),
                "meaning_gate": "on" if self.meaning_gate else "off (no embedder installed)"}

    def load(self) -> dict:
        return self.backend.load(self.settings.load_timeout)

    def _emit(self, kind: str, details: dict) -> None:
        if self.on_event is not None:
            self.on_event(kind, details)

    def review(self, draft: Draft) -> EngineOutput:
        if self.setup_error:
            return EngineOutput(status=self.setup_error)
        started = time.perf_counter()
        deadline = time.monotonic() + self.settings.timeout
        self.last = {}
        stop = threading.Event()
        with self._stop_lock:
            self._stop = stop
        try:
            out = self._review(draft, deadline, started)
        except BackendError as exc:
            out = EngineOutput(status=exc.status, dropped=dict(self.last.get("dropped", {})))
        except Exception as exc:  # noqa: BLE001 - the rules result must stand whatever happens
            out = EngineOutput(status=f"unavailable: model engine error ({exc.__class__.__name__})")
        finally:
            with self._stop_lock:
                self._stop = None
        if stop.is_set():  # whatever finished meanwhile, a stopped review shows nothing of the model
            return EngineOutput(status=CANCELLED)
        return out

    def cancel(self) -> None:
        """Stop the review running in another thread (UI Stop); it returns status "cancelled".
        Does nothing when no review runs. Safe to call repeatedly."""
        with self._stop_lock:
            if self._stop is None:
                return
            self._stop.set()
            self._cancel_backend()

    def _cancel_backend(self) -> None:
        cancel = getattr(self.backend, "cancel", None)
        if callable(cancel):
            cancel()

    def _stopped(self) -> bool:
        stop = self._stop
        return stop is not None and stop.is_set()

    def _review(self, draft: Draft, deadline: float, started: float) -> EngineOutput:
        stream: list[str] = []

        def on_delta(piece: str) -> None:
            stream.append(piece)
            if "first_token_s" not in self.last:
                self.last["first_token_s"] = time.perf_counter() - started
            if "first_finding_s" not in self.last and "}" in piece and first_item_closed("".join(stream)):
                self.last["first_finding_s"] = time.perf_counter() - started
            self._emit("delta", {"chars": sum(map(len, stream))})
            if self._stopped():  # a cancel that came before the backend had started: again
                self._cancel_backend()

        if self._stopped():
            raise BackendError(CANCELLED)
        msgs = prompts.review_messages(draft)
        gen = self.backend.generate(msgs.messages, schema=output.review_schema(),
                                    max_tokens=self.settings.max_tokens, timeout=deadline - time.monotonic(),
                                    cache_key="review", static_chars=msgs.static_chars,
                                    on_delta=on_delta)
        self.last["review"] = gen
        checked = output.check(gen.text, draft, truncated=gen.finish == "length")
        dropped = Counter(checked.dropped)
        self.last["dropped"] = dropped
        if not checked.parsed:
            why = "cut off at the token limit" if gen.finish == "length" else "not valid JSON"
            return EngineOutput(status=f"unavailable: model output {why}", dropped=dict(dropped))
        for f in checked.findings:
            self._emit("finding", {"paragraph": f.paragraph, "start": f.start, "end": f.end})

        out = EngineOutput(status="ok", findings=checked.findings)
        if self._stopped():
            raise BackendError(CANCELLED)
        if self.settings.rewrite and (draft.rule_findings or checked.findings):
            out.rewrite, out.withheld = self._rewrite(draft, checked.findings, deadline, dropped)
        out.dropped = dict(dropped)
        self.last["seconds"] = time.perf_counter() - started
        return out

    def _rewrite(self, draft: Draft, model_findings, deadline: float, dropped: Counter):
        problems = sorted({f"{f.topic} ({f.paragraph}): {f.message}" for f in draft.rule_findings})
        problems += [f"{f.topic} ({f.paragraph}): {f.quote}" for f in model_findings]
        msgs = prompts.rewrite_messages(draft, problems)
        max_tokens = min(1024, len(draft.text) // 2 + 96)
        try:
            gen = self.backend.generate(msgs.messages, schema=None, max_tokens=max_tokens,
                                        timeout=deadline - time.monotonic(), cache_key="rewrite",
                                        static_chars=msgs.static_chars, on_delta=self._recancel)
        except BackendError as exc:
            if exc.status == CANCELLED:
                raise
            dropped["rewrite_" + ("timeout" if exc.status == "timeout" else "unavailable")] += 1
            return None, f"the model rewrite did not finish ({exc.status})"
        self.last["rewrite"] = gen
        verdict = gates.check(gen.text, draft, self._similarity)
        self.last["rewrite_similarity"] = verdict.similarity
        if not verdict.ok:
            dropped[verdict.gate] += 1
            return None, verdict.reason
        return gen.text.strip(), None

    def _recancel(self, piece: str) -> None:
        if self._stopped():
            self._cancel_backend()

    def close(self) -> None:
        self.backend.close()
