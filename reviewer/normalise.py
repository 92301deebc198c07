"""A normalised view of the draft that rules can match, with a map back to the original.

Evasions we undo (each kept reversible through the offset map):
- Unicode compatibility forms (NFKC: fullwidth digits, ligatures, NBSP),
- zero-width, bidi-control and other format characters (deleted),
- confusable homoglyphs (Cyrillic/Greek letters that look Latin) -> Latin,
- typographic quotes and dashes -> ASCII,
- letter-spaced words ("N H S n o" -> "NHSno"; runs of 3+ single letters).
Digits split by spaces, dots or dashes are handled by the recognisers' patterns,
which allow separators, so "943 476 5919" keeps its original shape.
"""

from __future__ import annotations

import unicodedata
from array import array
from dataclasses import dataclass, replace
from functools import lru_cache

import re2

_PUNCT = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u02bc": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u00b4": "'", "\u2044": "/",
}
_NON_ASCII = re2.compile(r"[^\x00-\x7f]+")
# Three or more single letters separated by one space/dot/dash: "N H S", "n.h.s".
_SPACED = re2.compile(r"(?:^|\b)((?:[A-Za-z][ .\-]){2,}[A-Za-z])\b")


@lru_cache(maxsize=1)
def _confusables() -> dict[str, str]:
    """Non-Latin letters whose Unicode 'confusable' skeleton is a single Latin letter."""
    from confusable_homoglyphs import confusables as cf

    table: dict[str, str] = {}
    for char, entries in cf.confusables_data.items():
        if len(char) != 1 or char.isascii():
            continue
        for entry in entries:
            c = entry.get("c", "")
            if len(c) == 1 and c.isascii() and c.isalnum():
                table[char] = c
                break
    return table


def _map_char(ch: str) -> str:
    if ch in _PUNCT:
        return _PUNCT[ch]
    if unicodedata.category(ch) in ("Cf", "Cc", "Mn") and ch not in "\t\n\r":
        # Format/bidi controls, zero-width chars, variation selectors (Mn) vanish.
        if unicodedata.category(ch) != "Mn" or unicodedata.combining(ch) == 0:
            return ""
    mapped = _confusables().get(ch)
    if mapped is not None:
        return mapped
    out = unicodedata.normalize("NFKC", ch)
    return "".join(_PUNCT.get(c, c) for c in out)


@dataclass(frozen=True)
class NormalisedText:
    """`text` is what rules see; `span()` maps a range of it back to `original`."""

    original: str
    text: str
    _starts: array | None  # original start index of each char of `text` (None = identity)
    _ends: array | None

    def span(self, start: int, end: int) -> tuple[int, int]:
        if self._starts is None:
            return start, end
        if end <= start:
            pos = self._starts[start] if start < len(self._starts) else len(self.original)
            return pos, pos
        return self._starts[start], self._ends[end - 1]

    @property
    def changed(self) -> bool:
        return self._starts is not None


def _identity(text: str) -> NormalisedText:
    return NormalisedText(text, text, None, None)


def normalise(original: str) -> NormalisedText:
    scan = _without_surrogates(original)
    view = _collapse_spaced_letters(_normalise_chars(scan))
    return view if scan is original else replace(view, original=original)


def _without_surrogates(text: str) -> str:
    """Unpaired surrogates (from JSON "\\ud800" escapes, e.g. in a model's rewrite) cannot be
    encoded for RE2; scan a same-length copy with U+FFFD in their place, offsets unchanged."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return text


def _normalise_chars(original: str) -> NormalisedText:
    if original.isascii() or _NON_ASCII.search(original) is None:
        return _identity(original)
    parts: list[str] = []
    starts = array("l")
    ends = array("l")
    pos = 0
    for m in _NON_ASCII.finditer(original):
        a, b = m.span()
        if a > pos:  # ASCII run: identity, built at C speed
            parts.append(original[pos:a])
            starts.extend(range(pos, a))
            ends.extend(range(pos + 1, a + 1))
        for i in range(a, b):
            out = _map_char(original[i])
            if out:
                parts.append(out)
                starts.extend([i] * len(out))
                ends.extend([i + 1] * len(out))
        pos = b
    if pos < len(original):
        parts.append(original[pos:])
        starts.extend(range(pos, len(original)))
        ends.extend(range(pos + 1, len(original) + 1))
    return NormalisedText(original, "".join(parts), starts, ends)


def _collapse_spaced_letters(view: NormalisedText) -> NormalisedText:
    text = view.text
    matches = [m for m in _SPACED.finditer(text)]
    if not matches:
        return view
    starts = view._starts if view._starts is not None else array("l", range(len(text)))
    ends = view._ends if view._ends is not None else array("l", range(1, len(text) + 1))
    parts: list[str] = []
    new_starts = array("l")
    new_ends = array("l")
    pos = 0
    for m in matches:
        a, b = m.span(1)
        parts.append(text[pos:a])
        new_starts.extend(starts[pos:a])
        new_ends.extend(ends[pos:a])
        for i in range(a, b):
            if text[i].isalpha():
                parts.append(text[i])
                new_starts.append(starts[i])
                new_ends.append(ends[i])
        pos = b
    parts.append(text[pos:])
    new_starts.extend(starts[pos:])
    new_ends.extend(ends[pos:])
    return NormalisedText(view.original, "".join(parts), new_starts, new_ends)
