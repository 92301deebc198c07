"""A real `reviewer ui` server in a subprocess, and a plain-HTTP client for its Gradio queue.

No gradio_client: it fetches the API description and may reach for a hub; these few calls
(upload, queue/join, queue/data as server-sent events) are all the page itself makes. The
server gets the same no-egress guard as the suite (pytest-socket, loopback only) and reports
any attempt to leave the machine on its log.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

GUARD = (
    "import socket, sys, pytest_socket\n"
    "pytest_socket.socket_allow_hosts(['127.0.0.1', '::1', 'localhost'], allow_unix_socket=True)\n"
    "_connect, _lookup = socket.socket.connect, socket.getaddrinfo\n"
    "def connect(sock, *args):\n"
    "    try:\n        return _connect(sock, *args)\n"
    "    except Exception:\n"
    "        print('EGRESS-BLOCKED', args[:1], file=sys.stderr, flush=True)\n        raise\n"
    "def lookup(host, *args, **kw):\n"
    "    if host not in ('127.0.0.1', '::1', 'localhost', None, ''):\n"
    "        print('EGRESS-LOOKUP', host, file=sys.stderr, flush=True)\n"
    "    return _lookup(host, *args, **kw)\n"
    "socket.socket.connect, socket.getaddrinfo = connect, lookup\n"
    "from reviewer.cli import main\n"
    "sys.argv = ['reviewer', 'ui'] + sys.argv[1:]\n"
    "main()\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class UiServer:
    """`reviewer ui --port P [args]` with HOME, TMPDIR and REVIEWER_CACHE inside `root`."""

    def __init__(self, root: Path, *args: str, start_timeout: float = 120.0) -> None:
        self.dirs = {k: root / k for k in ("home", "tmp", "cache")}
        for d in self.dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        self.log = root / "server.log"
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
        env.update(HOME=str(self.dirs["home"]), TMPDIR=str(self.dirs["tmp"]),
                   REVIEWER_CACHE=str(self.dirs["cache"]), PYTHONUNBUFFERED="1",
                   PYTHONDONTWRITEBYTECODE="1")
        self._log = self.log.open("w")
        self.proc = subprocess.Popen([sys.executable, "-c", GUARD, "--port", str(self.port), *args],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=root)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + start_timeout
        while "reviewer ui: open" not in self.log.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"UI server did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.2)
        self.config = httpx.get(self.url + "/config", timeout=30, trust_env=False).json()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_kib(self) -> tuple[int, int]:
        """(current, peak) resident memory of the server process."""
        return status_kib(self.pid, "VmRSS:"), status_kib(self.pid, "VmHWM:")

    def fn_index(self, api_name: str) -> tuple[int, int]:
        """(fn_index, trigger id) of the event whose handler is `api_name` (e.g. on_review)."""
        for i, dep in enumerate(self.config["dependencies"]):
            if dep.get("api_name") == api_name:
                return i, dep["targets"][0][0]
        raise KeyError(api_name)

    def temp_dir(self) -> Path | None:
        found = list(self.dirs["tmp"].glob("reviewer-ui-*"))
        return found[0] if found else None

    def stop(self) -> str:
        """SIGTERM, as a service manager would; returns the server log."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.log.read_text()


@dataclass
class Session:
    """One browser session: its own session hash, so its gr.State is its own."""

    server: UiServer
    client: httpx.Client = field(default_factory=lambda: httpx.Client(trust_env=False, timeout=120))
    session_hash: str = field(default_factory=lambda: uuid.uuid4().hex[:11])
    requests: int = 0

    def call(self, api_name: str, data: list, timeout: float = 120.0) -> list:
        """Run one queued event to completion; the last output (its data list)."""
        fn, trigger = self.server.fn_index(api_name)
        base = self.server.url + self.server.config.get("api_prefix", "/gradio_api")
        joined = self.client.post(base + "/queue/join", json={
            "data": data, "event_data": None, "fn_index": fn, "trigger_id": trigger,
            "session_hash": self.session_hash})
        self.requests += 1
        joined.raise_for_status()
        event_id = joined.json()["event_id"]
        deadline = time.monotonic() + timeout
        with self.client.stream("GET", base + "/queue/data", params={"session_hash": self.session_hash},
                                timeout=httpx.Timeout(timeout)) as resp:
            self.requests += 1
            for line in resp.iter_lines():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{api_name} did not complete within {timeout} s")
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("event_id") not in (None, event_id):
                    continue
                if msg.get("msg") == "process_completed":
                    if not msg.get("success", True):
                        raise RuntimeError(f"{api_name} failed: {msg.get('output')}")
                    return msg["output"]["data"]
        raise RuntimeError(f"{api_name}: stream ended without a result")

    def review(self, text: str, audience: str = "public", timeout: float = 120.0) -> list:
        return self.call("on_review", [text, audience, "unknown", "unknown", None, None], timeout)

    def raw_upload(self, name: str, data: bytes, mime: str = "image/jpeg") -> str:
        """Only the file transfer (as when a page closes before its upload event fires)."""
        base = self.server.url + self.server.config.get("api_prefix", "/gradio_api")
        resp = self.client.post(base + "/upload", params={"upload_id": uuid.uuid4().hex[:11]},
                                files=[("files", (name, data, mime))])
        self.requests += 1
        resp.raise_for_status()
        (path,) = resp.json()
        self.last_upload = Path(path)
        return path

    def upload(self, name: str, data: bytes, mime: str = "image/jpeg") -> list:
        """Upload a file as the page does, then fire the component's upload event."""
        path = self.raw_upload(name, data, mime)
        return self.call("on_upload", [{"path": path, "orig_name": name, "size": len(data),
                                        "mime_type": mime, "meta": {"_type": "gradio.FileData"}}])

    def close(self) -> None:
        self.client.close()


def quotes(output: list) -> list[str]:
    """The finding quotes of an on_review output: the highlighted spans of the draft."""
    return [seg["token"] for seg in output[1] or [] if seg.get("class_or_confidence")]


def shown_draft(output: list) -> str:
    """The draft the result is about, rebuilt from the highlighted text (all its segments)."""
    return "".join(seg["token"] for seg in output[1] or [])


def verdict_html(output: list) -> str:
    return output[0] or ""
