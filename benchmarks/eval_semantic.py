"""The semantic engine on a labelled split: per-topic ROC AUC of its topic scores, and
per-engine topic P/R/F1 for rules, semantic and their union (with the clean-draft
false-flag rate), against rules alone.

    python benchmarks/eval_semantic.py [--data tests/data/dev.jsonl] [--out FILE]

Thresholds come from index/semantic.json (calibrated on dev). Running this on
tests/data/test.jsonl is for the final report only: nothing is tuned from it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from reviewer.engines import create
from reviewer.evaluate import evaluate, load_labelled
from reviewer.retrieval.calibrate import roc_auc, topic_scores
from reviewer.review import review
from reviewer.schema import TOPICS


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HERE.parent / "tests" / "data" / "dev.jsonl")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    out_file = args.out or HERE / "out" / f"semantic_{args.data.stem}.json"

    rows = load_labelled(args.data)
    engine = create("semantic")
    engine.load()
    if engine.status != "ok":
        raise SystemExit(engine.status)
    t0 = time.perf_counter()
    scored = topic_scores(engine, rows)
    auc = {}
    for t in TOPICS:
        y = [t in r.topics for r in rows]
        a = roc_auc([d[t] for d in scored], y)
        if a is not None:
            auc[t] = round(a, 3)
    others = [v for t, v in auc.items() if t != "confidentiality"]
    rules_only = evaluate(rows, lambda item: review(item.text, item.context()), engines=("rules",))
    both = evaluate(rows, lambda item: review(item.text, item.context(), engines=[engine]),
                    engines=("rules", "semantic"))
    report = {
        "data": args.data.name, "drafts": len(rows),
        "auc": auc, "mean_auc_without_confidentiality": round(sum(others) / len(others), 3),
        "macro_f1": {"rules only": rules_only["engines"]["rules"]["macro_f1"],
                     "semantic only": both["engines"]["semantic"]["macro_f1"],
                     "rules ∪ semantic": both["union"]["macro_f1"]},
        "clean_false_flag_rate": {"rules only": rules_only["clean"]["false_flag_rate"],
                                  "rules ∪ semantic": both["clean"]["false_flag_rate"]},
        "semantic_topics": {t: v for t, v in both["engines"]["semantic"]["topics"].items()},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"{report['data']}: semantic AUC per topic: {auc}")
    print(f"mean AUC over the topics other than confidentiality: {report['mean_auc_without_confidentiality']}")
    print(f"macro-F1: {report['macro_f1']}; clean false-flag rate: {report['clean_false_flag_rate']}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
