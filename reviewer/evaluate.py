"""Score the reviewer on labelled drafts (tests/data/*.jsonl): topics, spans, clean posts.

Topic scores are per draft (a draft's predicted topic set against its labelled set),
for each engine alone and for the union of all engines. Identifier spans are matched by
overlap. Nothing here prints draft text unless the caller asks for it.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from reviewer.errors import InputError
from reviewer.redact import identifier_spans
from reviewer.schema import TOPICS, BatchInput, Result


@dataclass
class Labelled:
    item: BatchInput
    topics: set[str]
    spans: list[tuple[int, int, str]]
    tags: list[str] = field(default_factory=list)

    @property
    def batch(self) -> str:
        """Which writer's batch the draft comes from (tag `batchN`; untagged drafts are batch1)."""
        return next((t for t in self.tags if t.startswith("batch")), "batch1")


def load_labelled(path: Path) -> list[Labelled]:
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"file not found: {path}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not valid UTF-8") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            labels = obj.get("labels") or {}
            rows.append(Labelled(
                BatchInput.model_validate(obj),
                set(labels.get("topics", [])),
                [(s["start"], s["end"], s["kind"]) for s in labels.get("spans", [])],
                [str(t) for t in labels.get("tags", [])],
            ))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}: line {n}: not a labelled draft ({exc.__class__.__name__})") from None
    return rows


@dataclass
class PRF:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 3),
                "recall": round(self.recall, 3), "f1": round(self.f1, 3)}


@dataclass
class EngineScores:
    topics: dict[str, PRF] = field(default_factory=lambda: {t: PRF() for t in TOPICS})
    misses: Counter = field(default_factory=Counter)  # (topic) -> count
    false_alarms: Counter = field(default_factory=Counter)
    miss_ids: dict[str, list[str]] = field(default_factory=dict)
    alarm_ids: dict[str, list[str]] = field(default_factory=dict)

    def add(self, row_id: str, gold: set[str], pred: set[str]) -> None:
        for t in TOPICS:
            if t in gold and t in pred:
                self.topics[t].tp += 1
            elif t in pred:
                self.topics[t].fp += 1
                self.false_alarms[t] += 1
                self.alarm_ids.setdefault(t, []).append(row_id)
            elif t in gold:
                self.topics[t].fn += 1
                self.misses[t] += 1
                self.miss_ids.setdefault(t, []).append(row_id)

    def macro_f1(self) -> float:
        present = [p for p in self.topics.values() if p.tp + p.fn > 0]
        return sum(p.f1 for p in present) / len(present) if present else 0.0


def _engine_topics(result: Result, engine: str | None) -> set[str]:
    return {f.topic for f in result.findings if engine is None or engine in (f.found_by or [f.source])}


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def evaluate(rows: Iterable[Labelled], review_one: Callable[[BatchInput], Result],
             engines: tuple[str, ...] = ("rules",)) -> dict:
    per_engine = {e: EngineScores() for e in engines}
    union = EngineScores()
    spans = PRF()
    span_kinds: dict[str, PRF] = {}
    clean_total = clean_flagged = 0
    flagged_ids: list[str] = []
    clean_by_engine = {e: 0 for e in engines}  # clean drafts on which that engine found anything
    rewrite_checked = rewrite_clean = no_confidential_left = 0
    n = 0
    started = time.perf_counter()
    for row in rows:
        n += 1
        rid = str(row.item.id)
        result = review_one(row.item)
        found = {e: _engine_topics(result, e) for e in engines}
        for e in engines:
            per_engine[e].add(rid, row.topics, found[e])
        union.add(rid, row.topics, _engine_topics(result, None))
        pred = [(s, e) for s, e, _ in identifier_spans(result.findings)]
        for s, e, kind in row.spans:
            hit = any(_overlap((s, e), p) for p in pred)
            spans.tp += hit
            spans.fn += not hit
            k = span_kinds.setdefault(kind, PRF())
            k.tp += hit
            k.fn += not hit
        spans.fp += sum(1 for p in pred if not any(_overlap(p, (s, e)) for s, e, _ in row.spans))
        if not row.topics:
            clean_total += 1
            if result.verdict != "ok":
                clean_flagged += 1
                flagged_ids.append(rid)
            for e in engines:
                clean_by_engine[e] += bool(found[e])
        if result.findings:
            rewrite_checked += 1
            rewrite_clean += result.rewrite_check.clean
            # Redaction only removes identifiers: conduct findings (an insult, an advert) are
            # expected to remain, so also count texts with no confidentiality finding left.
            no_confidential_left += all(r.topic != "confidentiality" for r in result.rewrite_check.remaining)
    elapsed = time.perf_counter() - started

    def engine_report(s: EngineScores) -> dict:
        return {
            "macro_f1": round(s.macro_f1(), 3),
            "topics": {t: p.as_dict() for t, p in s.topics.items()},
            "top_misses": {t: {"count": c, "ids": s.miss_ids[t][:10]} for t, c in s.misses.most_common(5)},
            "top_false_alarms": {t: {"count": c, "ids": s.alarm_ids[t][:10]}
                                 for t, c in s.false_alarms.most_common(5)},
        }

    report = {
        "drafts": n,
        "seconds": round(elapsed, 2),
        "engines": {e: engine_report(s) for e, s in per_engine.items()},
        "union": engine_report(union),
        "spans": {**spans.as_dict(), "by_kind": {k: {"tp": v.tp, "fn": v.fn, "recall": round(v.recall, 3)}
                                                 for k, v in sorted(span_kinds.items())}},
        "clean": {"drafts": clean_total, "flagged": clean_flagged,
                  "false_flag_rate": round(clean_flagged / clean_total, 3) if clean_total else 0.0,
                  "flagged_ids": flagged_ids[:20],
                  "flagged_by_engine": clean_by_engine},
        "rewrite_check": {"checked": rewrite_checked, "clean": rewrite_clean,
                          "pass_rate": round(rewrite_clean / rewrite_checked, 3) if rewrite_checked else 0.0,
                          "no_confidentiality_left": no_confidential_left,
                          "no_confidentiality_left_rate": round(no_confidential_left / rewrite_checked, 3)
                          if rewrite_checked else 0.0},
    }
    return report
