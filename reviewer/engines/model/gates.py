"""Gates a model rewrite must pass before the user sees it (thresholds in prompts/gates.toml).

In order: not empty, not a refusal or assistant preamble, not a repetition loop, a
sensible length, no rules finding left (reviewer.verify.recheck), and close in meaning
to the deterministic redaction (embedding similarity). The first gate that fails names
the reason the rewrite is withheld; the deterministic redaction is offered instead.
"""

from __future__ import annotations

import tomllib
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from reviewer import paths
from reviewer.engines.base import Draft
from reviewer.errors import DataError
from reviewer.verify import recheck

Similarity = Callable[[str, str], float]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    gate: str | None = None  # dropped-counter key, e.g. "rewrite_refusal"
    reason: str | None = None  # shown to the user: why the model rewrite was withheld
    similarity: float | None = None


@lru_cache(maxsize=2)
def _settings(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"rewrite gate settings unreadable: {path} ({exc.__class__.__name__})") from None


def settings() -> dict:
    return _settings(paths.prompts_dir() / "gates.toml")


def is_refusal(text: str) -> bool:
    low = text.casefold().replace("\u2019", "'")
    return any(marker in low for marker in settings()["refusal"]["markers"])


def is_loop(text: str) -> bool:
    cfg = settings()["repetition"]
    lines = [ln.strip().casefold() for ln in text.splitlines() if ln.strip()]
    if lines and max(lines.count(ln) for ln in set(lines)) > cfg["max_line_repeats"]:
        return True
    words = text.casefold().split()
    if len(words) >= cfg["min_words"]:
        trigrams = list(zip(words, words[1:], words[2:]))
        if len(set(trigrams)) / len(trigrams) < cfg["min_distinct_trigrams"]:
            return True
    # Character-level loops ("!!!!!!", "lolololol") have no word structure but compress away.
    raw = text.encode("utf-8")
    return len(raw) > 200 and len(zlib.compress(raw)) / len(raw) < 0.15


def length_problem(text: str, draft: str) -> str | None:
    cfg = settings()["length"]
    n, d = len(text.strip()), len(draft.strip())
    if n < cfg["min_chars"] or n < cfg["min_ratio"] * d:
        return "much shorter than the draft"
    if n > max(cfg["max_ratio"] * d, d + 200):
        return "much longer than the draft"
    return None


def check(rewrite: str, draft: Draft, similarity: Similarity | None) -> Verdict:
    text = rewrite.strip()
    if not text:
        return Verdict(False, "rewrite_empty", "the model returned no rewrite")
    if is_refusal(text):
        return Verdict(False, "rewrite_refusal", "the model refused or added a preamble")
    if is_loop(text):
        return Verdict(False, "rewrite_repetition", "the model rewrite repeats itself")
    problem = length_problem(text, draft.text)
    if problem:
        return Verdict(False, "rewrite_length", f"the model rewrite is {problem}")
    remaining = recheck(text, draft.context, "rewrite").remaining
    if remaining:
        rules = ", ".join(sorted({r.rule for r in remaining}))
        return Verdict(False, "rewrite_leaks", f"still leaks: the rules still find {rules}")
    if similarity is None:
        return Verdict(True)
    score = similarity(text, draft.redacted)
    if score < settings()["meaning"]["min_similarity"]:
        return Verdict(False, "rewrite_meaning",
                       f"the model rewrite drifts from the draft's meaning (similarity {score:.2f})",
                       score)
    return Verdict(True, similarity=score)
