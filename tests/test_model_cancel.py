"""Cancelling a generation at the backend level, without a real model: the openai backend
against a tiny streaming server on 127.0.0.1, the llama backend's worker protocol, and its
last resort (a worker that does not answer a cancel is killed and replaced).

The real GGUF path (cancel mid-generation, then a warm second review) is in
test_model_llama.py."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from reviewer.engines.model.backends import BackendError
from reviewer.engines.model.backends import llama as llama_backend
from reviewer.engines.model.backends.llama_worker import Inbox
from reviewer.engines.model.backends.openai import OpenAIBackend
from reviewer.engines.model.config import Settings

STUB = Path(__file__).parent / "helpers" / "stub_llama_worker.py"
MESSAGES = [{"role": "user", "content": "Saw Mrs Patel in clinic today"}]


class StreamingServer:
    """Answers /chat/completions with one SSE chunk (or none), then stays silent, as a server
    busy generating does; records when the client drops the connection."""

    def __init__(self, first_chunk: bool):
        self.requested, self.dropped = threading.Event(), threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output (and drafts) out of stderr
                pass

            def do_GET(self):
                body = json.dumps({"data": [{"id": "fake"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                outer.requested.set()
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                if first_chunk:
                    event = {"choices": [{"delta": {"content": '{"findings": ['}}]}
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.flush()
                self.connection.settimeout(30)  # hang guard
                try:
                    if self.connection.recv(1) == b"":
                        outer.dropped.set()  # EOF: the client went away
                except OSError:
                    outer.dropped.set()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _generate_in_thread(backend, **kw):
    box: dict = {}

    def run():
        try:
            box["gen"] = backend.generate(MESSAGES, schema=None, max_tokens=4000, timeout=60, **kw)
        except BackendError as exc:
            box["status"] = exc.status

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


@pytest.mark.parametrize("first_chunk", [True, False], ids=["mid-answer", "before-first-token"])
def test_openai_cancel_drops_the_request_and_the_server_sees_it(first_chunk):
    server = StreamingServer(first_chunk)
    backend = OpenAIBackend(Settings(backend="openai", server_url=server.url, timeout=60))
    try:
        delta = threading.Event()
        thread, box = _generate_in_thread(backend, on_delta=lambda piece: delta.set())
        assert server.requested.wait(10)
        if first_chunk:
            assert delta.wait(10)
        backend.cancel()
        thread.join(10)  # hang guard only: the server would stay silent for 30 s
        assert not thread.is_alive() and box == {"status": "cancelled"}
        assert server.dropped.wait(10)  # the server saw its client go: it can stop generating
        backend.cancel()  # nothing in flight: no effect on the next request
        assert backend._stop is None
    finally:
        backend.close()
        server.close()


def test_worker_inbox_cancels_only_the_generation_it_names():
    lines = [json.dumps({"op": "generate", "id": 1}), json.dumps({"op": "cancel", "id": 2}),
             json.dumps({"op": "generate", "id": 2}), json.dumps({"op": "cancel", "id": 1}),
             json.dumps({"op": "generate", "id": 3}), "not json"]
    inbox = Inbox(io.StringIO("\n".join(lines) + "\n"))
    got = []
    while (req := inbox.requests.get(timeout=10)) is not None:
        got.append(req.get("id"))
    assert got == [1, 2, 3, None]  # cancels never queue behind a generation
    # Generation 2 was cancelled before it started; 1's cancel came after it ended.
    assert inbox.begin(2) is False
    inbox.end()
    assert inbox.begin(3) is True and not inbox.stop.is_set()
    inbox.cancel(1)  # stale: generation 1 is over
    assert not inbox.stop.is_set()
    inbox.cancel(3)
    assert inbox.stop.is_set()
    inbox.end()
    assert not inbox.stop.is_set()


def test_llama_worker_that_ignores_a_cancel_is_replaced(monkeypatch, tmp_path):
    """Last resort: a worker stuck in native code (the stub never answers) is killed after
    CANCEL_GRACE_S, the review says "cancelled", and the next request starts a new worker."""
    real = subprocess.Popen
    monkeypatch.setattr(llama_backend, "subprocess", types.SimpleNamespace(
        Popen=lambda args, **kw: real([sys.executable, str(STUB)], **kw), PIPE=subprocess.PIPE,
        DEVNULL=subprocess.DEVNULL, TimeoutExpired=subprocess.TimeoutExpired))
    monkeypatch.setattr(llama_backend, "CANCEL_GRACE_S", 0.2)
    once = tmp_path / "hang-once"
    once.write_text("1")
    monkeypatch.setenv("STUB_WORKER_MODE", "hang")
    monkeypatch.setenv("STUB_WORKER_ONCE", str(once))
    model = tmp_path / "stub.gguf"
    model.write_bytes(b"GGUF" + bytes(64))
    backend = llama_backend.LlamaBackend(Settings(model=str(model), timeout=60))
    try:
        backend.load()
        stuck = backend.pid
        thread, box = _generate_in_thread(backend)
        for _ in range(1000):  # until the request is in flight
            if backend._running is not None:
                break
            thread.join(0.01)
        backend.cancel()
        thread.join(20)
        assert not thread.is_alive() and box == {"status": "cancelled"}
        gen = backend.generate(MESSAGES, schema=None, max_tokens=16, timeout=30)
        assert gen.text == "Busy day on the wards." and backend.pid != stuck
    finally:
        backend.close()
