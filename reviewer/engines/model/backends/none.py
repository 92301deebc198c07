"""The `none` backend: no model; the review is rules (and semantic) only."""

from __future__ import annotations

from reviewer.engines.model.backends import Generation, unavailable
from reviewer.engines.model.config import Settings


class NoModel:
    name = "none"

    def load(self, timeout: float) -> dict:
        raise unavailable("model disabled (backend none)")

    def generate(self, messages, **kwargs) -> Generation:
        raise unavailable("model disabled (backend none)")

    def describe(self) -> dict:
        return {"backend": "none"}

    def cancel(self) -> None:
        pass  # nothing ever runs

    def close(self) -> None:
        pass


def create(settings: Settings) -> NoModel:
    return NoModel()
