"""Experiment: does fine-tuning MiniLM on the dev writers help the semantic engine on
writers it has not seen? (Issue #10's open gap: rules ∪ semantic +0.025 on test, +0.05 asked.)

    python benchmarks/finetune_encoder.py --hold-out batch5,batch10,batch15,batch20 \
        [--epochs 2] [--train-layers all|N] [--frozen] [--out benchmarks/out/finetune.json]

For one set of held-out writers: fine-tune all-MiniLM-L6-v2 on the example bank plus the
dev drafts of every other writer (multi-hot topic labels through a linear head, binary
cross-entropy; half the sentences of clean drafts added as negatives), then fit the
shipped per-topic SVMs (reviewer/retrieval/calibrate.py) on the same writers with that
encoder and score the held-out writers. `--frozen` scores the shipped encoder the same
way first, for comparison. Per topic: ROC AUC, `rec0` (share of breaches above every
held-out clean draft: recall at zero clean false flags, an oracle threshold, the same
strictness for both encoders), `fp_other` (breach drafts of other topics above it), `new`
(those breaches the rules miss). Nothing here ships: the fine-tuned model is written to a
temporary directory and deleted. Draft text never leaves the process.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from reviewer.evaluate import Labelled, load_labelled
from reviewer.normalise import normalise
from reviewer.retrieval import calibrate, documents, embedder, store
from reviewer.retrieval.search import query_spans
from reviewer.review import review
from reviewer.schema import TOPICS

LABELS = [t for t in TOPICS if t not in calibrate.CONTEXT_ONLY]
BATCH, LR_ENCODER, LR_HEAD, SCALE, MAX_TOKENS = 16, 3e-5, 1e-2, 10.0, 128


def training_examples(rows: list[Labelled], held: set[str]) -> list[tuple[str, list[float]]]:
    """Bank phrasings (a breach carries its topic, a near-miss none), then each training
    draft whole, then half the sentences of each clean draft as negatives."""
    rng = random.Random(calibrate.SEED)
    index = {t: i for i, t in enumerate(LABELS)}

    def hot(topics) -> list[float]:
        y = [0.0] * len(LABELS)
        for t in topics:
            if t in index:
                y[index[t]] = 1.0
        return y

    out = [(r.text, hot([r.topic] if r.kind == "breach" else []))
           for r in documents.rows() if r.kind in ("breach", "near_miss")]
    for row in rows:
        if row.batch in held:
            continue
        text = normalise(row.item.text).text
        out.append((text, hot(row.topics)))
        if not row.topics:
            parts = query_spans(text)[1:]
            rng.shuffle(parts)
            out.extend((text[a:b], hot([])) for a, b in parts[: (len(parts) + 1) // 2])
    return out


def finetune(examples, epochs: int, train_layers: str, out_dir: Path) -> dict:
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(calibrate.SEED)
    rng = random.Random(calibrate.SEED)
    model = SentenceTransformer(str(embedder.default_model_dir()), device="cpu", local_files_only=True)
    model.max_seq_length = MAX_TOKENS
    if train_layers != "all":  # only the top N transformer layers learn (a small delta to ship)
        bert = model[0].auto_model
        keep = len(bert.encoder.layer) - int(train_layers)
        for name, p in bert.named_parameters():
            p.requires_grad = name.startswith("encoder.layer.") and int(name.split(".")[2]) >= keep
    head = torch.nn.Linear(model.get_embedding_dimension(), len(LABELS))
    y = np.asarray([e[1] for e in examples], dtype="float32")
    pos = y.sum(0)
    pos_weight = torch.tensor(np.sqrt((len(y) - pos) / np.maximum(pos, 1)), dtype=torch.float32)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW([{"params": trainable, "lr": LR_ENCODER},
                             {"params": head.parameters(), "lr": LR_HEAD}], weight_decay=0.01)
    model.train()
    started, losses = time.perf_counter(), []
    for _ in range(epochs):
        order = list(range(len(examples)))
        rng.shuffle(order)
        total = steps = 0
        for k in range(0, len(order), BATCH):
            batch = [examples[i] for i in order[k:k + BATCH]]
            emb = model(model.preprocess([b[0] for b in batch]))["sentence_embedding"]
            logits = head(torch.nn.functional.normalize(emb, dim=-1) * SCALE)
            loss = loss_fn(logits, torch.tensor([b[1] for b in batch]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, steps = total + loss.item(), steps + 1
        losses.append(round(total / steps, 4))
    model.eval()
    model.save(str(out_dir))
    return {"examples": len(examples), "epochs": epochs, "train_layers": train_layers,
            "trainable_params": sum(p.numel() for p in trainable), "loss_per_epoch": losses,
            "seconds": round(time.perf_counter() - started, 1)}


def score_held_out(rows: list[Labelled], held: set[str], model_dir: str | None) -> dict:
    ix = store.load(model_dir)
    prepared = calibrate.prepare(ix, rows)
    training = calibrate._Training(ix, prepared)
    train = {i for i, p in enumerate(prepared) if p.batch not in held}
    test = [i for i, p in enumerate(prepared) if p.batch in held]
    topics = calibrate.classified_topics(training)
    kernel = training.model({t: training.fit(t, train) for t in topics})
    decisions = [calibrate.decisions(kernel, prepared[i]) for i in test]
    gold = [prepared[i].topics for i in test]
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
    return {"model_id": ix.meta["model_id"], "held_out_drafts": len(test),
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
        report["frozen"] = score_held_out(rows, held, None)
        print("frozen", json.dumps({k: v for k, v in report["frozen"].items() if k != "topics"}), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        report["training"] = finetune(training_examples(rows, held), args.epochs, args.train_layers, Path(tmp))
        report["finetuned"] = score_held_out(rows, held, tmp)
    print("finetuned", json.dumps({k: v for k, v in report["finetuned"].items() if k != "topics"}), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
