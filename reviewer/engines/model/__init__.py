"""The `model` engine: a local LLM as second reviewer, with untrusted output gated.

`create(**options)` takes Settings fields (model, backend, server_url, timeout,
threads, n_ctx, ...) that override environment and config file (config.resolve), plus
`settings=` (a ready Settings), `similarity=` (a (a, b) -> cosine function, or None to
skip the meaning gate) and `on_event=` (progress callback). Creating an engine is
cheap: the model loads on the first review, in a worker process.
"""

from __future__ import annotations

from reviewer.engines.model.config import Settings, resolve


def create(*, settings: Settings | None = None, similarity=..., on_event=None, **options):
    from reviewer.engines.model.engine import ModelEngine

    return ModelEngine(settings or resolve(**options), similarity=similarity, on_event=on_event)


__all__ = ["Settings", "create", "resolve"]
