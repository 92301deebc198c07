"""The findings JSON the model must produce, and the gate every item must pass.

Model output is untrusted (DESIGN.md): generation is constrained to `review_schema()`
(llama.cpp grammar / response_format), and then each item is checked again, because an
on-prem server may ignore the schema and a constrained model can still invent quotes.
An item becomes a Finding only with a legal paragraph id whose topic matches, a legal
severity, and a quote that occurs in the draft (mapped to offsets in the original
text). Everything else is dropped and counted by reason. The model's own verdict is
never used: the verdict follows from the valid findings alone.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from reviewer import guidance
from reviewer.engines.base import Draft
from reviewer.normalise import normalise
from reviewer.schema import SEVERITY_RANK, TOPICS, Finding

# Small bounds keep the worst case (every string at its maximum) inside the token budget.
MAX_FINDINGS = 4
MAX_QUOTE = 80
MAX_NOTE = 100
MIN_QUOTE_CHARS = 3  # "a" occurs in every draft: a quote must point somewhere


def citable() -> dict[str, str]:
    """Paragraph id -> topic for paragraphs a finding may cite (scored topics only;
    e.g. sm-9, the benefits of social media, is never a breach)."""
    return {p.id: p.topic for p in guidance.load().paragraphs if p.topic in TOPICS}


def review_schema() -> dict:
    item = {
        "type": "object",
        "properties": {
            "quote": {"type": "string", "minLength": 1, "maxLength": MAX_QUOTE},
            "paragraph": {"type": "string", "enum": list(citable())},
            "topic": {"type": "string", "enum": list(TOPICS)},
            "severity": {"type": "string", "enum": list(SEVERITY_RANK)},
            "note": {"type": "string", "maxLength": MAX_NOTE},
        },
        "required": ["quote", "paragraph", "topic", "severity", "note"],
        "additionalProperties": False,
    }
    # Findings first: the first finding streams out before the verdict is decided.
    return {
        "type": "object",
        "properties": {
            "findings": {"type": "array", "items": item, "maxItems": MAX_FINDINGS},
            "verdict": {"type": "string", "enum": ["ok", "revise", "do-not-post"]},
        },
        "required": ["findings", "verdict"],
        "additionalProperties": False,
    }


@dataclass
class Checked:
    parsed: bool
    findings: list[Finding] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)
    verdict: str | None = None


def locate(quote: str, draft: Draft) -> tuple[int, int] | None:
    """Offsets of `quote` in the original draft: exact first, then in the normalised view
    (the model may echo a homoglyph-free or straight-quoted form)."""
    at = draft.text.find(quote)
    if at >= 0:
        return at, at + len(quote)
    needle = normalise(quote).text
    view = draft.view.text
    at = view.find(needle)
    if at < 0:
        at = view.casefold().find(needle.casefold()) if len(view.casefold()) == len(view) else -1
    if at < 0 or not needle:
        return None
    return draft.view.span(at, at + len(needle))


def closed_items(text: str) -> list[int]:
    """End offsets of the complete elements of the "findings" array in (streamed) JSON."""
    at = text.find('"findings"')
    ends: list[int] = []
    if at < 0:
        return ends
    depth = 0
    in_str = esc = False
    for i in range(at, len(text)):
        ch = text[i]
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth == 1 and ch == "}":
                ends.append(i + 1)
            if depth <= 0:
                break
    return ends


def salvage(text: str) -> str | None:
    """A generation cut off at the token limit still holds its complete findings."""
    ends = closed_items(text)
    return text[: ends[-1]] + "]}" if ends and text.lstrip().startswith("{") else None


def check(raw: str, draft: Draft, truncated: bool = False) -> Checked:
    cut = Counter()
    if truncated and salvage(raw) is not None:
        raw, cut = salvage(raw), Counter(truncated=1)
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, TypeError):
        return Checked(parsed=False, dropped=Counter(unparsable=1))
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        return Checked(parsed=False, dropped=Counter(schema=1))
    out = Checked(parsed=True, dropped=cut)
    verdict = data.get("verdict")
    out.verdict = verdict if isinstance(verdict, str) else None
    topics_of = citable()
    corpus = guidance.load()
    seen: set[tuple[str, int, int]] = set()
    for item in data["findings"]:
        reason = _item_problem(item, topics_of)
        if reason is None:
            span = locate(item["quote"].strip(), draft)
            if span is None:
                reason = "quote_not_found"
            elif (item["paragraph"], *span) in seen:
                reason = "duplicate"
            elif len(out.findings) >= MAX_FINDINGS:
                reason = "too_many"
        if reason is not None:
            out.dropped[reason] += 1
            continue
        start, end = span
        seen.add((item["paragraph"], start, end))
        para = corpus.get(item["paragraph"])
        note = item.get("note", "").strip()[:MAX_NOTE]
        out.findings.append(Finding(
            rule=f"model.{para.id}", paragraph=para.id, topic=para.topic, source="model",
            severity=item["severity"], start=start, end=end, quote=draft.text[start:end],
            # The message comes from the guidance, not the model: model prose is shown
            # only as the (labelled) rationale.
            message=f"The model flags this passage under {para.id}: {para.summary}",
            suggestion="Reword or remove this passage; see the cited guidance paragraph.",
            evidence=f"model's note: {note}" if note else None,
        ))
    if out.verdict not in (None, "ok") and not out.findings:
        out.dropped["verdict_without_findings"] += 1
    return out


def _item_problem(item: object, topics_of: dict[str, str]) -> str | None:
    if not isinstance(item, dict):
        return "schema"
    for key in ("quote", "paragraph", "topic", "severity"):
        if not isinstance(item.get(key), str):
            return "schema"
    if "note" in item and not isinstance(item["note"], str):
        return "schema"
    pid = item["paragraph"]
    if pid not in topics_of:
        return "unknown_paragraph" if pid not in guidance.load().ids else "not_a_breach_paragraph"
    if item["topic"] not in TOPICS:
        return "bad_topic"
    if item["topic"] != topics_of[pid]:
        return "topic_mismatch"
    if item["severity"] not in SEVERITY_RANK:
        return "bad_severity"
    if len(item["quote"].strip()) < MIN_QUOTE_CHARS:
        return "quote_too_short"
    return None
