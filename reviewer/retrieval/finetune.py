"""Fine-tune the top layers of the embedding model for the semantic engine (dev split only).

Why: the frozen all-MiniLM-L6-v2 places a draft by what it is about (a ward, a drug, a
colleague), while the engine needs where it stands against the guidance. Trained on the
example bank plus the dev drafts of sixteen writers and scored on the other four (two
disjoint sets of four, benchmarks/finetune_encoder.py), the tuned encoder raised the
engine's mean per-topic AUC from 0.961 to 0.970 and the breaches it catches above every
held-out clean draft from 51% to 61% (batches 5/10/15/20).

Only the top TRAIN_LAYERS transformer layers learn, through a linear multi-label head
(binary cross-entropy, one output per classified topic) that is thrown away afterwards:
the shipped delta (index/semantic_encoder.npz, float16, ~7 MB) is those layers' weights,
applied over the bundled model at load time (reviewer/retrieval/embedder.py). Draft text
lives only in memory while training; nothing of it is written but the weights.
"""

from __future__ import annotations

import hashlib
import io
import random
import time
from dataclasses import dataclass
from pathlib import Path

from reviewer.errors import DataError, EngineUnavailable, InputError

FORMAT = 1
TRAIN_LAYERS = 2  # top 2 of 6: 3.5 M of 22.7 M parameters; all six scored 0.978 AUC but ship 45 MB
EPOCHS = 2
BATCH, LR_ENCODER, LR_HEAD, SCALE, MAX_TOKENS = 16, 3e-5, 1e-2, 10.0, 128
SEED = 0


@dataclass
class Example:
    text: str
    topics: frozenset[str]


def examples(bank_rows, drafts) -> list[Example]:
    """Bank phrasings (a breach carries its topic, a near-miss none), each training draft
    whole with its labelled topics, and half the sentences of each clean draft as
    negatives (so a clean sentence out of context is also taught as clean).
    `drafts`: (normalised text, topics) pairs."""
    from reviewer.retrieval.search import query_spans

    rng = random.Random(SEED)
    out = [Example(r.text, frozenset([r.topic] if r.kind == "breach" else []))
           for r in bank_rows if r.kind in ("breach", "near_miss")]
    for text, topics in drafts:
        out.append(Example(text, frozenset(topics)))
        if not topics:
            parts = query_spans(text)[1:]
            rng.shuffle(parts)
            out.extend(Example(text[a:b], frozenset()) for a, b in parts[: (len(parts) + 1) // 2])
    return out


def _trained_names(bert, layers: int) -> list[str]:
    blocks = getattr(getattr(bert, "encoder", None), "layer", None)
    if blocks is None:  # the recipe names BERT's layers; other encoders: --no-tune
        raise InputError("this embedding model is not BERT-style; calibrate it with --no-tune")
    first = len(blocks) - layers
    return [n for n, _ in bert.named_parameters()
            if n.startswith("encoder.layer.") and int(n.split(".")[2]) >= first]


def train(base_dir: Path, data: list[Example], labels: list[str], *, layers: int = TRAIN_LAYERS,
          epochs: int = EPOCHS, max_steps: int | None = None):
    """A SentenceTransformer loaded from `base_dir` with its top `layers` fine-tuned on
    `data`, plus training statistics. `max_steps` stops early (tests)."""
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    model = SentenceTransformer(str(base_dir), device="cpu", local_files_only=True)
    model.max_seq_length = MAX_TOKENS
    bert = model[0].auto_model
    names = set(_trained_names(bert, layers))
    for name, p in bert.named_parameters():
        p.requires_grad = name in names
    dim_of = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    head = torch.nn.Linear(dim_of(), len(labels))
    index = {t: i for i, t in enumerate(labels)}
    y_all = np.zeros((len(data), len(labels)), dtype="float32")
    for i, ex in enumerate(data):
        for t in ex.topics:
            if t in index:
                y_all[i, index[t]] = 1.0
    pos = y_all.sum(0)
    # sqrt of the class ratio: rare topics count more, without drowning the clean examples
    pos_weight = torch.tensor(np.sqrt((len(data) - pos) / np.maximum(pos, 1)), dtype=torch.float32)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    trainable = [p for p in bert.parameters() if p.requires_grad]
    opt = torch.optim.AdamW([{"params": trainable, "lr": LR_ENCODER},
                             {"params": head.parameters(), "lr": LR_HEAD}], weight_decay=0.01)
    preprocess = getattr(model, "preprocess", None) or model.tokenize
    model.train()
    started, losses, steps = time.perf_counter(), [], 0
    for _ in range(epochs):
        order = list(range(len(data)))
        rng.shuffle(order)
        total = n = 0
        for k in range(0, len(order), BATCH):
            batch = order[k:k + BATCH]
            emb = model(preprocess([data[i].text for i in batch]))["sentence_embedding"]
            logits = head(torch.nn.functional.normalize(emb, dim=-1) * SCALE)
            loss = loss_fn(logits, torch.from_numpy(y_all[batch]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, n, steps = total + loss.item(), n + 1, steps + 1
            if max_steps is not None and steps >= max_steps:
                break
        losses.append(round(total / max(n, 1), 4))
        if max_steps is not None and steps >= max_steps:
            break
    model.eval()
    stats = {"examples": len(data), "epochs": epochs, "steps": steps, "layers": layers,
             "trained_parameters": sum(p.numel() for p in trainable), "loss_per_epoch": losses,
             "seconds": round(time.perf_counter() - started, 1)}
    return model, stats


def delta(model, layers: int = TRAIN_LAYERS) -> dict[str, object]:
    """The fine-tuned weights (float16 numpy arrays) by parameter name."""
    bert = model[0].auto_model
    params = dict(bert.named_parameters())
    return {n: params[n].detach().cpu().numpy().astype("float16") for n in _trained_names(bert, layers)}


def save(arrays: dict[str, object], path: Path, base_model_id: str) -> str:
    """Write the delta (.npz, no pickles) naming the base model it applies to; returns its sha256."""
    import numpy as np

    buf = io.BytesIO()
    np.savez_compressed(buf, format=np.array(FORMAT), base=np.array(base_model_id),
                        names=np.array(sorted(arrays)), **{f"w{i}": arrays[n] for i, n in enumerate(sorted(arrays))})
    data = buf.getvalue()
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def read(path: Path, sha256: str, base_model_id: str) -> dict[str, object]:
    """The delta's arrays by parameter name, after checking its digest and base model."""
    import numpy as np

    from reviewer.retrieval.artifacts import read_verified

    data = read_verified(path, sha256, "semantic encoder")
    try:
        z = np.load(io.BytesIO(data), allow_pickle=False)
        if int(z["format"]) != FORMAT:
            raise ValueError("format")
        base = str(z["base"])
        arrays = {str(n): z[f"w{i}"] for i, n in enumerate(z["names"])}
    except Exception as exc:  # noqa: BLE001 - any malformed file is one clear message
        raise DataError(f"semantic encoder is corrupt: {path} ({exc.__class__.__name__})") from None
    if base != base_model_id:
        raise EngineUnavailable(f"semantic encoder was tuned from {base}, not {base_model_id} "
                                "(reviewer index calibrate)")
    return arrays


def apply(model, arrays: dict[str, object]) -> None:
    """Overwrite the model's parameters with the delta's (shapes must match)."""
    import torch

    params = dict(model[0].auto_model.named_parameters())
    with torch.no_grad():
        for name, value in arrays.items():
            if name not in params or tuple(params[name].shape) != tuple(value.shape):
                raise DataError(f"semantic encoder does not fit the embedding model (parameter {name})")
            params[name].copy_(torch.from_numpy(value.astype("float32")))
