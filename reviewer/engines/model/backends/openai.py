"""The `openai` backend: an OpenAI-compatible chat server on the trust's own network
(llama.cpp's server, llama-cpp-python's server, vLLM, Ollama).

Same prompts and schema as the llama backend. Structured output is asked for with the
OpenAI `response_format` {"type": "json_schema"}; servers that only know the older
{"type": "json_object", "schema": ...} form (llama-cpp-python's server) reject it
(4xx, or 500 from llama-cpp-python), and the backend then uses that form from then on. Replies are streamed (SSE).

cancel() drops the connection of the request in flight (its socket is shut down, which
also wakes a read that is waiting on a silent server): llama.cpp's server stops
generating when its client goes away.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from urllib.parse import urlparse

from reviewer.engines.model.backends import BackendError, Generation, cancelled, unavailable
from reviewer.engines.model.config import Settings


class OpenAIBackend:
    name = "openai"

    def __init__(self, settings: Settings):
        url = (settings.server_url or "").rstrip("/")
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise unavailable(f"server URL must be http(s)://host[:port], got {url!r}")
        self.base = url if url.endswith("/v1") else url + "/v1"
        self.settings = settings
        self.model = settings.server_model
        self.schema_mode = "json_schema"
        self.info: dict = {}
        self._lock = threading.Lock()
        self._client = None
        self._stop: threading.Event | None = None  # of the request in flight
        self._resp = None  # its streaming response, so cancel() can drop the connection
        self._stop_lock = threading.Lock()

    def describe(self) -> dict:
        return {"backend": "openai", "server_url": self.base, "model": self.model or "(server default)",
                "timeout_s": self.settings.timeout}

    def _http(self):
        if self._client is None:
            import httpx

            key = os.environ.get("REVIEWER_SERVER_API_KEY")
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            # trust_env=False: a hospital's HTTP proxy must not see drafts meant for an on-prem server.
            self._client = httpx.Client(base_url=self.base, headers=headers, trust_env=False)
        return self._client

    def load(self, timeout: float | None = None) -> dict:
        import httpx

        with self._lock:
            if self.info:
                return self.info
            started = time.perf_counter()
            try:
                resp = self._http().get("/models", timeout=timeout or 10.0)
                resp.raise_for_status()
                models = [m.get("id") for m in resp.json().get("data", []) if isinstance(m, dict)]
            except httpx.TimeoutException:
                raise unavailable(f"server did not answer at {self.base}") from None
            except httpx.HTTPStatusError as exc:
                raise unavailable(f"server at {self.base} answered {exc.response.status_code}") from None
            except (httpx.HTTPError, ValueError):
                raise unavailable(f"server unreachable at {self.base}") from None
            if self.model is None:
                if not models:
                    raise unavailable(f"server at {self.base} lists no models")
                self.model = models[0]
            self.info = {"load_s": round(time.perf_counter() - started, 3), "server_models": models,
                         "model_name": self.model}
            return self.info

    def _response_format(self, schema: dict) -> dict:
        if self.schema_mode == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "review", "schema": schema, "strict": True}}
        return {"type": "json_object", "schema": schema}

    def generate(self, messages, *, schema, max_tokens, timeout, cache_key=None, static_chars=0,
                 on_delta=None) -> Generation:
        import httpx

        if timeout <= 0:
            raise BackendError("timeout")
        self.load(min(timeout, 10.0))
        with self._lock:
            body = {"model": self.model, "messages": messages, "max_tokens": max_tokens,
                    "temperature": 0.0, "stream": True}
            deadline = time.monotonic() + timeout
            stop = threading.Event()
            with self._stop_lock:
                self._stop = stop
            try:
                for attempt in range(2):
                    if schema is not None:
                        body["response_format"] = self._response_format(schema)
                    try:
                        return self._stream(body, deadline, on_delta, stop)
                    except httpx.HTTPStatusError as exc:
                        code = exc.response.status_code
                        # llama-cpp-python's server rejects "json_schema" with a 500, others 400/422.
                        if schema is not None and attempt == 0 and code in (400, 422, 500) and \
                                self.schema_mode == "json_schema" and not stop.is_set():
                            self.schema_mode = "json_object"
                            continue
                        raise unavailable(f"server at {self.base} answered {code}") from None
                    except (httpx.HTTPError, OSError):
                        if stop.is_set():  # the connection was dropped on purpose
                            raise cancelled() from None
                        raise
            except httpx.TimeoutException:
                raise BackendError("timeout") from None
            except (httpx.HTTPError, OSError):
                raise unavailable(f"server unreachable at {self.base}") from None
            finally:
                with self._stop_lock:
                    self._stop, self._resp = None, None
        raise unavailable("server rejected the structured-output request")

    def cancel(self) -> None:
        """Drop the request in flight (from any thread): generate() raises "cancelled"."""
        with self._stop_lock:
            if self._stop is None:
                return
            self._stop.set()
            resp = self._resp
        if resp is not None:
            _drop(resp)

    def _stream(self, body: dict, deadline: float, on_delta, stop: threading.Event) -> Generation:
        import httpx

        started = time.perf_counter()
        first = None
        text: list[str] = []
        finish = "stop"
        chunks = 0
        usage: dict = {}
        ended = False  # [DONE] or a finish_reason: without either the answer was cut off
        left = max(0.1, deadline - time.monotonic())
        with self._http().stream("POST", "/chat/completions", json=body,
                                 timeout=httpx.Timeout(left, connect=min(left, 5.0))) as resp:
            with self._stop_lock:
                self._resp = resp
            if stop.is_set():  # cancelled while connecting
                raise cancelled()
            if resp.status_code >= 400:
                resp.read()
                resp.raise_for_status()
            for line in resp.iter_lines():
                if stop.is_set():
                    raise cancelled()
                if time.monotonic() > deadline:
                    raise BackendError("timeout")
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    ended = True
                    break
                try:
                    event = json.loads(data)
                except json.JSONDecodeError:
                    continue
                usage = event.get("usage") or usage
                for choice in event.get("choices") or []:
                    piece = (choice.get("delta") or {}).get("content") or ""
                    if piece:
                        if first is None:
                            first = time.perf_counter() - started
                        chunks += 1
                        text.append(piece)
                        if on_delta is not None:
                            on_delta(piece)
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
                        ended = True
        if stop.is_set():
            raise cancelled()
        if not ended:
            raise unavailable(f"server at {self.base} closed the connection mid-answer")
        return Generation(text="".join(text), finish=finish,
                          prompt_tokens=int(usage.get("prompt_tokens") or 0),
                          completion_tokens=int(usage.get("completion_tokens") or chunks),
                          seconds=round(time.perf_counter() - started, 4),
                          first_token_s=None if first is None else round(first, 4))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _drop(resp) -> None:
    """Shut the response's socket down: unlike close(), shutdown wakes a thread blocked
    reading it, and the server sees its client go away at once."""
    stream = resp.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed


def create(settings: Settings) -> OpenAIBackend:
    return OpenAIBackend(settings)
