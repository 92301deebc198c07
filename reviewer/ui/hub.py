"""The optional engines as the UI sees them: created and warmed in the background, shared
by all sessions, each run under its own lock (a llama context is not thread-safe).

Rules never wait for this: a session asks `ready()` and uses what is there.

Cancelling is per review run (`Run`): Stop, a newer review or the session closing calls
`hub.cancel(run)`, which cancels the engines that run is using (or waiting for) and no
other session's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reviewer.engines.base import CANCELLED, Draft, Engine, EngineOutput

log = logging.getLogger("reviewer.ui")

OPTIONAL = ("semantic", "model")
WARM_TEXT = "Warm-up draft: lovely weather for the charity run this weekend."


@dataclass
class EngineState:
    name: str
    phase: str = "waiting"  # waiting | loading | ready | unavailable | off
    detail: str = ""
    seconds: float | None = None
    engine: Engine | None = None
    label: str = ""
    activity: str = ""  # live progress of the current run ("412 characters generated")
    failed_at: float | None = None  # monotonic time of a load failure that a retry could fix

    def fail(self, detail: str, retryable: bool = True) -> None:
        self.phase, self.detail = "unavailable", detail
        self.failed_at = time.monotonic() if retryable else None

    @property
    def settled(self) -> bool:
        return self.phase in ("ready", "unavailable", "off")

    def describe(self) -> str:
        if self.phase == "ready":
            took = f", warmed in {self.seconds:.1f} s" if self.seconds is not None else ""
            return f"{self.label or self.name}: ready{took}"
        if self.phase == "loading":
            return f"{self.name}: loading…"
        if self.phase == "waiting":
            return f"{self.name}: waiting to load"
        return f"{self.name}: {self.detail}" if self.detail else f"{self.name}: {self.phase}"


# A failed engine is loaded again by the next review once this long has passed: the user
# may have fixed the model file or the embedder meanwhile, and should not need a restart.
RETRY_AFTER_S = 30.0
QUEUE_POLL = 0.05  # how often a queued review checks whether it was cancelled
REDELIVER_S = 5.0  # how long a cancel keeps being re-sent while the engine is still running


class LockedEngine:
    """Serialises calls to one shared engine and remembers its output for one draft,
    so a review that adds a second engine does not run the first one again.

    One wrapper belongs to one review run: `cancel()` stops the shared engine only while
    this wrapper's call is the one running (a per-wrapper guard makes that check and the
    call atomic), and a wrapper still queued for the engine gives up its place."""

    def __init__(self, engine: Engine, lock: threading.Lock) -> None:
        self.name = engine.name
        self._engine = engine
        self._lock = lock
        self._key: tuple | None = None
        self._out: EngineOutput | None = None
        self.waiting = False  # True while queued behind another session's review
        self._cancelled = threading.Event()
        self._guard = threading.Lock()
        self._running = False  # this wrapper's call to the engine is in progress

    def review(self, draft: Draft) -> EngineOutput:
        key = (draft.text, draft.context.model_dump_json())
        if self._key == key and self._out is not None:
            return self._out
        if self._cancelled.is_set():
            return EngineOutput(status=CANCELLED)
        self.waiting = self._lock.locked()
        while not self._lock.acquire(timeout=QUEUE_POLL):  # queued: a Stop must not wait its turn
            if self._cancelled.is_set():
                self.waiting = False
                return EngineOutput(status=CANCELLED)
        try:
            self.waiting = False
            with self._guard:
                if self._cancelled.is_set():
                    return EngineOutput(status=CANCELLED)
                self._running = True
            try:
                out = self._engine.review(draft)
            except Exception as exc:  # noqa: BLE001 - an engine must not take the rules down
                log.warning("engine %s failed: %s", self.name, exc.__class__.__name__)
                out = EngineOutput(status=f"unavailable: {self.name} failed ({exc.__class__.__name__})")
            finally:
                with self._guard:
                    self._running = False
        finally:
            self._lock.release()
        if self._cancelled.is_set():
            return EngineOutput(status=CANCELLED)
        self._key, self._out = key, out
        return out

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Stop this wrapper's review: give up a queued place, or cancel the engine's run."""
        self._cancelled.set()
        if self._deliver():
            # The engine may not have registered its run yet (microseconds after _running
            # is set): send again until its review returns. Cancel is idempotent.
            threading.Thread(target=self._redeliver, name="reviewer-cancel", daemon=True).start()

    def _deliver(self) -> bool:
        """Cancel the engine if this wrapper's call is running; False when it is not."""
        cancel = getattr(self._engine, "cancel", None)
        with self._guard:
            if not self._running or not callable(cancel):
                return False
            try:
                cancel()
            except Exception as exc:  # noqa: BLE001 - a failed cancel leaves the engine's own timeout
                log.warning("cancelling %s failed: %s", self.name, exc.__class__.__name__)
                return False
            return True

    def _redeliver(self) -> None:
        deadline = time.monotonic() + REDELIVER_S
        while time.monotonic() < deadline:
            time.sleep(QUEUE_POLL)
            if not self._deliver():
                return


class Run:
    """One review run of one session: the engine wrappers it uses, so that a cancel stops
    exactly these (and a wrapper added after the cancel starts cancelled)."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._engines: list[LockedEngine] = []
        self._lock = threading.Lock()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def add(self, engine: LockedEngine) -> LockedEngine:
        with self._lock:
            self._engines.append(engine)
            if self._cancelled.is_set():
                engine.cancel()
        return engine

    def cancel(self) -> None:
        with self._lock:
            self._cancelled.set()
            engines = list(self._engines)
        for engine in engines:
            engine.cancel()


def _label(name: str, engine: Engine) -> str:
    """A short name for the banner, e.g. "model (SmolLM2-135M-Instruct)" when the engine tells us."""
    value = next((getattr(engine, a) for a in ("label", "model_name", "display_name")
                  if isinstance(getattr(engine, a, None), str)), None)
    if value is None and callable(getattr(engine, "describe", None)):
        try:
            model = engine.describe().get("model")
        except Exception:  # noqa: BLE001 - a label is decoration
            model = None
        if isinstance(model, str) and model:
            value = model.replace("\\", "/").rsplit("/", 1)[-1].split(".")[0]
    if not value or value == name:
        return name
    return value if value.startswith(name) else f"{name} ({value})"


def _default_retriever() -> Callable:
    from reviewer.retrieval import Retriever

    return Retriever()


def _default_factory(name: str, on_event: Callable | None = None) -> Engine:
    from reviewer import engines

    if name == "model" and on_event is not None:  # the model reports generation progress
        return engines.create(name, on_event=on_event)
    return engines.create(name)


class EngineHub:
    """Creates and warms the optional engines once per process, in a background thread."""

    def __init__(self, names: Sequence[str] = OPTIONAL, *, rules_only_reason: str | None = None,
                 factory: Callable[[str], Engine] = _default_factory,
                 retriever_factory: Callable[[], Callable] | None = _default_retriever) -> None:
        self.states = {n: EngineState(n) for n in names}
        self._locks = {n: threading.Lock() for n in names}
        self._factory = factory
        self._retriever_factory = retriever_factory
        self._thread: threading.Thread | None = None
        self._retry_lock = threading.Lock()
        self.rules_only_reason = rules_only_reason
        # Guidance retrieval (embeddings) is not an engine but loads like one.
        self.retrieval = EngineState("guidance search")
        self._retriever: Callable | None = None
        if retriever_factory is None:
            self.retrieval.phase, self.retrieval.detail = "off", "not requested"
        if rules_only_reason:
            for s in [self.retrieval, *self.states.values()]:
                s.phase, s.detail = "off", rules_only_reason

    def start(self) -> EngineHub:
        if self._thread is None and not self.rules_only_reason:
            self._thread = threading.Thread(target=self._warm_all, name="reviewer-warm", daemon=True)
            self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def retry_failed(self, min_age: float = RETRY_AFTER_S) -> list[str]:
        """Load again, in the background, what failed to load at least `min_age` s ago (a
        missing or corrupt model file, an embedder folder that was not there). A review
        that starts now waits for it like for the first warm-up; not-installed engines are
        not retried. Returns the names being retried."""
        with self._retry_lock:
            if self.rules_only_reason or (self._thread is not None and self._thread.is_alive()):
                return []
            now = time.monotonic()
            due = [s for s in (self.retrieval, *self.states.values())
                   if s.phase == "unavailable" and s.failed_at is not None and now - s.failed_at >= min_age]
            for state in due:
                self._close(state)
                state.phase, state.detail, state.failed_at, state.engine = "waiting", "", None, None
            if due:
                log.info("retrying %s", ", ".join(s.name for s in due))
                self._thread = threading.Thread(target=self._rewarm, args=(due,), name="reviewer-retry",
                                                daemon=True)
                self._thread.start()
            return [s.name for s in due]

    def _rewarm(self, due: list[EngineState]) -> None:
        for state in due:  # retrieval first, as in _warm_all: the semantic engine shares it
            if state is self.retrieval:
                self._warm_retrieval()
            else:
                self._warm(state)

    def _warm_all(self) -> None:
        # One after the other: on a 2-core laptop parallel loads only slow each other down.
        # Retrieval first: it loads the embedding model the semantic engine shares.
        self._warm_retrieval()
        for state in self.states.values():
            self._warm(state)

    def _warm_retrieval(self) -> None:
        state = self.retrieval
        if state.settled:
            return
        state.phase = "loading"
        t0 = time.perf_counter()
        try:
            retriever = self._retriever_factory()
            retriever(WARM_TEXT, [])
        except ImportError as exc:
            state.fail(f"not installed ({exc.__class__.__name__})", retryable=False)
            return
        except Exception as exc:  # noqa: BLE001 - anything else: cited paragraphs only
            state.fail(f"failed to load ({exc.__class__.__name__})")
            return
        state.seconds = time.perf_counter() - t0
        if getattr(retriever, "error", None):
            state.fail(retriever.error)
            return
        self._retriever, state.phase = retriever, "ready"

    @property
    def retriever(self) -> Callable | None:
        """Scores the guidance paragraphs for a draft, or None (cited paragraphs only)."""
        return self._retriever

    def _warm(self, state: EngineState) -> None:
        state.phase = "loading"
        t0 = time.perf_counter()
        try:
            engine = (self._factory(state.name, self._progress_callback(state))
                      if self._factory is _default_factory else self._factory(state.name))
        except (ImportError, KeyError) as exc:  # a restart (after an install) is what fixes these
            state.fail(f"engine not installed ({exc.__class__.__name__})", retryable=False)
            return
        except Exception as exc:  # noqa: BLE001 - creating must not raise, but never trust it
            state.fail(f"could not start ({exc.__class__.__name__})")
            return
        state.label = _label(state.name, engine)
        state.engine = engine  # known now so close() can stop it mid-load; used only once ready
        status = self._warm_engine(state.name, engine)
        state.seconds = time.perf_counter() - t0
        if status == "ok":
            state.phase, state.failed_at = "ready", None
        else:
            state.fail(status.removeprefix("unavailable: "))

    def _warm_engine(self, name: str, engine: Engine) -> str:
        """Load weights now rather than on the first user's review: the engine's own
        load/warm method if it has one, else one throw-away review."""
        try:
            with self._locks[name]:
                loader = next((getattr(engine, a) for a in ("warm", "load")
                               if callable(getattr(engine, a, None))), None)
                if loader is None:
                    from reviewer.review import review

                    return review(WARM_TEXT, engines=[engine]).engines.get(name, "ok")
                loader()
            status = getattr(engine, "status", "ok")
            status = status() if callable(status) else status
            return status if isinstance(status, str) and status.startswith("unavailable") else "ok"
        except Exception as exc:  # noqa: BLE001 - our engines carry a safe `status` on their errors
            log.warning("warming %s failed: %s", name, exc.__class__.__name__)
            status = getattr(exc, "status", None)
            if isinstance(status, str):
                return status
            return f"unavailable: failed to load ({exc.__class__.__name__})"

    @staticmethod
    def _progress_callback(state: EngineState) -> Callable[[str, dict], None]:
        """Counts only: the generated text itself never leaves the engine this way."""
        def on_event(kind: str, details: dict) -> None:
            if kind == "delta":
                state.activity = f"{details.get('chars', 0)} characters generated"
            elif kind == "finding":
                state.activity = f"finding cites {details.get('paragraph', '?')}"
        return on_event

    def close(self) -> None:
        """Stop engine workers (the model runs in its own process) so the server exits promptly."""
        for state in self.states.values():
            self._close(state)

    @staticmethod
    def _close(state: EngineState) -> None:
        closer = getattr(state.engine, "close", None)
        if callable(closer):
            try:
                closer()
            except Exception as exc:  # noqa: BLE001 - shutting down or replacing it anyway
                log.warning("closing %s failed: %s", state.name, exc.__class__.__name__)

    # --- what a session uses -------------------------------------------------------------
    def settled(self) -> bool:
        return self.retrieval.settled and all(s.settled for s in self.states.values())

    def pending(self) -> list[str]:
        """Engines still loading: a review may wait for them (the rules answer is already shown)."""
        return [n for n, s in self.states.items() if not s.settled]

    def ready(self) -> list[str]:
        return [n for n, s in self.states.items() if s.phase == "ready"]

    def locked(self, name: str, run: Run | None = None) -> LockedEngine:
        state = self.states[name]
        assert state.engine is not None, name
        engine = LockedEngine(state.engine, self._locks[name])
        return run.add(engine) if run is not None else engine

    @staticmethod
    def cancel(run: Run | None) -> None:
        """Stop one session's review run: its queued or running engines, nobody else's."""
        if run is not None:
            run.cancel()

    def summary(self) -> str:
        """One line for the page: which engines can run, or why only rules."""
        if self.rules_only_reason:
            return f"rules only: {self.rules_only_reason}"
        states = [self.retrieval, *self.states.values()]
        return " · ".join(["rules: ready"] + [s.describe() for s in states])
