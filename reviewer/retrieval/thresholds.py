"""The semantic engine's calibration, kept as data in index/: semantic.json (per-topic
thresholds, calibrated on the dev split only, with the embedding model and bank they
belong to) and semantic_model.npz (the classifiers, checked against the sha256 that
semantic.json records)."""

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


def load(model_id: str | None = None, path: Path | None = None, with_model: bool = True) -> dict:
    """The calibration document plus `threshold` ({topic: probability}) and, with
    `with_model`, `classifier` (the KernelModel)."""
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
    return data


def save(doc: dict, kernel, path: Path | None = None) -> Path:
    """Write the classifiers, then the thresholds naming their digest."""
    path = path or thresholds_path()
    doc = {**doc, "model_file": model_path(path).name, "model_sha256": kernel.save(model_path(path))}
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return path
