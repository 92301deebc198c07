"""The semantic engine on a labelled split: per-topic ROC AUC of its topic scores, and
per-engine topic P/R/F1 for rules, semantic and their union (with the clean-draft
false-flag rate), against rules alone in the same run.

    python benchmarks/eval_semantic.py [--data tests/data/dev.jsonl] [--hold-out batch7 ...] [--out FILE]

Without --hold-out the engine uses index/semantic.json (calibrated on all of dev, so dev
figures are in-sample). With --hold-out BATCH (repeatable) each named writer's batch is
held out in turn: the engine is calibrated in memory on the other batches and scored on
that one, and the scores of all held-out batches are pooled: an estimate on drafts of a
writer that neither the classifiers nor the thresholds saw (the rules may have been tuned
on them: see tests/data/README.md). Running this on tests/data/test.jsonl is for the
final report only: nothing is tuned from it.
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
    ap.add_argument("--hold-out", action="append", default=[], metavar="BATCH",
                    help="hold this writer's batch out: calibrate on the others, score it (repeatable)")
    ap.add_argument("--margin-sd", type=float, default=None, help="threshold margin (default: calibrate.MARGIN_SD)")
    ap.add_argument("--tune", action="store_true", help="with --hold-out: fine-tune the encoder too (slow)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    suffix = ("_holdout_" + "_".join(args.hold_out)) if args.hold_out else ""
    out_file = args.out or HERE / "out" / f"semantic_{args.data.stem}{suffix}.json"

    rows = load_labelled(args.data)
    if args.hold_out:
        missing = set(args.hold_out) - {r.batch for r in rows}
        if missing:
            raise SystemExit(f"no drafts of {sorted(missing)} in {args.data}")
        from reviewer.retrieval import calibrate, store

        margin = calibrate.MARGIN_SD if args.margin_sd is None else args.margin_sd
        t0 = time.perf_counter()
        scored_rows, scored, results = [], [], []
        for batch in args.hold_out:
            engine = create("semantic")
            cal = calibrate.calibrate(args.data, rows=[r for r in rows if r.batch != batch],
                                      margin_sd=margin, tune=args.tune)
            engine.use(store.load(), cal.engine_state())
            held = [r for r in rows if r.batch == batch]
            scored_rows += held
            scored += topic_scores(engine, held)
            results += [review(r.item.text, r.item.context(), engines=[engine]) for r in held]
        calibration = (f"leave one batch out ({', '.join(args.hold_out)}; margin {margin} sd; "
                       f"{time.perf_counter() - t0:.0f} s)")
        rows = scored_rows
        by_id = dict(zip((str(r.item.id) for r in rows), results))
        both = evaluate(rows, lambda item: by_id[str(item.id)], engines=("rules", "semantic"))
        score_seconds = float("nan")
    else:
        engine = create("semantic")
        engine.load()
        if engine.status != "ok":
            raise SystemExit(engine.status)
        calibration = "index/semantic.json"
        t0 = time.perf_counter()
        scored = topic_scores(engine, rows)
        score_seconds = time.perf_counter() - t0
        both = evaluate(rows, lambda item: review(item.text, item.context(), engines=[engine]),
                        engines=("rules", "semantic"))
    auc = {}
    for t in TOPICS:
        y = [t in r.topics for r in rows]
        a = roc_auc([d[t] for d in scored], y)
        if a is not None:
            auc[t] = round(a, 3)
    others = [v for t, v in auc.items() if t != "confidentiality"]
    rules_only = evaluate(rows, lambda item: review(item.text, item.context()), engines=("rules",))
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
        "semantic_seconds_per_draft": None if score_seconds != score_seconds
        else round(score_seconds / max(1, len(rows)), 3),
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
