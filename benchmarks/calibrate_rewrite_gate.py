"""Calibrate the rewrite meaning gate (prompts/gates.toml [meaning] min_similarity) on the
dev split only.

A rewrite should stay about as close to the deterministic redaction as the draft itself
is (positives: similarity of each dev draft whose identifiers were replaced to its own
redaction), and must not
be an unrelated post (negatives: its redaction against other dev drafts). The threshold
printed is the 5th percentile of the positives, and the script reports how many
negatives would still pass at that value.

    python benchmarks/calibrate_rewrite_gate.py [--data tests/data/dev.jsonl]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from reviewer.evaluate import load_labelled
from reviewer.retrieval import embedder
from reviewer.review import review


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=HERE.parent / "tests" / "data" / "dev.jsonl")
    args = ap.parse_args(argv)
    if args.data.stem != "dev":
        ap.error("calibrate on the dev split only")
    import numpy as np

    pairs = []
    for row in load_labelled(args.data):
        result = review(row.item.text, row.item.context())
        if result.redacted != row.item.text:  # identifiers were replaced: a rewrite is needed
            pairs.append((row.item.text, result.redacted))
    emb = embedder.load()
    drafts = emb.encode([d for d, _ in pairs])
    redacted = emb.encode([r for _, r in pairs])
    sims = redacted @ drafts.T
    pos = np.diag(sims)
    neg = sims[~np.eye(len(pairs), dtype=bool)]
    threshold = float(np.percentile(pos, 5))
    report = {
        "pairs": len(pairs), "embedder": emb.model_id,
        "positives": {"min": round(float(pos.min()), 3), "p5": round(threshold, 3),
                      "median": round(float(np.median(pos)), 3)},
        "negatives": {"median": round(float(np.median(neg)), 3), "p95": round(float(np.percentile(neg, 95)), 3),
                      "max": round(float(neg.max()), 3)},
        "threshold": round(threshold, 2),
        "negatives_passing": round(float((neg >= round(threshold, 2)).mean()), 4),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
