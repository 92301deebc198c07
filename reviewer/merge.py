"""Merge findings from all engines: overlapping spans on one topic become one finding.

The merged finding keeps the most precise member (rules first, then semantic, then
model), the highest severity, and records which engines found it (`found_by`,
`agreement`), so reviewers can be compared per topic.
"""

from __future__ import annotations

from reviewer.schema import SEVERITY_RANK, Finding

_PRECEDENCE = {"rules": 0, "semantic": 1, "model": 2}


def _overlaps(a: Finding, b: Finding) -> bool:
    """Same topic and overlapping spans; within one engine only identical spans merge
    (so a jigsaw finding is not swallowed by the identifier findings inside it)."""
    if a.topic != b.topic:
        return False
    if (a.start, a.end) == (b.start, b.end):
        return True
    if a.source == b.source or a.start is None or b.start is None:
        return False
    return a.start < b.end and b.start < a.end


def agreement(found_by: list[str]) -> str:
    return "both" if len(found_by) > 1 else f"{found_by[0]} only"


def merge(findings: list[Finding]) -> list[Finding]:
    ordered = sorted(findings, key=lambda f: (_PRECEDENCE[f.source], -SEVERITY_RANK[f.severity]))
    merged: list[Finding] = []
    for f in ordered:
        engines = f.found_by or [f.source]
        for m in merged:
            if _overlaps(m, f):
                for e in engines:
                    if e not in m.found_by:
                        m.found_by.append(e)
                if SEVERITY_RANK[f.severity] > SEVERITY_RANK[m.severity]:
                    m.severity = f.severity
                if m.evidence is None and f.evidence:
                    m.evidence = f.evidence
                break
        else:
            merged.append(f.model_copy(update={"found_by": list(engines)}))  # found_by is new; rest not mutated
    for m in merged:
        m.found_by.sort(key=lambda e: _PRECEDENCE[e])
        m.agreement = agreement(m.found_by)
    merged.sort(key=lambda f: (f.start if f.start is not None else -1, f.topic, f.rule))
    return merged
