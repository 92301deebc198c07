"""Linear-time pattern compilation: every rule and recogniser pattern goes through RE2.

RE2 refuses backreferences and lookaround, so a pattern that compiles here cannot
backtrack catastrophically on a pasted 1 MB draft. Python's `re` is never used on user
text.
"""

from __future__ import annotations

from functools import lru_cache

import re2

from reviewer.errors import RuleError

_OPTIONS = re2.Options()
_OPTIONS.case_sensitive = False
_OPTIONS.max_mem = 64 << 20  # big alternations of phrase lists need more than the 8 MB default
_OPTIONS_CS = re2.Options()
_OPTIONS_CS.max_mem = 64 << 20


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str, case_sensitive: bool = False):
    try:
        return re2.compile(pattern, _OPTIONS_CS if case_sensitive else _OPTIONS)
    except re2.error as exc:
        raise RuleError(f"pattern is not valid RE2 (linear-time) syntax: {pattern!r}: {exc}") from None


def phrase_pattern(phrases: list[str] | tuple[str, ...]) -> str:
    """One alternation for a phrase list: words at word boundaries, flexible whitespace.

    A trailing '*' in a phrase allows any word ending ("insult*" matches "insulting").
    """
    alts = []
    for phrase in sorted(set(phrases), key=len, reverse=True):
        words = phrase.strip().split()
        if not words:
            continue
        parts = []
        for w in words:
            stem = re2.escape(w.rstrip("*"))
            parts.append(stem + (r"\w*" if w.endswith("*") else ""))
        body = r"[\s\-]+".join(parts)
        left = r"\b" if words[0][0].isalnum() else ""
        right = r"\b" if words[-1].rstrip("*")[-1:].isalnum() else ""
        alts.append(f"{left}{body}{right}")
    return "(?:" + "|".join(alts) + ")" if alts else r"[^\s\S]"
