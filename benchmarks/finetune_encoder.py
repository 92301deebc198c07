"""Experiment: does fine-tuning MiniLM on the dev writers help the semantic engine on
writers it has not seen? (Issue #10's open gap: rules ∪ semantic +0.025 on test, +0.05 asked.)

    python benchmarks/finetune_encoder.py --hold-out batch5,batch10,batch15,batch20 \
        [--epochs 2] [--train-layers all|N] [--frozen] [--out benchmarks/out/finetune.json]

For one set of held-out writers: fine-tune all-MiniLM-L6-v2 on the example bank plus the
dev drafts of every other writer (the shipped recipe of reviewer/retrieval/finetune.py,
with the trained layers and epochs as options), then fit the
shipped per-topic SVMs (reviewer/retrieval/calibrate.py) on the same writers with that
encoder and score the held-out writers. `--frozen` scores the shipped encoder the same
way first, for comparison. Per topic: ROC AUC, `rec0` (share of breaches above every
held-out clean draft: recall at zero clean false flags, an oracle threshold, the same
strictness for both encoders), `fp_other` (breach drafts of other topics above it), `new`
(those breaches the rules miss). Nothing is written but the report: the tuned model stays
in memory. Draft text never leaves the process.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from reviewer.evaluate import Labelled, load_labelled
from reviewer.retrieval import calibrate, store
from reviewer.review import review


def score_held_out(rows: list[Labelled], held: set[str], encoder=None) -> dict:
    ix = store.load()
    test = [i for i, r in enumerate(rows) if r.batch in held]
    by_row, topics = calibrate.held_out_decisions(ix, rows, set(test), encoder)
    decisions = [by_row[i] for i in test]
    gold = [set(rows[i].topics) for i in test]
    rules = [{f.topic for f in review(rows[i].item.text, rows[i].item.context()).findings} for i in test]
    per_topic = {}
    for t in topics:
        s, y = [d[t] for d in decisions], [t in g for g in gold]
        if not any(y):
            continue
        top_clean = max((v for v, g in zip(s, gold) if not g), default=-1e9)
        hit = [v > top_clean for v in s]
        per_topic[t] = {
            "auc": round(calibrate.roc_auc(s, y), 3),
            "rec0": round(sum(h and p for h, p in zip(hit, y)) / sum(y), 3),
            "fp_other": sum(h and not p and bool(g) for h, p, g in zip(hit, y, gold)),
            "new": sum(h and p and t not in r for h, p, r in zip(hit, y, rules)),
            "rules_missed": sum(p and t not in r for p, r in zip(y, rules)),
            "positives": sum(y),
        }
    judged = [t for t in per_topic if t != "confidentiality"]
    return {"encoder": encoder.model_id if encoder else ix.meta["model_id"], "held_out_drafts": len(test),
            "mean_auc_ex_confidentiality": round(sum(per_topic[t]["auc"] for t in judged) / len(judged), 3),
            "mean_rec0_ex_confidentiality": round(sum(per_topic[t]["rec0"] for t in judged) / len(judged), 3),
            "new": sum(v["new"] for v in per_topic.values()),
            "rules_missed": sum(v["rules_missed"] for v in per_topic.values()),
            "topics": per_topic}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HERE.parent / "tests" / "data" / "dev.jsonl")
    ap.add_argument("--hold-out", required=True, help="comma-separated batches to hold out")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--train-layers", default="all", help="'all' or the number of top layers to train")
    ap.add_argument("--frozen", action="store_true", help="also score the shipped (frozen) encoder")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "finetune.json")
    args = ap.parse_args(argv)
    if Path(args.data).name.startswith("test"):
        ap.error("fine-tuning uses the dev split only")
    held = set(args.hold_out.split(","))
    rows = load_labelled(args.data)
    report = {"hold_out": sorted(held), "data": args.data.name}
    if args.frozen:
        report["frozen"] = score_held_out(rows, held)
        print("frozen", json.dumps({k: v for k, v in report["frozen"].items() if k != "topics"}), flush=True)
    ix = store.load()
    train = {i for i, r in enumerate(rows) if r.batch not in held}
    layers = 6 if args.train_layers == "all" else int(args.train_layers)
    tuned = calibrate.tune_encoder(ix, rows, train, layers=layers, epochs=args.epochs)
    report["training"] = tuned.stats
    report["finetuned"] = score_held_out(rows, held, tuned.encoder)
    print("finetuned", json.dumps({k: v for k, v in report["finetuned"].items() if k != "topics"}), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
