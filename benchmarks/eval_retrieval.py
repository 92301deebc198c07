"""Recall@k of guidance retrieval on the labelled dev split.

For every labelled topic of a draft, a hit at k means some paragraph of that topic is
among the k retrieved ones (the topic → paragraph map is the corpus's; "location" is
sm-8c). Compared: embeddings alone (plain paragraph text, enriched text, paragraph +
bank phrasings, hybrid), the same ∪ the paragraphs cited by rule findings, a BM25
baseline (rank-bm25) on plain and enriched text, and the rule citations alone.

    python benchmarks/eval_retrieval.py [--data tests/data/dev.jsonl] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from reviewer import guidance
from reviewer.engines import rules as rules_engine
from reviewer.evaluate import load_labelled
from reviewer.normalise import normalise
from reviewer.patterns import compile_pattern
from reviewer.retrieval import bank, documents, store
from reviewer.retrieval.search import BENEFITS, paragraph_scores, query_spans

KS = (3, 5)
MODES = ("plain", "enriched", "examples", "hybrid")
_TOKEN = compile_pattern(r"[a-z0-9']+")


def tokens(text: str) -> list[str]:
    return [m.group(0) for m in _TOKEN.finditer(text.lower())]


def recall(rankings, gold_rows, cited=None, k=3) -> tuple[float, dict]:
    """Share of (draft, labelled topic) pairs whose topic has a paragraph in the top k
    (∪ the draft's cited paragraphs when `cited` is given); also per topic."""
    topic_of = guidance.load().topic_of
    hits, per = 0, defaultdict(lambda: [0, 0])
    total = 0
    for i, gold in enumerate(gold_rows):
        got = set(rankings[i][:k]) if rankings is not None else set()
        if cited is not None:
            got |= cited[i]
        got_topics = {topic_of(p) for p in got}
        for t in gold:
            total += 1
            per[t][1] += 1
            if t in got_topics:
                hits += 1
                per[t][0] += 1
    return hits / max(1, total), {t: round(a / b, 3) for t, (a, b) in sorted(per.items())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HERE.parent / "tests" / "data" / "dev.jsonl")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "retrieval_eval.json")
    args = ap.parse_args(argv)
    from rank_bm25 import BM25Okapi

    rows = [r for r in load_labelled(args.data) if r.topics]
    gold = [r.topics for r in rows]
    ix = store.load()
    corpus = guidance.load()
    ids = [p.id for p in corpus.paragraphs if p.id != BENEFITS]

    cited = []
    emb_rank = {m: [] for m in MODES}
    t0 = time.perf_counter()
    for r in rows:
        view = normalise(r.item.text)
        cited.append({f.paragraph for f in rules_engine.run(view, r.item.context())})
        spans = query_spans(view.text)
        sims = ix.scores(ix.embedder.encode([view.text[a:b] for a, b in spans]))
        for m in MODES:
            sc = paragraph_scores(ix, sims, m)
            emb_rank[m].append(sorted(ids, key=lambda p: -sc.get(p, -1.0)))
    seconds = time.perf_counter() - t0

    b = bank.load()
    texts = {"plain": [corpus.get(p).text for p in ids],
             "enriched": [documents.enriched_text(corpus.get(p), b.entry(p)) for p in ids]}
    bm25_rank = {}
    for name, docs in texts.items():
        bm = BM25Okapi([tokens(d) for d in docs])
        bm25_rank[name] = []
        for r in rows:
            sc = bm.get_scores(tokens(normalise(r.item.text).text))
            bm25_rank[name].append([ids[i] for i in sorted(range(len(ids)), key=lambda i: -sc[i])])

    report = {"data": args.data.name, "pairs": sum(len(g) for g in gold), "drafts": len(rows),
              "mean_cited_paragraphs": round(sum(len(c) for c in cited) / len(cited), 2),
              "embedding_seconds_per_draft": round(seconds / len(rows), 4), "recall": {}, "per_topic": {}}
    systems = {f"embeddings-{m}": emb_rank[m] for m in MODES}
    systems.update({f"bm25-{n}": bm25_rank[n] for n in bm25_rank})
    for name, ranking in systems.items():
        for merged in (False, True):
            label = name + (" ∪ rules" if merged else "")
            for k in KS:
                value, per = recall(ranking, gold, cited if merged else None, k)
                report["recall"].setdefault(label, {})[f"@{k}"] = round(value, 3)
                if k == 3:
                    report["per_topic"][label] = per
    value, per = recall(None, gold, cited)
    report["recall"]["rules citations alone"] = {"@any": round(value, 3)}
    report["per_topic"]["rules citations alone"] = per

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"recall of labelled topics' paragraphs on {report['data']} "
          f"({report['pairs']} topic labels in {report['drafts']} drafts; "
          f"rules cite {report['mean_cited_paragraphs']} paragraphs per draft on average)")
    print(f"{'system':34} {'@3':>6} {'@5':>6}")
    for label, v in report["recall"].items():
        print(f"{label:34} " + " ".join(f"{x:6.3f}" for x in v.values()))
    print(json.dumps(report["recall"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
