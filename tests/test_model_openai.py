"""The openai backend against a real OpenAI-compatible server on 127.0.0.1 (llama-cpp-python's
own server with the bundled GGUF), started inside the test: no mock."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from reviewer.engines.model import output
from reviewer.engines.model.config import Settings, bundled_model
from reviewer.engines.model.engine import ModelEngine
from reviewer.review import review

pytestmark = pytest.mark.slow
pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python server extras not installed")

HELPER = Path(__file__).parent / "helpers" / "openai_server.py"
DRAFT = "Saw Mrs Jane Smith (NHS 943 476 5919) in clinic at St Mary's today, 82 with dementia."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_url():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(HELPER), "--model", str(bundled_model()), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "4096", "--n_threads", "1", "--n_threads_batch", "1",
         "--verbose", "False"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, "server exited while starting"
            try:
                if httpx.get(f"{url}/v1/models", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_review_through_an_openai_compatible_server(server_url):
    eng = ModelEngine(Settings(backend="openai", server_url=server_url, timeout=600, max_tokens=160,
                               rewrite=False), similarity=None)
    try:
        rules_only = review(DRAFT)
        result = review(DRAFT, engines=[eng])
        assert result.engines["model"] == "ok", result.engines
        gen = eng.last["review"]
        assert gen.text and gen.first_token_s is not None  # streamed
        # The server only knows {"type": "json_object", "schema": ...}: the backend switched.
        assert eng.backend.schema_mode == "json_object"
        items = output.review_schema()["properties"]["findings"]["items"]
        salvaged = output.salvage(gen.text) if gen.finish == "length" else gen.text
        import jsonschema

        for item in json.loads(salvaged)["findings"]:
            jsonschema.validate(item, items)  # the server constrained generation to the schema
        for f in result.findings:
            assert DRAFT[f.start:f.end] == f.quote
        kept = {(f.rule, f.start, f.end) for f in result.findings if "rules" in f.found_by}
        assert kept == {(f.rule, f.start, f.end) for f in rules_only.findings}
    finally:
        eng.close()


def test_rewrite_through_the_server_is_gated(server_url):
    eng = ModelEngine(Settings(backend="openai", server_url=server_url, timeout=600, max_tokens=96),
                      similarity=None)
    try:
        result = review(DRAFT, engines=[eng])
        assert result.engines["model"] == "ok"
        assert "rewrite" in eng.last  # a rewrite was asked for...
        if result.rewrite is None:  # ...and either withheld with a reason or verified clean
            assert result.rewrite_check.withheld and result.rewrite_check.target == "redacted"
        else:
            assert result.rewrite_check.target == "rewrite" and result.rewrite_check.clean
    finally:
        eng.close()


def test_server_down_falls_back_to_rules():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    eng = ModelEngine(Settings(backend="openai", server_url=url, timeout=5), similarity=None)
    result = review(DRAFT, engines=[eng])
    assert result.engines["model"] == f"unavailable: server unreachable at {url}/v1"
    assert result.findings and all(f.source == "rules" for f in result.findings)
