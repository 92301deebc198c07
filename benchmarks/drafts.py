"""Inputs for the benchmarks: the labelled drafts, and texts of a given size built from them.

Synthetic inputs are made from the labelled drafts (realistic mix of identifiers and
plain prose) or from fixed adversarial alphabets; nothing is written to disk here.
"""

from __future__ import annotations

import random
from pathlib import Path

from reviewer.evaluate import Labelled, load_labelled

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = (ROOT / "tests" / "data" / "dev.jsonl", ROOT / "tests" / "data" / "test.jsonl")


def load(paths: list[Path], limit: int | None = None) -> dict[str, list[Labelled]]:
    """Labelled drafts per file stem ('dev', 'test'); missing files are skipped."""
    out: dict[str, list[Labelled]] = {}
    for path in paths:
        if path.is_file():
            rows = load_labelled(path)
            out[path.stem] = rows[:limit] if limit else rows
    return out


def corpus(rows: list[Labelled]) -> str:
    return " ".join(r.item.text for r in rows)


def sized(text: str, size: int) -> str:
    """`text` repeated or cut to exactly `size` characters."""
    if not text:
        raise ValueError("no drafts to build inputs from")
    reps = size // (len(text) + 1) + 1
    return (" ".join([text] * reps))[:size]


def posts(text: str, n: int, length: int = 280) -> list[str]:
    """`n` distinct posts of `length` characters, windows over the draft corpus."""
    long = sized(text, max(len(text), length * 2))
    span = len(long) - length
    stride = max(1, span // max(n, 1))
    return [long[(i * stride) % span:(i * stride) % span + length] for i in range(n)]


def adversarial(size: int) -> dict[str, str]:
    """Inputs meant to hit the slow paths of a pattern engine: dense digits (phone, NHS),
    capitalised names, one unbroken token, homoglyphs, emoji, identifier soup."""
    rnd = random.Random(7)
    digits = " ".join(str(rnd.randrange(10)) for _ in range(size // 2 + 1))
    names = " ".join(rnd.choice(["Mr", "Mrs", "Dr", "Ms"]) + " " + rnd.choice("ABCDEFGHJKLMNPRSTW")
                     + rnd.choice(["atel", "mith", "ones", "ee", "hah"]) for _ in range(size // 8 + 1))
    homoglyph = "".join(rnd.choice("аеорсухіАВЕКМНОРСТХ0Oo1lI ") for _ in range(size))
    emoji = "".join(rnd.choice(["🙄", "😂", "e\u0301", "\u200b", "🏥", "👍🏽", " "]) for _ in range(size // 2))
    soup = "07700 900123 943 476 5919 jo@nhs.net http://x.co/a @handle 3/5/24 2am bed 4 aged 84 "
    return {
        "spaced-digits": digits[:size],
        "names": names[:size],
        "one-token": ("a" * size),
        "homoglyphs": homoglyph[:size],
        "emoji-combining": emoji[:size],
        "identifier-soup": sized(soup, size),
        "newlines": ("x\n" * size)[:size],
    }
