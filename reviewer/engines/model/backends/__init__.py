"""Model backends behind one small interface, found by name (`llama`, `openai`, `none`).

A backend turns chat messages (+ an optional JSON schema) into text. It never raises
anything but BackendError, whose `status` is what `engines.model` shows: "timeout" or
"unavailable: <reason>", or "cancelled" after `cancel()`. Backends are imported only when
chosen, so the rules-only path never loads llama_cpp or an HTTP client.

`cancel()` may be called from any thread: the `generate()` in progress stops within a
fraction of a second and raises BackendError("cancelled") (llama: the worker stops at its
next token and stays loaded; openai: the HTTP request is dropped, so the server stops).
With nothing in progress it does nothing: a stale cancel never reaches the next request.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from reviewer.engines.model.config import Settings

BACKENDS = {
    "llama": "reviewer.engines.model.backends.llama",
    "openai": "reviewer.engines.model.backends.openai",
    "none": "reviewer.engines.model.backends.none",
}

OnDelta = Callable[[str], None]


class BackendError(Exception):
    def __init__(self, status: str):
        super().__init__(status)
        self.status = status


def unavailable(reason: str) -> BackendError:
    return BackendError(f"unavailable: {reason}")


@dataclass
class Generation:
    text: str
    finish: str = "stop"  # "stop" | "length" | "timeout"
    prompt_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens reused from the cached static prefix
    completion_tokens: int = 0
    seconds: float = 0.0
    first_token_s: float | None = None
    extra: dict = field(default_factory=dict)


class Backend(Protocol):
    name: str

    def load(self, timeout: float) -> dict:
        """Make the model ready (idempotent); return facts for `reviewer doctor`."""

    def generate(self, messages: list[dict[str, str]], *, schema: dict | None, max_tokens: int,
                 timeout: float, cache_key: str | None = None, static_chars: int = 0,
                 on_delta: OnDelta | None = None) -> Generation: ...

    def describe(self) -> dict:
        """Static facts (no loading): backend, model path or server URL..."""

    def cancel(self) -> None:
        """Stop the generate() in progress, if any (thread-safe, idempotent)."""

    def close(self) -> None: ...


def cancelled() -> BackendError:
    return BackendError("cancelled")


class NoBackend:
    """Stands in when a backend could not even be set up (e.g. a malformed server URL)."""

    name = "none"

    def load(self, timeout: float) -> dict:
        return {}

    def describe(self) -> dict:
        return {"backend": "none"}

    def cancel(self) -> None:
        pass

    def close(self) -> None:
        pass


def create_backend(settings: Settings) -> Backend:
    if settings.backend not in BACKENDS:
        raise unavailable(f"unknown backend {settings.backend!r}")
    return importlib.import_module(BACKENDS[settings.backend]).create(settings)
