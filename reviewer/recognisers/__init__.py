"""Identifier recognisers behind one registry (Presidio-style: pattern + context + validation).

Pattern-only recognisers are data (`rules/recognisers.yml`); the ones here in code need
something data cannot express: a checksum (NHS number), a numbering-plan library
(phone), coordinate ranges (GPS).
"""

from reviewer.recognisers.base import Candidate, PatternRecogniser, Recogniser, registry

__all__ = ["Candidate", "PatternRecogniser", "Recogniser", "registry"]
