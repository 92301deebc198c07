"""Calibrate the semantic engine's per-topic thresholds on a labelled split (dev only).

For each topic the threshold maximises F1 on the split, subject to flagging at most
CLEAN_BUDGET of its clean drafts, and sits halfway between the two neighbouring
scores so it does not hug one draft. Thresholds are written with the model id and
the bank digest they belong to, and the per-topic ROC AUC on the split.
"""

from __future__ import annotations

import time
from pathlib import Path

from reviewer.errors import InputError
from reviewer.evaluate import load_labelled
from reviewer.normalise import normalise
from reviewer.schema import TOPICS

CLEAN_BUDGET = 0.0  # per topic: share of clean dev drafts it may flag (union of 11 topics must stay low)
MISSING = -1.0  # score of a topic that cannot apply in the draft's context


def roc_auc(scores: list[float], labels: list[bool]) -> float | None:
    """Mann-Whitney AUC (ties count half); None when one class is absent."""
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    if not pos or not neg:
        return None
    order = sorted(scores)
    rank: dict[float, float] = {}
    i = 0
    while i < len(order):  # average rank of ties
        j = i
        while j < len(order) and order[j] == order[i]:
            j += 1
        rank[order[i]] = (i + j + 1) / 2
        i = j
    rsum = sum(rank[s] for s in pos)
    return (rsum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def choose(scores: list[float], labels: list[bool], clean: list[bool]) -> tuple[float, dict]:
    values = sorted(set(scores), reverse=True)
    n_clean = max(1, sum(clean))
    best = (-1.0, values[0] + 1e-3 if values else 1.0, {})
    for k, v in enumerate(values):
        tp = sum(1 for s, y in zip(scores, labels) if y and s >= v)
        fp = sum(1 for s, y in zip(scores, labels) if not y and s >= v)
        cfp = sum(1 for s, c in zip(scores, clean) if c and s >= v)
        if cfp / n_clean > CLEAN_BUDGET:
            break
        pos = sum(labels)
        f1 = 2 * tp / (2 * tp + fp + (pos - tp)) if pos else 0.0
        if f1 > best[0]:
            below = values[k + 1] if k + 1 < len(values) else v - 0.02
            best = (f1, (v + below) / 2, {"f1": round(f1, 3), "tp": tp, "fp": fp, "clean_fp": cfp})
    return best[1], best[2]


def topic_scores(engine, rows) -> list[dict[str, float]]:
    from reviewer.engines.base import Draft

    out = []
    for row in rows:
        text = row.item.text
        draft = Draft(text, normalise(text), row.item.context(), [], text)
        scores = engine.scores(draft)
        out.append({t: scores.topic.get(t, MISSING) for t in TOPICS})
    return out


def calibrate(data: Path, model: str | None = None) -> dict:
    if Path(data).name.startswith("test"):
        raise InputError("thresholds are calibrated on the dev split only, never on a test split")
    from reviewer.engines.semantic import SemanticEngine
    from reviewer.retrieval import bank, store

    rows = load_labelled(Path(data))
    ix = store.load(model)
    engine = SemanticEngine(model=model)
    engine._state = (ix, {"threshold": {}})  # score without thresholds
    t0 = time.perf_counter()
    scored = topic_scores(engine, rows)
    seconds = time.perf_counter() - t0
    clean = [not r.topics for r in rows]
    topics = {}
    for t in TOPICS:
        s = [d[t] for d in scored]
        y = [t in r.topics for r in rows]
        if not any(y):
            continue
        threshold, stats = choose(s, y, clean)
        auc = roc_auc(s, y)
        topics[t] = {"threshold": round(threshold, 4), "auc": None if auc is None else round(auc, 3),
                     "positives": sum(y), **stats}
    return {
        "calibrated_on": Path(data).name,
        "drafts": len(rows),
        "model_id": ix.meta["model_id"],
        "bank_sha256": bank.load().digest,
        "scoring": "mean of the 3 nearest breach phrasings, best sentence",
        "clean_budget_per_topic": CLEAN_BUDGET,
        "seconds_per_draft": round(seconds / max(1, len(rows)), 4),
        "calibrated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "topics": topics,
    }
