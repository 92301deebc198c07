"""The recogniser unit and its registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Protocol

from reviewer.patterns import compile_pattern, phrase_pattern


@dataclass(frozen=True)
class Candidate:
    """An identifier found in the normalised text (offsets into the normalised view)."""

    start: int
    end: int
    kind: str
    score: float
    recogniser: str


class Recogniser(Protocol):
    name: str
    kind: str

    def find(self, text: str) -> Iterable[Candidate]: ...


@dataclass
class PatternRecogniser:
    """Patterns with base scores; context words nearby raise the score; `validate` may veto.

    `group` selects a capture group as the span (e.g. the number after "MRN").
    """

    name: str
    kind: str
    patterns: list[tuple[str, float]]
    context: list[str] = field(default_factory=list)
    context_window: int = 40
    context_boost: float = 0.35
    case_sensitive: bool = False
    group: int = 0
    validate: Callable[[str], bool] | None = None
    examples: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._compiled = [
            (compile_pattern(p, self.case_sensitive), score) for p, score in self.patterns
        ]
        self._context = compile_pattern(phrase_pattern(self.context)) if self.context else None

    def find(self, text: str) -> Iterable[Candidate]:
        for regex, score in self._compiled:
            for m in regex.finditer(text):
                group = self.group if self.group <= (regex.groups or 0) else 0
                start, end = m.span(group)
                if start < 0 or end <= start:
                    continue
                if self.validate is not None and not self.validate(text[start:end]):
                    continue
                yield Candidate(start, end, self.kind, self._score(text, start, end, score), self.name)

    def _score(self, text: str, start: int, end: int, base: float) -> float:
        if self._context is None:
            return base
        lo = max(0, start - self.context_window)
        hi = min(len(text), end + self.context_window)
        if self._context.search(text[lo:hi]) is not None:
            return min(1.0, base + self.context_boost)
        return base


class Registry:
    def __init__(self) -> None:
        self._items: dict[str, Recogniser] = {}

    def register(self, recogniser: Recogniser, replace: bool = False) -> Recogniser:
        if recogniser.name in self._items and not replace:
            raise ValueError(f"recogniser {recogniser.name!r} registered twice")
        self._items[recogniser.name] = recogniser
        return recogniser

    def get(self, name: str) -> Recogniser:
        self._ensure_builtin()
        return self._items[name]

    def names(self) -> list[str]:
        self._ensure_builtin()
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        self._ensure_builtin()
        return name in self._items

    def _ensure_builtin(self) -> None:
        if not getattr(self, "_loaded", False):
            self._loaded = True
            from reviewer.recognisers import gps, mentions, nhs, phone  # noqa: F401  (register themselves)


registry = Registry()
