"""Fit the semantic engine on a labelled split (dev only): per-topic classifier + threshold.

Per topic, a logistic regression on the sentence embedding is fitted on the example bank
(the topic's breach phrasings against every other phrasing, near-misses included) and on
the dev drafts (a draft labelled with the topic is a positive as a whole; every query of
a draft without it is a negative). Thresholds are chosen on *out-of-fold* scores
(CV_FOLDS-fold cross-fitting), never on scores of drafts the classifier was fitted on:
a threshold fitted in-sample just above the highest clean draft flagged ~9% of unseen
clean drafts. Per topic the threshold maximises out-of-fold F1 among values at least
MARGIN_SD standard deviations of the clean drafts' scores above the highest clean score.
Everything is written with the model id and bank digest it belongs to, and the
out-of-fold ROC AUC per topic.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

from reviewer.errors import InputError
from reviewer.evaluate import Labelled, load_labelled
from reviewer.normalise import normalise
from reviewer.schema import TOPICS

CV_FOLDS = 5
MARGIN_SD = 0.5  # chosen by cross-validation on dev: ~1-2% of unseen clean drafts flagged
C = 1.0  # inverse regularisation of the per-topic logistic regressions
CONTEXT_ONLY = ("anonymity",)  # decided by context (sm-17), as for the rules: no classifier
CONTEXT_THRESHOLD = 1.0  # below CONTEXT_SCORE, above any probability
MISSING = -50.0  # logit of a topic that cannot apply in the draft's context
SEED = 0


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


def choose(scores: list[float], labels: list[bool], clean: list[bool], margin: float = 0.0) -> tuple[float, dict]:
    """Best-F1 threshold at least `margin` above the highest clean score (halfway between
    neighbouring scores where the margin allows); above every score (the topic never
    fires) when no score qualifies."""
    values = sorted(set(scores), reverse=True)
    top_clean = max((s for s, c in zip(scores, clean) if c), default=-math.inf)
    best = (-1.0, values[0] + 1e-3 if values else 1.0, {})
    pos = sum(labels)
    for k, v in enumerate(values):
        if v < top_clean + margin:
            break
        tp = sum(1 for s, y in zip(scores, labels) if y and s >= v)
        fp = sum(1 for s, y in zip(scores, labels) if not y and s >= v)
        f1 = 2 * tp / (2 * tp + fp + (pos - tp)) if pos else 0.0
        if f1 > best[0]:
            below = values[k + 1] if k + 1 < len(values) else v - 0.02
            best = (f1, max((v + below) / 2, top_clean + margin), {"f1": round(f1, 3), "tp": tp, "fp": fp})
    return best[1], best[2]


@dataclass
class Prepared:
    """One labelled draft, embedded once: query vectors and effective context (no text kept)."""

    id: str
    topics: set[str]
    vecs: object  # (n_queries, dim), row 0 = whole draft
    ectx: object


def prepare(ix, rows: list[Labelled]) -> list[Prepared]:
    from reviewer import rulepacks
    from reviewer.engines.rules import effective_context
    from reviewer.retrieval.search import query_spans

    packs = rulepacks.load()
    texts, owner, out = [], [], []
    for i, row in enumerate(rows):
        view = normalise(row.item.text)
        for a, b in query_spans(view.text):
            texts.append(view.text[a:b])
            owner.append(i)
        out.append(Prepared(str(row.item.id), set(row.topics), None,
                            effective_context(view, row.item.context(), packs)))
    vecs = ix.embedder.encode(texts)
    import numpy as np

    owner = np.asarray(owner)
    for i, p in enumerate(out):
        p.vecs = vecs[owner == i]
    return out


def _bank(ix):
    import numpy as np

    idx = [i for i, r in enumerate(ix.rows) if r.kind in ("breach", "near_miss")]
    vecs = ix.vectors()[idx]
    return vecs, [ix.rows[i] for i in idx], np


def fit(ix, prepared: list[Prepared]) -> dict:
    """{topic: {"w": [...], "b": float}} fitted on the bank and the given drafts."""
    from sklearn.linear_model import LogisticRegression

    bank_vecs, bank_rows, np = _bank(ix)
    model = {}
    topics_with_phrasings = {r.topic for r in bank_rows if r.kind == "breach"}
    for t in TOPICS:
        if t in CONTEXT_ONLY or t not in topics_with_phrasings:
            continue
        xs = [bank_vecs]
        ys = [np.array([r.kind == "breach" and r.topic == t for r in bank_rows])]
        ws = [np.ones(len(bank_rows))]
        for p in prepared:
            if t in p.topics:  # which sentence carries the breach is unknown: the whole draft
                xs.append(p.vecs[:1])
                ys.append(np.ones(1, bool))
                ws.append(np.ones(1))
            else:  # every query is a negative; long drafts do not outweigh short ones
                xs.append(p.vecs)
                ys.append(np.zeros(len(p.vecs), bool))
                ws.append(np.full(len(p.vecs), 1 / math.sqrt(len(p.vecs))))
        clf = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
        clf.fit(np.vstack(xs), np.concatenate(ys), sample_weight=np.concatenate(ws))
        model[t] = {"w": [round(float(x), 6) for x in clf.coef_[0]], "b": round(float(clf.intercept_[0]), 6)}
    return model


def logits(model: dict, p: Prepared) -> dict[str, float]:
    """Draft-level logit per topic (best query), MISSING where the topic cannot apply."""
    import numpy as np

    from reviewer.retrieval.topics import applicable

    out = {}
    for t in TOPICS:
        if t not in model or not applicable(t, p.ectx):
            out[t] = MISSING
            continue
        w = np.asarray(model[t]["w"], dtype="float32")
        out[t] = float((p.vecs @ w + model[t]["b"]).max())
    return out


def out_of_fold(ix, prepared: list[Prepared]) -> list[dict[str, float]]:
    import numpy as np

    order = np.random.default_rng(SEED).permutation(len(prepared))
    scores: list[dict[str, float] | None] = [None] * len(prepared)
    for fold in np.array_split(order, CV_FOLDS):
        held = set(fold.tolist())
        model = fit(ix, [p for i, p in enumerate(prepared) if i not in held])
        for i in fold:
            scores[i] = logits(model, prepared[i])
    return scores


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


def thresholds(prepared: list[Prepared], oof: list[dict[str, float]], margin_sd: float = MARGIN_SD) -> dict:
    import numpy as np

    clean = [not p.topics for p in prepared]
    out = {}
    for t in TOPICS:
        y = [t in p.topics for p in prepared]
        if not any(y):
            continue
        if t in CONTEXT_ONLY:
            out[t] = {"threshold": CONTEXT_THRESHOLD, "positives": sum(y), "by": "context only"}
            continue
        s = [d[t] for d in oof]
        applicable_clean = [v for v, c in zip(s, clean) if c and v > MISSING]
        sd = float(np.std(applicable_clean)) if len(applicable_clean) > 2 else 1.0
        logit, stats = choose(s, y, clean, margin_sd * sd)
        auc = roc_auc(s, y)
        out[t] = {"threshold": round(_sigmoid(logit), 6), "auc": None if auc is None else round(auc, 3),
                  "positives": sum(y), **stats}
    return out


def calibrate(data: Path, model: str | None = None, rows: list[Labelled] | None = None,
              margin_sd: float = MARGIN_SD) -> dict:
    """Fit and threshold on `data` (or on `rows` taken from it, e.g. the older part of dev)."""
    if Path(data).name.startswith("test"):
        raise InputError("thresholds are calibrated on the dev split only, never on a test split")
    from reviewer.retrieval import bank, store

    rows = rows if rows is not None else load_labelled(Path(data))
    ix = store.load(model)
    t0 = time.perf_counter()
    prepared = prepare(ix, rows)
    seconds = time.perf_counter() - t0
    oof = out_of_fold(ix, prepared)
    topics = thresholds(prepared, oof, margin_sd)
    return {
        "calibrated_on": Path(data).name,
        "drafts": len(rows),
        "model_id": ix.meta["model_id"],
        "bank_sha256": bank.load().digest,
        "scoring": "per-topic logistic regression on the sentence embedding (bank + dev), best sentence; "
                   f"thresholds on {CV_FOLDS}-fold out-of-fold scores, {margin_sd} sd above the highest clean draft",
        "margin_sd": margin_sd,
        "seconds_per_draft": round(seconds / max(1, len(rows)), 4),
        "calibrated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "topics": topics,
        "model": fit(ix, prepared),
    }


def topic_scores(engine, rows) -> list[dict[str, float]]:
    """The engine's draft-level score per topic for each row (-1 where it cannot apply)."""
    from reviewer.engines.base import Draft

    out = []
    for row in rows:
        text = row.item.text
        draft = Draft(text, normalise(text), row.item.context(), [], text)
        scores = engine.scores(draft)
        out.append({t: scores.topic.get(t, -1.0) for t in TOPICS})
    return out
