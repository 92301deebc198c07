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
# Freephone (080x), non-geographic (03xx) and shared-cost/premium (084x/087x/09xx) lines
# belong to organisations (helplines, hospices, surgeries), never to a patient: kept as a
# phone number but below the score the identifier rules act on (labelling guide: public
# helplines are not marked).
_SERVICE_LINES = {phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.UAN,
                  phonenumbers.PhoneNumberType.SHARED_COST, phonenumbers.PhoneNumberType.PREMIUM_RATE}
SERVICE_LINE_SCORE = 0.3


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
            if phonenumbers.number_type(number) in _SERVICE_LINES:
                score = SERVICE_LINE_SCORE
            else:
                score = 0.85 if valid else 0.6
            start, end = m.span()
            yield Candidate(start, end, self.kind, score, self.name)


registry.register(PhoneRecogniser())
