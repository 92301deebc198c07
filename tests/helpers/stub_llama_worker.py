"""A stand-in for reviewer.engines.model.backends.llama_worker that loads nothing.

It speaks the same JSON-lines protocol, so the llama backend's process handling (crash,
hang, failed load) is tested without llama.cpp or a GGUF. Behaviour comes from
STUB_WORKER_MODE: "ok" answers with findings JSON; "crash" kills itself with SIGSEGV on
generate; "hang" never answers a generate; "oom" fails the load as out of memory.
A one-shot mode (STUB_WORKER_ONCE=path) applies only while that file exists and removes
it as it fires, so the next worker the backend starts behaves normally.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

REPLY = json.dumps({"findings": [{"quote": "Jane Smith", "paragraph": "sm-14", "topic": "confidentiality",
                                  "severity": "high", "note": "names a patient"}], "verdict": "do-not-post"})


def mode() -> str:
    once = os.environ.get("STUB_WORKER_ONCE")
    if once and os.path.exists(once):
        return os.environ.get("STUB_WORKER_MODE", "ok")
    return "ok" if once else os.environ.get("STUB_WORKER_MODE", "ok")


def fire() -> None:
    once = os.environ.get("STUB_WORKER_ONCE")
    if once:
        try:
            os.remove(once)
        except FileNotFoundError:
            pass


def send(msg: dict) -> None:
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def main() -> None:
    for line in sys.stdin:
        req = json.loads(line)
        op = req.get("op")
        if op == "quit":
            return
        if op == "load":
            if mode() == "oom":
                fire()
                send({"ok": False, "error": "oom"})
                continue
            send({"ok": True, "info": {"load_s": 0.0, "model_name": "stub"}})
        elif op == "generate":
            now = mode()
            if now == "crash":
                fire()
                os.kill(os.getpid(), signal.SIGSEGV)
            if now == "hang":
                fire()
                time.sleep(3600)
            text = REPLY if req.get("schema") else "Busy day on the wards."
            send({"event": "delta", "text": text})
            send({"ok": True, "result": {"text": text, "finish": "stop", "prompt_tokens": 10,
                                         "cached_tokens": 0, "completion_tokens": 5, "seconds": 0.01,
                                         "first_token_s": 0.01, "peak_rss_mb": 1.0}})


if __name__ == "__main__":
    main()
