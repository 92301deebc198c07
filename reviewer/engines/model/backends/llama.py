"""The `llama` backend: llama-cpp-python in a separate, long-lived worker process.

llama.cpp is native code: a bad GGUF, an out-of-memory kill or a CPU-specific bug can
take the process down. Running it in a worker (llama_worker.py, JSON lines over pipes)
turns any of those into "unavailable: model process crashed (signal N)" for this review,
and the next review starts a fresh worker. The worker loads the model once and stays
warm; one request runs at a time.

cancel() sends the worker `{"op": "cancel", "id": N}`: generation N stops at its next
token and the worker stays loaded (prefix cache kept). A worker that does not answer
within CANCEL_GRACE_S (stuck in native code) is killed; the next request starts a new one.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

from reviewer.engines.model.backends import (
    BackendError,
    Generation,
    OnDelta,
    cancelled,
    unavailable,
)
from reviewer.engines.model.config import Settings

GGUF_MAGIC = b"GGUF"
KILL_GRACE_S = 5.0  # the worker stops itself at the deadline; this covers a stuck prompt eval
CANCEL_GRACE_S = 3.0  # a cancelled worker answers at its next token; a long prompt eval may not


def _signal_name(code: int) -> str:
    try:
        return f"{-code}, {signal.Signals(-code).name}"
    except ValueError:
        return str(-code)


class Worker:
    """One worker process and the thread that reads its replies."""

    def __init__(self):
        env = dict(os.environ)
        env.setdefault("OMP_NUM_THREADS", "1")
        debug = os.environ.get("REVIEWER_MODEL_DEBUG") == "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reviewer.engines.model.backends.llama_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=None if debug else subprocess.DEVNULL, env=env, text=True, encoding="utf-8",
        )
        self.replies: queue.Queue = queue.Queue()
        self._send_lock = threading.Lock()  # cancel() writes from another thread
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                self.replies.put(json.loads(line))
            except json.JSONDecodeError:
                continue
        self.replies.put(None)  # EOF: the process ended

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, req: dict) -> None:
        try:
            with self._send_lock:
                self.proc.stdin.write(json.dumps(req) + "\n")
                self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):  # ValueError: pipe already closed
            raise self.crashed() from None

    def crashed(self) -> BackendError:
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
            return unavailable("model process stopped answering")
        if code < 0:
            return unavailable(f"model process crashed (signal {_signal_name(code)})")
        return unavailable(f"model process exited (code {code})")

    def receive(self, deadline: float, on_delta: OnDelta | None,
                cancel: threading.Event | None = None) -> dict:
        give_up = None  # once cancelled: when to stop waiting for the worker's answer
        while True:
            now = time.monotonic()
            left = deadline - now
            if left <= 0:
                self.kill()
                raise BackendError("timeout")
            if cancel is not None and cancel.is_set():
                give_up = give_up or now + CANCEL_GRACE_S
                if now > give_up:
                    self.kill()
                    raise cancelled()
            try:
                msg = self.replies.get(timeout=left if cancel is None else min(left, 0.05))
            except queue.Empty:
                continue
            if msg is None:
                raise self.crashed()
            if msg.get("event") == "delta":
                if on_delta is not None:
                    on_delta(msg["text"])
                continue
            return msg

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def close(self) -> None:
        if self.alive():
            try:
                self.proc.stdin.write('{"op": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()


class LlamaBackend:
    name = "llama"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.path = settings.model_path()
        self.worker: Worker | None = None
        self.info: dict = {}
        self._lock = threading.Lock()
        self._ids = 0  # generation ids: a cancel names the one it means
        self._running: tuple[Worker, int, threading.Event] | None = None
        self._running_lock = threading.Lock()

    def describe(self) -> dict:
        return {"backend": "llama", "model": str(self.path), "threads": self.settings.effective_threads(),
                "n_ctx": self.settings.n_ctx, "timeout_s": self.settings.timeout,
                "prefix_cache": self.settings.prefix_cache}

    def check_file(self) -> None:
        """Cheap checks before starting a process: exists, readable, GGUF magic."""
        if not self.path.is_file():
            raise unavailable(f"model file not found: {self.path}")
        try:
            with self.path.open("rb") as fh:
                magic = fh.read(4)
        except OSError as exc:
            raise unavailable(f"model file unreadable: {self.path} ({exc.__class__.__name__})") from None
        if magic != GGUF_MAGIC:
            raise unavailable(f"not a GGUF model file: {self.path}")

    def load(self, timeout: float | None = None) -> dict:
        with self._lock:
            return self._ensure(timeout or self.settings.load_timeout)

    def _ensure(self, timeout: float) -> dict:
        if self.worker is not None and self.worker.alive():
            return self.info
        self.check_file()
        self.worker = Worker()
        self.worker.send({"op": "load", "path": str(self.path), "n_ctx": self.settings.n_ctx,
                          "threads": self.settings.effective_threads()})
        try:
            reply = self.worker.receive(time.monotonic() + timeout, None)
        except BackendError as exc:
            self.worker = None
            if exc.status == "timeout":
                raise unavailable(f"model did not load within {timeout:.0f} s") from None
            raise unavailable(f"model failed to load: {exc.status.removeprefix('unavailable: ')}") from None
        if not reply.get("ok"):
            self.worker.kill()
            self.worker = None
            if reply.get("error") == "oom":
                raise unavailable("out of memory while loading the model")
            raise unavailable(f"model failed to load (corrupt or unsupported GGUF: {self.path.name})")
        self.info = reply["info"]
        return self.info

    def generate(self, messages, *, schema, max_tokens, timeout, cache_key=None, static_chars=0,
                 on_delta=None) -> Generation:
        with self._lock:
            started = time.monotonic()
            self._ensure(self.settings.load_timeout)
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                raise BackendError("timeout")
            worker = self.worker
            self._ids += 1
            stop = threading.Event()
            with self._running_lock:
                self._running = (worker, self._ids, stop)
            try:
                worker.send({"op": "generate", "id": self._ids, "messages": messages, "schema": schema,
                             "max_tokens": max_tokens, "timeout": left, "cache_key": cache_key,
                             "static_chars": static_chars, "prefix_cache": self.settings.prefix_cache})
                reply = worker.receive(time.monotonic() + left + KILL_GRACE_S, on_delta, stop)
            except BackendError:
                self.worker = None  # killed or crashed: the next request starts a new one
                raise
            finally:
                with self._running_lock:
                    self._running = None
            if not reply.get("ok"):
                error = reply.get("error")
                if error == "cancelled":
                    raise cancelled()
                if error == "too_long":
                    raise unavailable(f"draft too long for the model's context ({reply.get('detail')})")
                if error == "oom":
                    raise unavailable("out of memory while generating")
                raise unavailable(f"model generation failed ({reply.get('detail')})")
            r = reply["result"]
            self.info["peak_rss_mb"] = r.pop("peak_rss_mb", None)
            if r["finish"] == "timeout":
                raise BackendError("timeout")
            if r["finish"] == "cancelled":
                raise cancelled()
            return Generation(text=r["text"], finish=r["finish"], prompt_tokens=r["prompt_tokens"],
                              cached_tokens=r["cached_tokens"], completion_tokens=r["completion_tokens"],
                              seconds=r["seconds"], first_token_s=r["first_token_s"])

    def cancel(self) -> None:
        """Stop the generation in progress (from any thread); the worker stays loaded."""
        with self._running_lock:
            if self._running is None or self._running[2].is_set():
                return
            worker, gid, stop = self._running
            stop.set()
            try:
                worker.send({"op": "cancel", "id": gid})
            except BackendError:
                pass  # the worker is gone: generate() reports that

    @property
    def pid(self) -> int | None:
        return self.worker.pid if self.worker is not None and self.worker.alive() else None

    def close(self) -> None:
        with self._lock:
            if self.worker is not None:
                self.worker.close()
                self.worker = None


def create(settings: Settings) -> LlamaBackend:
    return LlamaBackend(settings)
