"""UK (and international) phone numbers: RE2 finds digit runs, `phonenumbers` validates.

The pre-filter keeps the scan linear-time; the library knows the numbering plans.
"""

from __future__ import annotations

from collections.abc import Iterable

import phonenumbers

from reviewer.patterns import compile_pattern
from reviewer.recognisers.base import Candidate, registry

# UK numbers are written nationally with a leading 0 or internationally with + / 00: other
# digit runs (NHS numbers, order numbers) never reach the slower library parse.
_CANDIDATE = compile_pattern(r"(?:\+\d|\(?\b0)[\d \-.()]{8,18}\d\b")


class PhoneRecogniser:
    name = "phone"
    kind = "phone"

    def find(self, text: str) -> Iterable[Candidate]:
        for m in _CANDIDATE.finditer(text):
            raw = m.group(0)
            digits = sum(ch.isdigit() for ch in raw)
            if not 10 <= digits <= 13:
                continue
            try:
                number = phonenumbers.parse(raw, "GB")
            except phonenumbers.NumberParseException:
                continue
            if not phonenumbers.is_possible_number(number):
                continue
            # Ofcom's drama ranges are "valid" in fiction too: accept possible GB numbers.
            valid = phonenumbers.is_valid_number(number)
            score = 0.85 if valid else 0.6
            start, end = m.span()
            yield Candidate(start, end, self.kind, score, self.name)


registry.register(PhoneRecogniser())
