"""Optional engines beside the rules, found by name (the core never imports a backend).

An engine module exposes `create(**options) -> Engine`; creating one must be cheap
(load models lazily, on first review) and must not raise for a missing model: the
engine reports "unavailable: <reason>" in its output status instead.
"""

from __future__ import annotations

import importlib

from reviewer.engines.base import Draft, Engine, EngineOutput

ENGINES = {
    "semantic": "reviewer.engines.semantic",
    "model": "reviewer.engines.model",
}


def create(name: str, **options) -> Engine:
    if name not in ENGINES:
        raise KeyError(f"unknown engine {name!r}; known: {', '.join(ENGINES)}")
    return importlib.import_module(ENGINES[name]).create(**options)


__all__ = ["Draft", "Engine", "EngineOutput", "create", "ENGINES"]
