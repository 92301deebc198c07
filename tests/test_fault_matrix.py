"""Fault injection (issue 8): one table, each row a fault, where it is injected and the reason
the user must see. After every fault the rules result is intact and a second review in the
same process works; where the fault can be removed without a restart, the engine recovers.

The model rows use a stub worker process (tests/helpers/stub_llama_worker.py) on the real
llama backend's process handling, a real HTTP server on 127.0.0.1 for the openai backend,
and scripted backends for model output; rows that load torch or the GGUF are marked slow.
The last test prints (and writes to test-output/fault_matrix.json) how many faults were
injected and survived.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import types
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from scripted_backend import ScriptedBackend

from reviewer import guidance
from reviewer.engines.model.backends import Generation
from reviewer.engines.model.backends import llama as llama_backend
from reviewer.engines.model.config import Settings, bundled_model
from reviewer.engines.model.engine import ModelEngine
from reviewer.errors import DataError
from reviewer.review import review
from reviewer.schema import Result, ReviewContext

DRAFT = "Saw Mrs Jane Smith (NHS 943 476 5919) on the ward today, 82 with dementia."
SECOND = "My patient Doris Green was admitted again to ward 7 last night."
STUB = Path(__file__).parent / "helpers" / "stub_llama_worker.py"
OUT = Path(__file__).resolve().parent.parent / "test-output"
TALLY: dict[str, dict] = {}  # fault id -> {"entry", "reason", "survived"}


def rules_of(text: str) -> set[tuple]:
    return {(f.rule, f.start, f.end) for f in review(text).findings}


def assert_rules_stand(result: Result, text: str) -> None:
    """The rules findings are all there, exactly as a rules-only review gives them."""
    got = {(f.rule, f.start, f.end) for f in result.findings if "rules" in (f.found_by or [f.source])}
    assert rules_of(text) <= got and got, (text, result.findings)
    assert result.engines["rules"] == "ok"


@dataclass
class Env:
    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    caplog: pytest.LogCaptureFixture
    cleanups: list = field(default_factory=list)


@dataclass
class Outcome:
    reason: str  # what the user is told (engine status, retriever error, error message)
    results: list[tuple[str, Result]]  # (draft, result) of every review in the row, fault on and off
    recovered: bool | None = None  # None: recovery needs a restart (not tried in process)


# --- model: files --------------------------------------------------------------------------

def _llama_engine(path: Path, **kw) -> ModelEngine:
    return ModelEngine(Settings(model=str(path), rewrite=False, **kw), similarity=None)


def _model_file_row(make):
    """A broken model file: the review says why; pointing the same settings at a good file
    (the stub worker stands in for llama.cpp) makes the next review use the model."""
    def run(env: Env) -> Outcome:
        path = env.tmp / "model.gguf"
        make(path)
        eng = _llama_engine(path)
        env.cleanups.append(eng.close)
        first = review(DRAFT, engines=[eng])
        _use_stub(env, "ok")
        path.write_bytes(b"GGUF" + bytes(64))  # the fault removed: a file the (stub) worker loads
        second = review(SECOND, engines=[eng])
        return Outcome(first.engines["model"], [(DRAFT, first), (SECOND, second)], second.engines["model"] == "ok")
    return run


def _truncated(path: Path) -> None:
    with bundled_model().open("rb") as src:
        path.write_bytes(src.read(3_000_000))


def _use_stub(env: Env, mode: str, once: bool = False) -> None:
    """Run the llama backend's worker as the stub (same protocol, no llama.cpp)."""
    real = subprocess.Popen

    def popen(args, **kw):
        return real([sys.executable, str(STUB)], **kw)

    env.monkeypatch.setattr(llama_backend, "subprocess", types.SimpleNamespace(
        Popen=popen, PIPE=subprocess.PIPE, DEVNULL=subprocess.DEVNULL,
        TimeoutExpired=subprocess.TimeoutExpired))
    env.monkeypatch.setenv("STUB_WORKER_MODE", mode)
    if once:
        marker = env.tmp / "fault-once"
        marker.write_text("1")
        env.monkeypatch.setenv("STUB_WORKER_ONCE", str(marker))
    else:
        env.monkeypatch.delenv("STUB_WORKER_ONCE", raising=False)


def _worker_row(mode: str, **settings):
    """The worker process misbehaves once; the next review starts a fresh one and works."""
    def run(env: Env) -> Outcome:
        _use_stub(env, mode, once=True)
        model = env.tmp / "stub.gguf"
        model.write_bytes(b"GGUF" + bytes(64))
        eng = _llama_engine(model, **settings)
        env.cleanups.append(eng.close)
        first = review(DRAFT, engines=[eng])
        second = review(SECOND, engines=[eng])
        return Outcome(first.engines["model"], [(DRAFT, first), (SECOND, second)], second.engines["model"] == "ok")
    return run


def _real_worker_crash(env: Env) -> Outcome:
    """The real llama.cpp worker killed with SIGSEGV mid-generation (bundled GGUF)."""
    killed: list[int] = []

    def on_event(kind, details):
        if kind == "delta" and not killed:
            killed.append(eng.backend.pid)
            os.kill(eng.backend.pid, 11)

    eng = ModelEngine(Settings(rewrite=False, threads=1, max_tokens=96), similarity=None,
                      on_event=on_event)
    env.cleanups.append(eng.close)
    first = review(DRAFT, engines=[eng])
    second = review(SECOND, engines=[eng])
    assert eng.backend.pid not in (None, killed[0])
    return Outcome(first.engines["model"], [(DRAFT, first), (SECOND, second)], second.engines["model"] == "ok")


def _real_timeout(env: Env) -> Outcome:
    eng = ModelEngine(Settings(rewrite=False, threads=1, timeout=0.05), similarity=None)
    env.cleanups.append(eng.close)
    first = review(DRAFT, engines=[eng])
    second = review(SECOND, engines=[eng])
    return Outcome(first.engines["model"], [(DRAFT, first), (SECOND, second)], None)


# --- model: output -------------------------------------------------------------------------

class Replies(ScriptedBackend):
    """Replays fixed texts (one per generate call), then valid findings."""

    def __init__(self, *texts: str, finish: str = "stop"):
        self.texts, self.finish = list(texts), finish

    def generate(self, messages, *, schema, max_tokens, timeout, cache_key=None, static_chars=0,
                 on_delta=None):
        if self.texts:
            return Generation(text=self.texts.pop(0), finish=self.finish)
        return Generation(text=json.dumps({"findings": [
            {"quote": "Doris Green", "paragraph": "sm-14", "topic": "confidentiality",
             "severity": "high", "note": "names a patient"}], "verdict": "do-not-post"}))


def _output_row(text: str, finish: str = "stop"):
    def run(env: Env) -> Outcome:
        eng = ModelEngine(Settings(rewrite=False), similarity=None)
        eng.backend = Replies(text, finish=finish)
        first = review(DRAFT, engines=[eng])
        second = review(SECOND, engines=[eng])  # the model answers properly this time
        ok = second.engines["model"] == "ok" and any(f.source == "model" or "model" in f.found_by
                                                    for f in second.findings)
        return Outcome(first.engines["model"], [(DRAFT, first), (SECOND, second)], ok)
    return run


def _flood_of_findings(env: Env) -> Outcome:
    """Valid JSON with 20,000 findings, most invented: at most MAX_FINDINGS survive the gate."""
    items = [{"quote": "Jane Smith" if i % 2 else f"invented {i}", "paragraph": "sm-14",
              "topic": "confidentiality", "severity": "high", "note": "x"} for i in range(20_000)]
    eng = ModelEngine(Settings(rewrite=False), similarity=None)
    eng.backend = Replies(json.dumps({"findings": items, "verdict": "ok"}))
    first = review(DRAFT, engines=[eng])
    model = [f for f in first.findings if "model" in (f.found_by or [f.source])]
    assert len(model) <= 4 and first.dropped.get("model.quote_not_found", 0) >= 10_000
    dropped = sum(first.dropped.values())
    second = review(SECOND, engines=[eng])
    return Outcome(f"{first.engines['model']}; {dropped} items dropped", [(DRAFT, first), (SECOND, second)],
                   second.engines["model"] == "ok")


# --- model: openai server ------------------------------------------------------------------

class Stub(ThreadingHTTPServer):
    """An OpenAI-compatible chat server on 127.0.0.1 that can be slow or trickle."""

    daemon_threads = True

    def __init__(self, port: int = 0):
        super().__init__(("127.0.0.1", port), _Handler)
        # "ok" | "slow" (sleeps before answering) | "trickle" (never finishes) | "error" (500)
        # | "drop" (connection closed mid-answer)
        self.mode = "ok"
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.wake.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # requests carry drafts: never print them
        pass

    def _json(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._json({"data": [{"id": "stub"}]})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        request = self.rfile.read(length)
        server: Stub = self.server
        if server.mode == "slow" and server.wake.wait(30):
            return
        if server.mode == "error":
            self.send_error(500, "internal error")
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            if server.mode == "drop":  # the server dies mid-answer
                self.wfile.write(b'data: {"choices": [{"delta": {"content": "{\\"findings\\": ['
                                 b'"}}]}\n\n')
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if server.mode == "trickle":  # a token every 0.2 s, forever
                while not server.wake.wait(0.2):
                    self._event({"choices": [{"delta": {"content": " "}}]})
                return
            name = "Jane Smith" if b"Jane Smith" in request else "Doris Green"
            reply = json.dumps({"findings": [{"quote": name, "paragraph": "sm-14", "topic": "confidentiality",
                                              "severity": "high", "note": "names a patient"}],
                                "verdict": "do-not-post"})
            self._event({"choices": [{"delta": {"content": reply}, "finish_reason": "stop"}]})
            self.wfile.write(b"data: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _event(self, body: dict) -> None:
        self.wfile.write(b"data: " + json.dumps(body).encode() + b"\n\n")
        self.wfile.flush()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_down(env: Env) -> Outcome:
    """Nothing listens; then the server comes up on that port and the same engine uses it."""
    port = _free_port()
    eng = ModelEngine(Settings(backend="openai", server_url=f"http://127.0.0.1:{port}", timeout=5,
                               rewrite=False), similarity=None)
    env.cleanups.append(eng.close)
    first = review(DRAFT, engines=[eng])
    server = Stub(port)
    env.cleanups.append(server.stop)
    second = review(SECOND, engines=[eng])
    return Outcome(first.engines["model"], [(DRAFT, first), (SECOND, second)], second.engines["model"] == "ok")


def _server_slow(mode: str):
    def run(env: Env) -> Outcome:
        server = Stub()
        env.cleanups.append(server.stop)
        server.mode = mode
        eng = ModelEngine(Settings(backend="openai", server_url=server.url, timeout=1.5, rewrite=False),
                          similarity=None)
        env.cleanups.append(eng.close)
        first = review(DRAFT, engines=[eng])
        server.mode = "ok"
        second = review(SECOND, engines=[eng])
        return Outcome(first.engines["model"], [(DRAFT, first), (SECOND, second)], second.engines["model"] == "ok")
    return run


# --- embeddings, index, corpus -------------------------------------------------------------

def _empty_embedder(env: Env) -> Path:
    empty = env.tmp / "empty-embedder"
    empty.mkdir()
    env.monkeypatch.setenv("REVIEWER_EMBEDDER", str(empty))
    return empty


def _semantic_without_embedder(env: Env) -> Outcome:
    from reviewer.engines import create

    _empty_embedder(env)
    eng = create("semantic")
    first = review(DRAFT, engines=[eng])
    second = review(SECOND, engines=[eng])  # still explains itself; a restart picks up a fixed model
    assert second.engines["semantic"] == first.engines["semantic"]
    return Outcome(first.engines["semantic"], [(DRAFT, first), (SECOND, second)], None)


def _semantic_model_row(damage, name: str = "semantic_model.npz"):
    """index/semantic_model.npz (or the tuned encoder, semantic_encoder.npz) missing, corrupt
    or not the one semantic.json names: the semantic engine says so, the rules stand; with
    the file back a new engine works."""
    def run(env: Env) -> Outcome:
        import shutil

        from reviewer import paths
        from reviewer.engines import create

        folder = env.tmp / "index"
        shutil.copytree(paths.index_dir(), folder, ignore=shutil.ignore_patterns("cache"))
        damage(folder / name)
        env.monkeypatch.setenv("REVIEWER_CACHE", str(paths.cache_dir()))  # keep the built index
        env.monkeypatch.setenv("REVIEWER_INDEX", str(folder))
        first = review(DRAFT, engines=[create("semantic")])
        env.monkeypatch.delenv("REVIEWER_INDEX")
        second = review(SECOND, engines=[create("semantic")])
        return Outcome(first.engines["semantic"], [(DRAFT, first), (SECOND, second)],
                       second.engines["semantic"] == "ok")
    return run


def _garbage_with_its_digest(path: Path) -> None:
    """Not a model, but semantic.json names its digest: the parser itself must refuse it."""
    import hashlib

    garbage = b"PK\x03\x04 not really a zip"
    path.write_bytes(garbage)
    doc_path = path.with_name("semantic.json")
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    if path.name == "semantic_encoder.npz":
        doc["tuning"]["sha256"] = hashlib.sha256(garbage).hexdigest()
    else:
        doc["model_sha256"] = hashlib.sha256(garbage).hexdigest()
    doc_path.write_text(json.dumps(doc), encoding="utf-8")


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _retrieval_without_embedder(env: Env) -> Outcome:
    from reviewer.retrieval import Retriever

    _empty_embedder(env)
    r = Retriever()
    first = review(DRAFT, retriever=r)
    assert {h.paragraph for h in first.guidance} == {f.paragraph for f in first.findings}  # cited ones
    second = review(SECOND, retriever=r)
    return Outcome(r.error or "", [(DRAFT, first), (SECOND, second)], None)


def _retrieval_recovers(env: Env) -> Outcome:
    """Slow: the embedder comes back (variable unset) and the same Retriever scores guidance."""
    from reviewer.retrieval import Retriever

    _empty_embedder(env)
    r = Retriever()
    first = review(DRAFT, retriever=r)
    reason = r.error or ""
    env.monkeypatch.delenv("REVIEWER_EMBEDDER")
    second = review(SECOND, retriever=r)
    return Outcome(reason, [(DRAFT, first), (SECOND, second)], any(h.why and "embedding" in h.why for h in second.guidance))


def _private_cache(env: Env) -> Path:
    from reviewer.retrieval import store

    where = env.tmp / "cache"
    env.monkeypatch.setenv("REVIEWER_CACHE", str(where))
    store.forget()
    env.cleanups.append(store.forget)
    return where / "retrieval"


def _corrupt_cache(env: Env) -> Outcome:
    from reviewer.retrieval import Retriever, store

    where = _private_cache(env)
    store.load()
    store.forget()
    data = (where / "index.faiss").read_bytes()
    (where / "index.faiss").write_bytes(data[: len(data) // 3])
    with env.caplog.at_level(logging.WARNING, logger="reviewer.retrieval.store"):
        r = Retriever()
        first = review(DRAFT, retriever=r)
    assert r.error is None and store.load().origin == "built"
    reason = " ".join(rec.getMessage() for rec in env.caplog.records if "corrupt" in rec.getMessage())
    store.forget()
    second = review(SECOND, retriever=Retriever())
    return Outcome(reason, [(DRAFT, first), (SECOND, second)], store.load().origin == "cache")  # rewritten, valid again


class _FullDisk:
    """A file object whose writes fail with ENOSPC after 4 KiB, like a disk filling up."""

    def __init__(self, fh):
        self.fh, self.written = fh, 0

    def write(self, data):
        if self.written + len(data) > 4096:
            self.fh.write(data[: max(0, 4096 - self.written)])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.written += len(data)
        return self.fh.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()


def _disk_full(env: Env) -> Outcome:
    from reviewer.retrieval import Retriever, store

    where = _private_cache(env)
    real = os.fdopen
    env.monkeypatch.setattr(store.os, "fdopen", lambda fd, *a, **k: _FullDisk(real(fd, *a, **k)))
    ix = store.load()
    reason = ix.saved or ""
    assert list(where.iterdir()) == []  # no partial index and no stray temp file left behind
    r = Retriever()
    first = review(DRAFT, retriever=r)
    assert r.error is None and any(h.why and "embedding" in h.why for h in first.guidance)
    env.monkeypatch.setattr(store.os, "fdopen", real)  # space again: the next build is saved
    store.forget()
    second = review(SECOND, retriever=Retriever())
    return Outcome(reason, [(DRAFT, first), (SECOND, second)], store.load().saved is None and (where / "meta.json").is_file())


def _corpus_row(damage):
    """index/guidance.json missing or corrupt: a clear DataError, not a traceback; with the
    file back the next review works in the same process."""
    def run(env: Env) -> Outcome:
        folder = env.tmp / "index"
        folder.mkdir()
        damage(folder / "guidance.json")
        env.monkeypatch.setenv("REVIEWER_INDEX", str(folder))
        guidance._load.cache_clear()
        with pytest.raises(DataError) as caught:
            review(DRAFT)
        env.monkeypatch.delenv("REVIEWER_INDEX")
        second = review(SECOND)
        return Outcome(str(caught.value), [(SECOND, second)], True)
    return run


# --- the UI's review path --------------------------------------------------------------------

def _ui_row(fault_env):
    """reviewer.ui.session.stages with the real engine factories and retriever, as `reviewer ui`
    builds them: the rules answer comes first and the banner names what did not run, and why."""
    def run(env: Env) -> Outcome:
        from reviewer.ui import render
        from reviewer.ui.hub import EngineHub
        from reviewer.ui.session import stages

        fault_env(env)
        hub = EngineHub().start()
        hub.join(60)
        env.cleanups.append(hub.close)
        assert hub.settled(), hub.summary()
        results, notes = [], {}
        for text in (DRAFT, SECOND):
            all_stages = list(stages(text, ReviewContext(), hub, timeout=60, poll=0.01))
            assert all_stages[0].phase == "rules" and all_stages[-1].final
            final = all_stages[-1]
            results.append((text, final.result))
            notes.update(final.notes)
            banner = render.verdict_html(final.result, render.engines_line(final.result, final.ran,
                                                                           final.notes, {}))
            assert "rules only:" in banner and "Do not post" in banner
        reason = f"{hub.summary()} | {render.engines_line(results[-1][1], ['rules'], notes, {})}"
        return Outcome(reason, results, None)
    return run


def _ui_model_missing(env: Env) -> None:
    env.monkeypatch.setenv("REVIEWER_MODEL", str(env.tmp / "gone.gguf"))
    _empty_embedder(env)  # keep the row fast: no torch


def _ui_embedder_missing(env: Env) -> None:
    _empty_embedder(env)
    env.monkeypatch.setenv("REVIEWER_MODEL", "none")


# --- the table -------------------------------------------------------------------------------

slow = pytest.mark.slow
FAULTS = [
    # id, entry point, expected reason (substring), runner
    pytest.param("model-file-missing", "model/llama", "unavailable: model file not found:",
                 _model_file_row(lambda p: None), id="model-file-missing"),
    pytest.param("model-file-empty", "model/llama", "unavailable: not a GGUF model file:",
                 _model_file_row(lambda p: p.write_bytes(b"")), id="model-file-empty"),
    pytest.param("model-not-gguf", "model/llama", "unavailable: not a GGUF model file:",
                 _model_file_row(lambda p: p.write_bytes(b"PK\x03\x04" + os.urandom(2048))),
                 id="model-not-gguf"),
    pytest.param("model-bad-gguf", "model/llama", "unavailable: model failed to load",
                 _model_file_row(lambda p: p.write_bytes(b"GGUF" + os.urandom(4096))),
                 id="model-bad-gguf", marks=slow),
    pytest.param("model-truncated", "model/llama", "unavailable: model failed to load",
                 _model_file_row(_truncated), id="model-truncated", marks=slow),
    pytest.param("worker-oom-on-load", "model/llama worker", "unavailable: out of memory while loading",
                 _worker_row("oom"), id="worker-oom-on-load"),
    pytest.param("worker-crash", "model/llama worker", "unavailable: model process crashed (signal 11, SIGSEGV)",
                 _worker_row("crash"), id="worker-crash"),
    pytest.param("worker-hang", "model/llama worker", "timeout",
                 _worker_row("hang", timeout=0.5), id="worker-hang"),
    pytest.param("real-worker-crash", "model/llama (GGUF)", "unavailable: model process crashed (signal 11",
                 _real_worker_crash, id="real-worker-crash", marks=slow),
    pytest.param("real-model-timeout", "model/llama (GGUF)", "timeout", _real_timeout,
                 id="real-model-timeout", marks=slow),
    pytest.param("output-garbage", "model output", "unavailable: model output not valid JSON",
                 _output_row("\x00\xff<|im_end|>)]}garbage{{"), id="output-garbage"),
    pytest.param("output-prose", "model output", "unavailable: model output not valid JSON",
                 _output_row("Sure! Here are the problems I found: the name."), id="output-prose"),
    pytest.param("output-wrong-shape", "model output", "unavailable: model output not valid JSON",
                 _output_row('{"answer": "looks fine"}'), id="output-wrong-shape"),
    pytest.param("output-huge", "model output", "unavailable: model output not valid JSON",
                 _output_row("{" + "a" * 5_000_000), id="output-huge"),
    pytest.param("output-cut-off", "model output", "unavailable: model output cut off at the token limit",
                 _output_row('{"findings": [{"quote": "Jane', finish="length"), id="output-cut-off"),
    pytest.param("output-flood", "model output", "ok;", _flood_of_findings, id="output-flood"),
    pytest.param("server-down", "model/openai", "unavailable: server unreachable at http://127.0.0.1:",
                 _server_down, id="server-down"),
    pytest.param("server-slow", "model/openai", "timeout", _server_slow("slow"), id="server-slow"),
    pytest.param("server-trickle", "model/openai", "timeout", _server_slow("trickle"), id="server-trickle"),
    pytest.param("server-error", "model/openai", "unavailable: server at http://127.0.0.1:",
                 _server_slow("error"), id="server-error"),
    pytest.param("server-drops-connection", "model/openai", "closed the connection mid-answer",
                 _server_slow("drop"), id="server-drops-connection"),
    pytest.param("semantic-no-embedder", "semantic", "unavailable: not a sentence-transformers model directory",
                 _semantic_without_embedder, id="semantic-no-embedder"),
    pytest.param("semantic-model-missing", "semantic", "unavailable: semantic model missing:",
                 _semantic_model_row(lambda p: p.unlink()), marks=pytest.mark.slow, id="semantic-model-missing"),
    pytest.param("semantic-model-corrupt", "semantic", "unavailable: semantic model is corrupt:",
                 _semantic_model_row(_garbage_with_its_digest), marks=pytest.mark.slow, id="semantic-model-corrupt"),
    pytest.param("semantic-model-swapped", "semantic", "unavailable: semantic model does not match",
                 _semantic_model_row(_flip_a_byte),
                 marks=pytest.mark.slow, id="semantic-model-swapped"),
    pytest.param("semantic-encoder-missing", "semantic", "unavailable: semantic encoder missing:",
                 _semantic_model_row(lambda p: p.unlink(), "semantic_encoder.npz"), marks=pytest.mark.slow,
                 id="semantic-encoder-missing"),
    pytest.param("semantic-encoder-corrupt", "semantic", "unavailable: semantic encoder is corrupt:",
                 _semantic_model_row(_garbage_with_its_digest, "semantic_encoder.npz"), marks=pytest.mark.slow,
                 id="semantic-encoder-corrupt"),
    pytest.param("semantic-encoder-swapped", "semantic", "unavailable: semantic encoder does not match",
                 _semantic_model_row(_flip_a_byte, "semantic_encoder.npz"), marks=pytest.mark.slow,
                 id="semantic-encoder-swapped"),
    pytest.param("retrieval-no-embedder", "retrieval", "EmbedderUnavailable: not a sentence-transformers model",
                 _retrieval_without_embedder, id="retrieval-no-embedder"),
    pytest.param("retrieval-embedder-back", "retrieval", "EmbedderUnavailable", _retrieval_recovers,
                 id="retrieval-embedder-back", marks=slow),
    pytest.param("index-cache-corrupt", "retrieval cache", "retrieval cache is corrupt (ValueError); rebuilding",
                 _corrupt_cache, id="index-cache-corrupt", marks=slow),
    pytest.param("index-cache-disk-full", "retrieval cache",
                 "cache not written (OSError: No space left on device)", _disk_full,
                 id="index-cache-disk-full", marks=slow),
    pytest.param("guidance-missing", "corpus", "guidance corpus not found:",
                 _corpus_row(lambda p: None), id="guidance-missing"),
    pytest.param("guidance-corrupt", "corpus", "guidance corpus is corrupt:",
                 _corpus_row(lambda p: p.write_text('{"title": "x", "paragraphs": [')), id="guidance-corrupt"),
    pytest.param("ui-model-missing", "ui session", "model: model file not found:",
                 _ui_row(_ui_model_missing), id="ui-model-missing"),
    pytest.param("ui-embedder-missing", "ui session",
                 "semantic: not a sentence-transformers model directory", _ui_row(_ui_embedder_missing),
                 id="ui-embedder-missing"),
]


@pytest.mark.parametrize("fault, entry, reason, run", FAULTS)
def test_fault_is_survived(fault, entry, reason, run, tmp_path, monkeypatch, caplog):
    env = Env(tmp_path, monkeypatch, caplog)
    TALLY[fault] = {"entry": entry, "survived": False}
    try:
        outcome = run(env)
    finally:
        for cleanup in reversed(env.cleanups):
            cleanup()
        guidance._load.cache_clear()
    TALLY[fault]["reason"] = outcome.reason
    assert reason in outcome.reason, outcome.reason
    assert "Jane" not in outcome.reason and "943 476" not in outcome.reason  # no draft text in reasons
    assert outcome.results
    for text, result in outcome.results:
        assert_rules_stand(result, text)
    if outcome.recovered is not None:
        assert outcome.recovered, f"{fault}: the engine did not recover once the fault was removed"
    TALLY[fault].update(survived=True, recovered=outcome.recovered)


def test_zz_tally_of_injected_and_survived_faults():
    """Runs last (file order): how many faults were injected in this run and survived."""
    if not TALLY:
        pytest.skip("no fault row ran in this session")
    survived = [k for k, v in TALLY.items() if v["survived"]]
    recovered = [k for k, v in TALLY.items() if v.get("recovered")]
    line = (f"fault matrix: {len(TALLY)} faults injected, {len(survived)} survived "
            f"(rules result intact, second review worked), {len(recovered)} recovered in process")
    print("\n" + line)
    OUT.mkdir(exist_ok=True)
    (OUT / "fault_matrix.json").write_text(json.dumps(
        {"injected": len(TALLY), "survived": len(survived), "recovered_in_process": len(recovered),
         "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "faults": TALLY}, indent=1))
    assert survived == list(TALLY), sorted(set(TALLY) - set(survived))
