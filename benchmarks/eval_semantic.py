"""The semantic engine on a labelled split: per-topic ROC AUC of its topic scores, and
per-engine topic P/R/F1 for rules, semantic and their union (with the clean-draft
false-flag rate), against rules alone in the same run.

    python benchmarks/eval_semantic.py [--data tests/data/dev.jsonl] [--before dev-354] [--out FILE]

Without --before the engine uses index/semantic.json (calibrated on all of dev, so dev
figures are in-sample). With --before ID it is calibrated in memory on the drafts listed
before ID and scored only on ID and later: a held-out estimate on dev drafts that
neither the classifier nor the thresholds saw. Running this on tests/data/test.jsonl is
for the final report only: nothing is tuned from it.
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
    ap.add_argument("--before", default=None, help="calibrate on the drafts before this id, score the rest")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    suffix = f"_from_{args.before}" if args.before else ""
    out_file = args.out or HERE / "out" / f"semantic_{args.data.stem}{suffix}.json"

    rows = load_labelled(args.data)
    engine = create("semantic")
    calibration = "index/semantic.json"
    if args.before:
        from reviewer.retrieval import calibrate, store

        ids = [str(r.item.id) for r in rows]
        if args.before not in ids:
            raise SystemExit(f"{args.before} is not in {args.data}")
        cut = ids.index(args.before)
        t0 = time.perf_counter()
        cal = calibrate.calibrate(args.data, rows=rows[:cut])
        cal["threshold"] = {t: v["threshold"] for t, v in cal["topics"].items()}
        engine.use(store.load(), cal)
        calibration = f"in memory on {cut} drafts before {args.before} ({time.perf_counter() - t0:.0f} s)"
        rows = rows[cut:]
    else:
        engine.load()
        if engine.status != "ok":
            raise SystemExit(engine.status)
    t0 = time.perf_counter()
    scored = topic_scores(engine, rows)
    score_seconds = time.perf_counter() - t0
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
        "data": args.data.name, "drafts": len(rows), "calibration": calibration,
        "auc": auc, "mean_auc_without_confidentiality": round(sum(others) / len(others), 3),
        "macro_f1": {"rules only": rules_only["engines"]["rules"]["macro_f1"],
                     "semantic only": both["engines"]["semantic"]["macro_f1"],
                     "rules ∪ semantic": both["union"]["macro_f1"]},
        "clean_false_flag_rate": {"rules only": rules_only["clean"]["false_flag_rate"],
                                  "rules ∪ semantic": both["clean"]["false_flag_rate"]},
        "clean_drafts": both["clean"]["drafts"],
        "semantic_topics": {t: v for t, v in both["engines"]["semantic"]["topics"].items()},
        "semantic_seconds_per_draft": round(score_seconds / max(1, len(rows)), 3),
    }
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"{report['data']} ({report['drafts']} drafts; calibration: {calibration})")
    print(f"semantic AUC per topic: {auc}")
    print(f"mean AUC over the topics other than confidentiality: {report['mean_auc_without_confidentiality']}")
    print(f"macro-F1: {report['macro_f1']}; clean false-flag rate: {report['clean_false_flag_rate']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
