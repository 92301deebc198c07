"""Split a draft into sentence spans (offsets into the text given) for per-sentence embedding.

Boundaries: end punctuation followed by whitespace, line breaks, and thread markers
("1/3"). Very long sentences are cut into word windows so the embedder (which truncates
at 256 word pieces) sees all of them. RE2 only: this runs on user text.
"""

from __future__ import annotations

from reviewer.patterns import compile_pattern

# A sentence ends after . ! ? … (plus closing quotes/brackets) before whitespace, or at a newline.
_BOUNDARY = compile_pattern(r"[.!?\x{2026}]+[\"')\]]*\s+|\s*\n\s*|\s+\d{1,2}/\d{1,2}\s+", True)
_WORD = compile_pattern(r"\S+", True)
MAX_WORDS = 60
MIN_CHARS = 3
# "Dr. Shah" is one sentence: no cut after these abbreviations.
_ABBREV = ("dr.", "mr.", "mrs.", "ms.", "prof.", "st.", "e.g.", "i.e.", "vs.", "no.", "approx.")


def _windows(text: str, start: int, end: int) -> list[tuple[int, int]]:
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
    if len(words) <= MAX_WORDS:
        return [(start, end)]
    step = MAX_WORDS // 2  # overlapping windows: a phrase cut by one is whole in the next
    out = []
    for i in range(0, len(words) - step, step):
        chunk = words[i:i + MAX_WORDS]
        out.append((chunk[0][0], chunk[-1][1]))
    return out


def spans(text: str) -> list[tuple[int, int]]:
    """Non-empty sentence spans [start, end) with surrounding whitespace trimmed."""
    out: list[tuple[int, int]] = []
    pos = 0
    cuts = [(m.start(), m.end()) for m in _BOUNDARY.finditer(text)] + [(len(text), len(text))]
    for a, b in cuts:
        seg_end = a
        # keep the end punctuation inside the sentence
        while seg_end < b and not text[seg_end].isspace():
            seg_end += 1
        last_word = text[pos:seg_end].rsplit(None, 1)[-1:] or [""]
        if a < len(text) and "\n" not in text[a:b] and last_word[0].lower() in _ABBREV:
            continue  # keep `pos`: the sentence goes on after the abbreviation
        s, e = pos, seg_end
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e - s >= MIN_CHARS:
            out.extend(_windows(text, s, e))
        pos = b
    return out
