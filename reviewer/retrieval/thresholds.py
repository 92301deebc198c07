"""The semantic engine's calibration, kept as data in index/: semantic.json (per-topic
thresholds, calibrated on the dev split only, with the embedding model and bank they
belong to), semantic_model.npz (the classifiers) and, when the calibration fine-tuned the
encoder, semantic_encoder.npz (its tuned layers); both checked against the sha256 that
semantic.json records."""

from __future__ import annotations

import json
from pathlib import Path

from reviewer import paths
from reviewer.errors import DataError, EngineUnavailable


def thresholds_path() -> Path:
    return paths.index_dir() / "semantic.json"


def model_path(path: Path | None = None) -> Path:
    path = path or thresholds_path()
    return path.with_name(path.stem + "_model.npz")


def encoder_path(path: Path | None = None) -> Path:
    path = path or thresholds_path()
    return path.with_name(path.stem + "_encoder.npz")


def load(model_id: str | None = None, path: Path | None = None, with_model: bool = True,
         embedder: str | None = None) -> dict:
    """The calibration document plus `threshold` ({topic: probability}) and, with
    `with_model`, `classifier` (the KernelModel) and `encoder` (the Embedder the classifier
    reads: the fine-tuned one when the calibration made one, else None for the index's own).
    `model_id` is the base embedder's id (the index's); `embedder` its directory option."""
    from reviewer.retrieval import classifier

    path = path or thresholds_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        topics = {t: float(v["threshold"]) for t, v in data["topics"].items()}
        digest = data["model_sha256"]
    except FileNotFoundError:
        raise EngineUnavailable("semantic thresholds not calibrated (reviewer index calibrate)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"semantic thresholds file is corrupt: {path} ({exc.__class__.__name__})") from None
    if model_id is not None and data.get("model_id") != model_id:
        raise EngineUnavailable(
            f"semantic thresholds were calibrated for {data.get('model_id')}, not {model_id} "
            "(reviewer index calibrate)")
    data["threshold"] = topics
    if with_model:
        data["classifier"] = classifier.load(model_path(path), digest)
        data["encoder"] = None
        tuned = data.get("tuning")
        if tuned:
            from reviewer.retrieval import embedder as emb

            data["encoder"] = emb.load_tuned(embedder, encoder_path(path), tuned["sha256"])
    return data


def save(doc: dict, kernel, path: Path | None = None, tuned: dict | None = None) -> Path:
    """Write the classifiers (and the tuned encoder layers, `tuned` = their arrays), then the
    thresholds naming their digests. A calibration without tuning removes a stale encoder file."""
    from reviewer.retrieval import finetune

    path = path or thresholds_path()
    doc = {**doc, "model_file": model_path(path).name, "model_sha256": kernel.save(model_path(path))}
    if tuned is not None:
        doc["tuning"] = {**doc.get("tuning", {}), "file": encoder_path(path).name,
                         "sha256": finetune.save(tuned, encoder_path(path), doc["model_id"])}
    else:
        doc.pop("tuning", None)
        encoder_path(path).unlink(missing_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return path
