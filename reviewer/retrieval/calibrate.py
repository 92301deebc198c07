"""Fit the semantic engine on a labelled split (dev only): per-topic classifier + threshold.

Per topic, an RBF-kernel SVM (reviewer/retrieval/classifier.py) is fitted on the example
bank (the topic's breach phrasings against every other phrasing, near-misses included)
and on the dev drafts (a draft labelled with the topic is a positive as a whole; every
query of a draft without it is a negative, weighted so long drafts do not outweigh short
ones).

Thresholds are chosen on out-of-fold decisions, never on drafts the classifier was fitted
on, and the folds are the dev split's writers (leave one batch out): the held-out test
split comes from a writer none of them is, so a writer none of the training drafts came
from is what each threshold is chosen against. Per topic the threshold maximises
out-of-fold F1 among values at least MARGIN_SD standard deviations of the clean drafts'
decisions above the highest clean decision (CLEAN_BUDGET lets a share of them sit above
it instead). Everything is written with the model id and
bank digest it belongs to, and the out-of-fold ROC AUC per topic.

With `tune` (the shipped calibration) the encoder's top layers are first fine-tuned on
the bank and the dev drafts (reviewer/retrieval/finetune.py), and the classifiers read the
tuned embeddings. The out-of-fold decisions then come from TUNE_FOLDS groups of writers:
for each, an encoder fine-tuned and classifiers fitted without those writers score them,
so a threshold is still chosen against writers nothing was trained on.
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

CV_FOLDS = 5  # only when the data holds a single batch (no writers to leave out)
TUNE_FOLDS = 5  # writer groups when fine-tuning (each costs a fine-tune: ~5 min on 2 cores)
MARGIN_SD = 0.0  # chosen by leave-one-writer-out on dev (benchmarks/eval_semantic.py --hold-out)
# Share of out-of-fold clean drafts a topic's threshold may leave above it. Leave one
# writer out over the 12 dev batches of 2026-12-01 (1503 drafts; thresholds from the other
# 11): budget 0 -> the engine alone finds 30% of breaches at precision 0.95 and flags 2.0%
# of clean drafts; 0.003 -> 45% at 0.93, 3.7%; 0.005 -> 55% at 0.90, 5.2%. The rules
# already flag 4-12% of a new writer's clean drafts, so the second opinion takes the quiet end.
CLEAN_BUDGET = 0.0
C = 3.0  # SVM soft margin; leave one writer out, share of breaches caught at 1% false flags: C=1 0.50, C=3 0.55, C=10 0.55
CONTEXT_ONLY = ("anonymity",)  # decided by context (sm-17), as for the rules: no classifier
CONTEXT_THRESHOLD = 1.0  # below CONTEXT_SCORE, above any probability
MISSING = -50.0  # decision of a topic that cannot apply in the draft's context
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


def choose(scores: list[float], labels: list[bool], clean: list[bool], margin: float = 0.0,
           budget: float = 0.0) -> tuple[float, dict]:
    """Best-F1 threshold at least `margin` above the highest clean score, or above the
    highest but the top `budget` share of clean scores (halfway between neighbouring scores
    where the margin allows); above every score (the topic never fires) when none qualifies."""
    values = sorted(set(scores), reverse=True)
    cleans = sorted((s for s, c in zip(scores, clean) if c), reverse=True)
    allowed = int(budget * len(cleans))  # clean drafts the threshold may leave above it
    top_clean = cleans[allowed] if allowed < len(cleans) else -math.inf
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
    batch: str = "batch1"


def prepare(ix, rows: list[Labelled], encoder=None) -> list[Prepared]:
    """Embed every query of every draft with `encoder` (default: the index's embedder)."""
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
                            effective_context(view, row.item.context(), packs), row.batch))
    import numpy as np

    # Rounded to float16 now, as the stored model keeps them: thresholds fit what ships.
    vecs = (encoder or ix.embedder).encode(texts).astype("float16").astype("float32")
    owner = np.asarray(owner)
    for i, p in enumerate(out):
        p.vecs = vecs[owner == i]
    return out


class _Training:
    """Every training row as a (query vector, draft vector) pair of indices into one table:
    bank phrasings first (each its own draft), then each draft's queries."""

    def __init__(self, ix, prepared: list[Prepared], encoder=None) -> None:
        import numpy as np

        idx = [i for i, r in enumerate(ix.rows) if r.kind in ("breach", "near_miss")]
        self.bank_rows = [ix.rows[i] for i in idx]
        bank = (encoder.encode([r.text for r in self.bank_rows]) if encoder is not None
                else ix.vectors()[idx]).astype("float16").astype("float32")
        tables, pairs = [bank], []
        nb = len(idx)
        pairs.extend((i, i) for i in range(nb))
        base = nb
        self.first_row: list[int] = []
        for p in prepared:
            tables.append(p.vecs)
            self.first_row.append(len(pairs))
            pairs.extend((base + q, base) for q in range(len(p.vecs)))
            base += len(p.vecs)
        self.table = np.vstack(tables)
        self.pairs = np.asarray(pairs, dtype="int64")
        self.prepared = prepared
        self.X = np.hstack([self.table[self.pairs[:, 0]], self.table[self.pairs[:, 1]]])
        self.gamma = 1.0 / (self.X.shape[1] * float(self.X.var()))  # sklearn's "scale", fixed once

    def rows_for(self, topic: str, drafts: set[int]):
        """Row ids, labels and weights for fitting `topic` on the bank plus `drafts`."""
        import numpy as np

        rows, ys, ws = [], [], []
        for i, r in enumerate(self.bank_rows):
            rows.append(i)
            ys.append(r.kind == "breach" and r.topic == topic)
            ws.append(1.0)
        for j in sorted(drafts):
            p = self.prepared[j]
            first = self.first_row[j]
            if topic in p.topics:  # which sentence carries the breach is unknown: the whole draft
                rows.append(first)
                ys.append(True)
                ws.append(1.0)
            else:  # every query is a negative; long drafts do not outweigh short ones
                n = len(p.vecs)
                rows.extend(range(first, first + n))
                ys.extend([False] * n)
                ws.extend([1 / math.sqrt(n)] * n)
        return np.asarray(rows), np.asarray(ys), np.asarray(ws)

    def fit(self, topic: str, drafts: set[int]):
        """(support row ids, dual coefficients, intercept) of the topic's SVM."""
        from sklearn.svm import SVC

        rows, y, w = self.rows_for(topic, drafts)
        clf = SVC(C=C, kernel="rbf", gamma=self.gamma, class_weight="balanced")
        clf.fit(self.X[rows], y, sample_weight=w)
        return rows[clf.support_], clf.dual_coef_[0].astype("float32"), float(clf.intercept_[0])

    def model(self, fitted: dict[str, tuple], platt: dict[str, tuple[float, float]] | None = None):
        """A KernelModel holding only the vectors its support rows use."""
        import numpy as np

        from reviewer.retrieval.classifier import KernelModel, TopicModel

        used = np.unique(np.concatenate([f[0] for f in fitted.values()]))
        row_pos = {int(r): k for k, r in enumerate(used)}
        vec_ids = np.unique(self.pairs[used].ravel())
        remap = {int(v): k for k, v in enumerate(vec_ids)}
        pairs = np.asarray([[remap[int(a)], remap[int(b)]] for a, b in self.pairs[used]], dtype="int64")
        topics = {t: TopicModel(np.asarray([row_pos[int(r)] for r in rows]), coef, b,
                                (platt or {}).get(t, (1.0, 0.0)))
                  for t, (rows, coef, b) in fitted.items()}
        return KernelModel(self.table[vec_ids], pairs, self.gamma, topics)


def classified_topics(training: _Training) -> list[str]:
    have = {r.topic for r in training.bank_rows if r.kind == "breach"}
    return [t for t in TOPICS if t not in CONTEXT_ONLY and t in have]


def decisions(model, p: Prepared) -> dict[str, float]:
    """Draft-level decision per topic (best query), MISSING where the topic cannot apply."""
    from reviewer.retrieval.topics import applicable

    per_query = model.decisions(p.vecs, p.vecs[0])
    return {t: float(per_query[t].max()) if t in per_query and applicable(t, p.ectx) else MISSING
            for t in TOPICS}


def folds(prepared: list[Prepared]) -> list[set[int]]:
    """Held-out draft indices per fold: one fold per writer's batch; K random folds when
    the data holds one batch only."""
    import numpy as np

    batches = sorted({p.batch for p in prepared})
    if len(batches) > 1:
        return [{i for i, p in enumerate(prepared) if p.batch == b} for b in batches]
    order = np.random.default_rng(SEED).permutation(len(prepared))
    return [set(f.tolist()) for f in np.array_split(order, CV_FOLDS)]


def writer_groups(prepared: list, k: int = TUNE_FOLDS) -> list[set[int]]:
    """Held-out draft indices per fine-tuning fold: the writers' batches dealt round-robin
    into k groups (batch1, batch6, ... together); K random folds for a single batch.
    `prepared`: anything with a `.batch` (Prepared or Labelled rows)."""
    import re

    batches = sorted({p.batch for p in prepared},
                     key=lambda b: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", b)])
    if len(batches) < 2:
        return folds(prepared)
    groups = [set(batches[i::k]) for i in range(min(k, len(batches)))]
    return [{i for i, p in enumerate(prepared) if p.batch in g} for g in groups]


@dataclass
class Tuned:
    """A fine-tuned encoder: the Embedder to read drafts with and the arrays to ship."""

    encoder: object
    arrays: dict
    stats: dict


def tune_encoder(ix, rows: list[Labelled], train: set[int], max_steps: int | None = None,
                 **recipe) -> Tuned:
    """Fine-tune on the bank plus rows[train]; `recipe` overrides finetune.train's
    `layers` / `epochs` (benchmarks/finetune_encoder.py compares them)."""
    from reviewer.retrieval import embedder, finetune

    labels = [t for t in TOPICS if t not in CONTEXT_ONLY]
    drafts = [(normalise(rows[i].item.text).text, set(rows[i].topics)) for i in sorted(train)]
    model, stats = finetune.train(ix.embedder.model_dir, finetune.examples(ix.rows, drafts), labels,
                                  max_steps=max_steps, **recipe)
    return Tuned(embedder.wrap(model, ix.embedder.model_dir, "tuned in calibration"),
                 finetune.delta(model, stats["layers"]), stats)


def held_out_decisions(ix, rows: list[Labelled], held: set[int], encoder=None):
    """Decisions on rows[held] of classifiers fitted (with `encoder`) on the bank and every
    other row, and the topics they classify: ({row index: decisions}, topics)."""
    prepared = prepare(ix, rows, encoder)
    training = _Training(ix, prepared, encoder)
    topics = classified_topics(training)
    train = set(range(len(rows))) - held
    model = training.model({t: training.fit(t, train) for t in topics})
    return {i: decisions(model, prepared[i]) for i in held}, topics


def tuned_out_of_fold(ix, rows: list[Labelled], max_steps: int | None = None) -> list[dict[str, float]]:
    """Out-of-fold decisions where each fold's encoder and classifiers never saw its writers."""
    everyone = set(range(len(rows)))
    out: list[dict[str, float] | None] = [None] * len(rows)
    for held in writer_groups(rows):
        tuned = tune_encoder(ix, rows, everyone - held, max_steps)
        for i, d in held_out_decisions(ix, rows, held, tuned.encoder)[0].items():
            out[i] = d
    return out


def out_of_fold(training: _Training) -> list[dict[str, float]]:
    everyone = set(range(len(training.prepared)))
    out: list[dict[str, float] | None] = [None] * len(training.prepared)
    topics = classified_topics(training)
    for held in folds(training.prepared):
        model = training.model({t: training.fit(t, everyone - held) for t in topics})
        for i in held:
            out[i] = decisions(model, training.prepared[i])
    return out


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


def platt(scores: list[float], labels: list[bool]) -> tuple[float, float]:
    """Logistic map from decision to probability, fitted on out-of-fold decisions."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    keep = [i for i, s in enumerate(scores) if s > MISSING]
    y = np.asarray([labels[i] for i in keep])
    if len(set(y.tolist())) < 2:
        return 1.0, 0.0
    x = np.asarray([[scores[i]] for i in keep])
    lr = LogisticRegression(C=1.0).fit(x, y)
    a, b = float(lr.coef_[0][0]), float(lr.intercept_[0])
    if a <= 0:  # a degenerate fit would invert the order; the threshold must stay monotone
        return 1.0, 0.0
    return round(a, 6), round(b, 6)


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
        limit, stats = choose(s, y, clean, margin_sd * sd, CLEAN_BUDGET)
        a, b = platt(s, y)
        auc = roc_auc(s, y)
        out[t] = {"threshold": round(_sigmoid(a * limit + b), 6), "decision": round(limit, 6),
                  "platt": [a, b], "auc": None if auc is None else round(auc, 3),
                  "positives": sum(y), **stats}
    return out


@dataclass
class Calibration:
    doc: dict  # what index/semantic.json holds
    kernel: object  # the KernelModel
    tuned: Tuned | None = None  # the fine-tuned encoder, when `tune` was asked

    def engine_state(self) -> dict:
        """What SemanticEngine.use() takes, to score with this calibration in memory."""
        return {"threshold": {t: v["threshold"] for t, v in self.doc["topics"].items()},
                "classifier": self.kernel, "encoder": self.tuned.encoder if self.tuned else None}


def calibrate(data: Path, model: str | None = None, rows: list[Labelled] | None = None,
              margin_sd: float = MARGIN_SD, tune: bool = False,
              tune_steps: int | None = None) -> Calibration:
    """Fit and threshold on `data` (or on `rows` taken from it, e.g. all but one batch),
    fine-tuning the encoder first with `tune` (`tune_steps` caps its steps: tests)."""
    if Path(data).name.startswith("test"):
        raise InputError("thresholds are calibrated on the dev split only, never on a test split")
    from reviewer.retrieval import bank, store

    rows = rows if rows is not None else load_labelled(Path(data))
    ix = store.load(model)
    started = time.perf_counter()
    tuned = None
    if tune:  # the folds' encoders first, then the one that ships
        oof = tuned_out_of_fold(ix, rows, tune_steps)
        tuned = tune_encoder(ix, rows, set(range(len(rows))), tune_steps)
    encoder = tuned.encoder if tuned else None
    t0 = time.perf_counter()
    prepared = prepare(ix, rows, encoder)
    seconds = time.perf_counter() - t0
    training = _Training(ix, prepared, encoder)
    if not tune:
        oof = out_of_fold(training)
    topics = thresholds(prepared, oof, margin_sd)
    everyone = set(range(len(prepared)))
    fitted = {t: training.fit(t, everyone) for t in classified_topics(training)}
    kernel = training.model(fitted, {t: tuple(v["platt"]) for t, v in topics.items() if "platt" in v})
    batches = sorted({p.batch for p in prepared})
    doc = {
        "calibrated_on": Path(data).name,
        "drafts": len(rows),
        "batches": batches,
        "model_id": ix.meta["model_id"],
        "bank_sha256": bank.load().digest,
        "scoring": "per-topic RBF-kernel SVM on (sentence, whole draft) embedding pairs (bank + dev), "
                   f"{'fine-tuned encoder, ' if tune else ''}best sentence, Platt-scaled; thresholds on "
                   f"out-of-fold decisions ({_fold_words(batches, tune)}), "
                   f"{margin_sd} sd above the highest clean draft but the top {CLEAN_BUDGET:.1%}",
        "margin_sd": margin_sd,
        "clean_budget": CLEAN_BUDGET,
        "C": C,
        "support_rows": int(len(kernel.pairs)),
        "seconds_per_draft": round(seconds / max(1, len(rows)), 4),
        "calibrated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "topics": topics,
    }
    if tuned is not None:
        from reviewer.retrieval import finetune

        doc["tuning"] = {"layers": finetune.TRAIN_LAYERS, "epochs": finetune.EPOCHS,
                         "folds": _fold_words(batches, tune), "final": tuned.stats,
                         "seconds": round(time.perf_counter() - started, 1)}
    return Calibration(doc, kernel, tuned)


def _fold_words(batches: list[str], tune: bool) -> str:
    if len(batches) < 2:
        return f"{CV_FOLDS}-fold"
    if tune:
        return f"{min(TUNE_FOLDS, len(batches))} groups of writers, each left out of tuning and fitting"
    return "leave one batch out"


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
