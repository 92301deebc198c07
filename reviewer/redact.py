"""Deterministic redaction: identifier spans replaced by typed placeholders."""

from __future__ import annotations

from reviewer.schema import IDENTIFIER_KINDS, Finding

PLACEHOLDERS = {
    "person": "[PATIENT]",
    "age": "[AGE]",
    "date": "[DATE]",
    "time": "[TIME]",
    "location": "[PLACE]",
    "nhs_number": "[NHS NUMBER]",
    "hospital_number": "[HOSPITAL NUMBER]",
    "phone": "[PHONE]",
    "email": "[EMAIL]",
    "url": "[LINK]",
    "handle": "[HANDLE]",
    "gps": "[LOCATION]",
}
assert set(PLACEHOLDERS) == set(IDENTIFIER_KINDS)


def identifier_spans(findings: list[Finding]) -> list[tuple[int, int, str]]:
    """Spans to redact: identifier findings and the identifier pieces of jigsaw findings."""
    spans = []
    for f in findings:
        if f.kind in PLACEHOLDERS and f.start is not None and f.end is not None:
            spans.append((f.start, f.end, f.kind))
        for p in f.pieces:
            if p.kind in PLACEHOLDERS:
                spans.append((p.start, p.end, p.kind))
    return spans


def redact(text: str, findings: list[Finding]) -> str:
    spans = sorted(identifier_spans(findings), key=lambda s: (s[0], -s[1]))  # longest first
    out: list[str] = []
    pos = 0
    for start, end, kind in spans:
        if start < pos:  # overlaps the previous span: extend it
            pos = max(pos, end)
            continue
        out.append(text[pos:start])
        out.append(PLACEHOLDERS[kind])
        pos = end
    out.append(text[pos:])
    return "".join(out)
