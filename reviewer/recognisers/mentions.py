"""Later mentions of a name already found: "Margaret Hollis ... RIP Margaret".

A bare first name is too common to flag on its own, but once the person recogniser has
found "Margaret Hollis" (or "her husband Ken"), every later "Margaret" or "Ken" is the
same person and must be redacted too. Pattern data cannot refer back to an earlier
match, so this small recogniser does it in code.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

from reviewer.patterns import compile_pattern
from reviewer.recognisers.base import Candidate, PatternRecogniser, registry

_TITLES = {"Mr", "Mrs", "Ms", "Miss", "Mx", "Master", "Dr", "Big", "Little", "Old", "Young", "Wee",
           "Baby", "The", "Our", "A", "Sir", "Dame", "Lord", "Lady"}
_SOURCE_MIN_SCORE = 0.5
_MAX_NAMES = 20  # a pasted archive can name hundreds; the pattern stays small
# A handle that starts with a name and a separator ("@jess_runs_26", "@mags1950") names
# its owner: "Saw @jess_runs_26 in clinic ... rest it, Jess!" is the same person.
_HANDLE_NAME = compile_pattern(r"^@([a-z]{3,12})(?:[_.\-]|\d)")


class NameMentionRecogniser:
    name = "person_mentions"
    kind = "person"
    source = "person"

    def find(self, text: str) -> Iterable[Candidate]:
        if self.source not in registry:
            return
        source = registry.get(self.source)
        # Only patterns that name someone on their own (base score >= 0.5) seed mentions;
        # skipping the weak ones also keeps this second pass cheap.
        if isinstance(source, PatternRecogniser):
            found = list(source.find(text, min_base=_SOURCE_MIN_SCORE))
        else:
            found = [c for c in source.find(text) if c.score >= _SOURCE_MIN_SCORE]
        names: list[str] = []
        for c in found:
            tokens = text[c.start:c.end].replace(".", " ").split()
            if not tokens or tokens[0].lower() in ("the", "our", "a") or "of" in tokens:
                continue  # a role ("the mayor of Stockport", "Headteacher of Ripon Grammar")
            for token in tokens:
                if token in _TITLES or len(token) < 3 or not token[0].isupper():
                    continue
                if not token[1:].islower() or not token.isalpha():
                    continue
                if token not in names:
                    names.append(token)
                break  # the first real name word: "Violet" of "Mrs Violet Ashworth"
        for c in self._handles(text):
            m = _HANDLE_NAME.search(text[c.start:c.end].lower())
            if m:
                token = m.group(1).capitalize()
                if token not in names:
                    names.append(token)
                found.append(c)
        if not names:
            return
        spans = sorted((c.start, c.end) for c in found)
        starts = [s for s, _ in spans]
        regex = compile_pattern(r"\b(?:" + "|".join(names[:_MAX_NAMES]) + r")\b", True)
        for m in regex.finditer(text):
            start, end = m.span()
            i = bisect_right(starts, start)  # the source span starting at or before `start`
            if i and spans[i - 1][1] > start or i < len(spans) and spans[i][0] < end:
                continue  # part of a name the person recogniser already reports
            yield Candidate(start, end, self.kind, 0.6, self.name)

    @staticmethod
    def _handles(text: str) -> list[Candidate]:
        """Handles seen with patient context (the handle recogniser's own context words)."""
        if "handle" not in registry:
            return []
        return [c for c in registry.get("handle").find(text) if c.score >= _SOURCE_MIN_SCORE]


registry.register(NameMentionRecogniser())
