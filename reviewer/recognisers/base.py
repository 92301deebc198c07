"""The recogniser unit and its registry."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Callable, Iterable, Protocol

from reviewer.patterns import compile_pattern, phrase_pattern

# Calendar words and app names are capitalised like place names ("the farm on Saturday",
# "the unit in March", "sorry to tell you on Messenger") but never name a place: a place
# candidate made only of them is dropped.
_CALENDAR = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun "
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec christmas easter "
    "messenger facebook insta instagram whatsapp telegram tiktok twitter snapchat linkedin youtube "
    "reddit threads google zoom teams".split()
)


def only_calendar_words(span: str) -> bool:
    words = [w.strip(".,'!?").lower() for w in span.split()]
    words = [w[:-2] if w.endswith("'s") else w for w in words if w]
    return bool(words) and all(w in _CALENDAR for w in words)


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
    # Leading words that are not part of a name ("Our care home", "The Royal Infirmary"):
    # they are trimmed off, and a candidate left with no capitalised word is dropped.
    trim_words: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._compiled = [
            (compile_pattern(p, self.case_sensitive), score) for p, score in self.patterns
        ]
        self._context = compile_pattern(phrase_pattern(self.context)) if self.context else None
        self._trim = {w.lower() for w in self.trim_words}

    def find(self, text: str, min_base: float = 0.0) -> Iterable[Candidate]:
        """Candidates in `text`; `min_base` skips patterns whose base score is lower."""
        context: tuple[list[int], list[int]] | None = None
        for regex, score in self._compiled:
            if score < min_base:
                continue
            for m in regex.finditer(text):
                group = self.group if self.group <= (regex.groups or 0) else 0
                start, end = m.span(group)
                if start < 0 or end <= start:
                    continue
                if self._trim:
                    start = self._trimmed(text, start, end)
                    if start is None:
                        continue
                if self.validate is not None and not self.validate(text[start:end]):
                    continue
                if self.kind == "location" and only_calendar_words(text[start:end]):
                    continue
                if context is None:
                    context = self._context_spans(text)
                yield Candidate(start, end, self.kind, self._score(context, start, end, score), self.name)

    def _trimmed(self, text: str, start: int, end: int) -> int | None:
        while True:
            word = text[start:end].split(None, 1)[0] if text[start:end].strip() else ""
            if word.lower() not in self._trim:
                break
            start += len(word)
            while start < end and text[start].isspace():
                start += 1
            rest = text[start:end]
            if not rest or not any(w[:1].isupper() for w in rest.split()):
                return None
        return start

    def _context_spans(self, text: str) -> tuple[list[int], list[int]]:
        """Context words are found once per text (not once per candidate), so a paste
        with thousands of candidates stays linear."""
        starts: list[int] = []
        ends: list[int] = []
        if self._context is not None:
            for m in self._context.finditer(text):
                starts.append(m.start())
                ends.append(m.end())
        return starts, ends

    def _score(self, context: tuple[list[int], list[int]], start: int, end: int, base: float) -> float:
        starts, ends = context
        if not starts:
            return base
        lo, hi = start - self.context_window, end + self.context_window
        i = bisect_left(starts, lo)
        if i < len(starts) and starts[i] < hi and ends[i] <= hi:
            return min(1.0, base + self.context_boost)
        # A context word may start inside the window but end beyond it; look one further.
        if i + 1 < len(starts) and starts[i + 1] < hi and ends[i + 1] <= hi:
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
