"""What goes into the index: one row per guidance paragraph (plain and enriched text)
and one row per example phrasing of the bank. All of it is shipped data, never user text."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from reviewer import guidance
from reviewer.retrieval import bank as bank_mod

Kind = Literal["paragraph", "enriched", "breach", "near_miss"]
ENRICH_EXAMPLES = 3  # breach phrasings appended to an enriched paragraph


@dataclass(frozen=True)
class Row:
    kind: Kind
    paragraph: str
    topic: str
    text: str
    note: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def enriched_text(p: guidance.Paragraph, entry: bank_mod.Entry | None) -> str:
    """Paragraph + its summary + a short topic description + a few example phrasings:
    guidance prose is formal, drafts are not, and the examples bridge the two."""
    parts = [p.summary, p.text]
    if entry is not None:
        parts.append(entry.describe)
        parts.extend(ex.text for ex in entry.breach[:ENRICH_EXAMPLES])
    return "\n".join(parts)


def rows() -> list[Row]:
    corpus = guidance.load()
    bank = bank_mod.load()
    out: list[Row] = []
    for p in corpus.paragraphs:
        out.append(Row("paragraph", p.id, p.topic, p.text))
    for p in corpus.paragraphs:
        out.append(Row("enriched", p.id, p.topic, enriched_text(p, bank.entry(p.id))))
    for entry in bank.entries:
        topic = corpus.topic_of(entry.paragraph)
        out.extend(Row("breach", entry.paragraph, topic, ex.text, ex.note) for ex in entry.breach)
        out.extend(Row("near_miss", entry.paragraph, topic, ex.text, ex.note) for ex in entry.near_miss)
    return out
