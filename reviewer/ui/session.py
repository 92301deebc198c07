"""One review as the page sees it: the rules answer at once, then each optional engine
as it finishes, with progress in between. No Gradio here, so it is tested directly.

Every stage is a complete `Result` from `reviewer.review.review` (the shared contract);
the UI only renders it.

A review is one `Run`: cancelling it (Stop, a newer review, the page closing, or the
caller dropping this generator) stops the engine it is waiting for, so the engine's
thread ends within a fraction of a second instead of at the engine's own timeout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from reviewer.engines.base import CANCELLED
from reviewer.image import attach as attach_image
from reviewer.image import inspect_image
from reviewer.review import review
from reviewer.schema import Result, ReviewContext
from reviewer.ui.hub import EngineHub, Run

ENGINE_TIMEOUT = 240.0  # seconds one optional engine may take (the rules answer is already shown)
POLL = 0.25


@dataclass
class Stage:
    result: Result
    phase: str  # "rules" | "progress" (result unchanged) | "engine" (an engine finished) | "done"
    progress: str  # one line for the banner: what is happening now
    ran: list[str] = field(default_factory=list)  # engines whose findings are in `result`
    notes: dict[str, str] = field(default_factory=dict)  # engine -> why it did not run
    final: bool = False
    seconds: float = 0.0


def _in_thread(fn):
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            box["error"] = exc

    t = threading.Thread(target=run, name="reviewer-engine", daemon=True)
    t.start()
    return t, box


def stages(text: str, ctx: ReviewContext, hub: EngineHub, image: bytes | None = None,
           *, timeout: float = ENGINE_TIMEOUT, poll: float = POLL, run: Run | None = None) -> Iterator[Stage]:
    """Yield the rules result first, then progress and results of the optional engines.

    `run` lets the caller cancel this review from another thread (hub.cancel(run)); the
    last stage then notes the engine as "cancelled". Raises ReviewerError (empty draft,
    unreadable photo) before the first yield.
    """
    run = run if run is not None else Run()
    finished = False
    try:
        yield from _stages(text, ctx, hub, image, timeout, poll, run)
        finished = True
    finally:
        if not finished:  # closed early (nobody is listening any more): stop the engines
            hub.cancel(run)


def _stages(text: str, ctx: ReviewContext, hub: EngineHub, image: bytes | None, timeout: float,
            poll: float, run: Run) -> Iterator[Stage]:
    t0 = time.perf_counter()
    report = inspect_image(image) if image else None
    result = attach_image(review(text, ctx), report)
    notes: dict[str, str] = {}
    if hub.rules_only_reason:
        yield Stage(result, "done", "", ["rules"], {"all": hub.rules_only_reason}, True,
                    time.perf_counter() - t0)
        return
    yield Stage(result, "rules", "rules done; starting the other engines…", ["rules"], {},
                False, time.perf_counter() - t0)
    hub.retry_failed()  # an engine that failed a while ago may load now (file fixed meanwhile)

    ran = ["rules"]
    used = []  # LockedEngine wrappers, reused so earlier engines are not run again
    for name, state in hub.states.items():
        if run.cancelled:
            notes[name] = CANCELLED
            continue
        waited = time.perf_counter()
        while not state.settled or not hub.retrieval.settled:  # still loading: say so, keep waiting
            if time.perf_counter() - waited > timeout or run.cancelled:
                break
            yield Stage(result, "progress", f"{name}: loading model "
                        f"({time.perf_counter() - waited:.0f} s)…", list(ran), dict(notes),
                        False, time.perf_counter() - t0)
            time.sleep(poll)
        if run.cancelled:
            notes[name] = CANCELLED
            continue
        if state.phase != "ready":
            notes[name] = "timeout while loading" if not state.settled else (state.detail or state.phase)
            continue
        mine = hub.locked(name, run)
        engines = [*used, mine]
        retriever = hub.retriever
        started = time.perf_counter()
        state.activity = ""
        thread, box = _in_thread(lambda e=engines, r=retriever: review(text, ctx, engines=e, retriever=r))
        while thread.is_alive():
            if time.perf_counter() - started > timeout or run.cancelled:
                break
            took = f"{time.perf_counter() - started:.0f} s"
            if mine.waiting:  # another session (or a stopped review) still holds this engine
                line = f"{state.label or name}: busy with another review, waiting ({took})…"
            else:
                activity = f" · {state.activity}" if state.activity else ""
                line = f"{state.label or name}: reviewing ({took}{activity})…"
            yield Stage(result, "progress", line, list(ran), dict(notes), False,
                        time.perf_counter() - t0)
            thread.join(poll)
        if run.cancelled:
            notes[name] = CANCELLED  # the engine was told to stop; its thread ends on its own
            continue
        if thread.is_alive():
            mine.cancel()  # frees the engine (and its lock) for the next review
            notes[name] = f"timeout after {timeout:.0f} s"
            continue
        if "error" in box:
            notes[name] = f"failed ({box['error'].__class__.__name__})"
            continue
        new = box["value"]
        status = new.engines.get(name, "ok")
        if status != "ok":
            notes[name] = status.removeprefix("unavailable: ")
        else:
            ran.append(name)
        used = engines
        result = attach_image(new, report)
        yield Stage(result, "engine", f"{name}: done", list(ran), dict(notes), False,
                    time.perf_counter() - t0)
    if not used and hub.retriever is not None:  # no engine ran: still show the scored guidance
        result = attach_image(review(text, ctx, retriever=hub.retriever), report)
    yield Stage(result, "done", "", ran, notes, True, time.perf_counter() - t0)
