"""GPS coordinates in text: decimal pairs and degrees-minutes-seconds, range-checked."""

from __future__ import annotations

from collections.abc import Iterable

from reviewer.patterns import compile_pattern
from reviewer.recognisers.base import Candidate, registry

_DECIMAL = compile_pattern(
    r"(?:^|[^\d.])(-?\d{1,2}\.\d{3,8})\s*°?\s*([NS])?\s*[,;/ ]\s*(-?\d{1,3}\.\d{3,8})\s*°?\s*([EW])?"
)
_DMS = compile_pattern(
    r"\b(\d{1,2})\s*°\s*(\d{1,2})\s*['′]\s*(?:(\d{1,2}(?:\.\d+)?)\s*[\"″]?)?\s*([NS])"
    r"[\s,]*(\d{1,3})\s*°\s*(\d{1,2})\s*['′]\s*(?:(\d{1,2}(?:\.\d+)?)\s*[\"″]?)?\s*([EW])"
)


class GpsRecogniser:
    name = "gps"
    kind = "gps"

    def find(self, text: str) -> Iterable[Candidate]:
        for m in _DECIMAL.finditer(text):
            lat, lon = float(m.group(1)), float(m.group(3))
            if -90 <= lat <= 90 and -180 <= lon <= 180 and (lat, lon) != (0.0, 0.0):
                start = m.start(1)
                end = m.end(4) if m.group(4) else m.end(3)
                yield Candidate(start, end, self.kind, 0.9, self.name)
        for m in _DMS.finditer(text):
            if int(m.group(1)) <= 90 and int(m.group(5)) <= 180:
                yield Candidate(m.start(), m.end(), self.kind, 0.95, self.name)


registry.register(GpsRecogniser())
