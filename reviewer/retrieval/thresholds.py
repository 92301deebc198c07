"""Per-topic thresholds of the semantic engine, calibrated on the dev split only and
kept as data in index/semantic.json with the model and bank they were calibrated for."""

from __future__ import annotations

import json
from pathlib import Path

from reviewer import paths
from reviewer.errors import DataError, EngineUnavailable


def thresholds_path() -> Path:
    return paths.index_dir() / "semantic.json"


def load(model_id: str | None = None, path: Path | None = None) -> dict:
    path = path or thresholds_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        topics = {t: float(v["threshold"]) for t, v in data["topics"].items()}
    except FileNotFoundError:
        raise EngineUnavailable("semantic thresholds not calibrated (reviewer index calibrate)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"semantic thresholds file is corrupt: {path} ({exc.__class__.__name__})") from None
    if model_id is not None and data.get("model_id") != model_id:
        raise EngineUnavailable(
            f"semantic thresholds were calibrated for {data.get('model_id')}, not {model_id} "
            "(reviewer index calibrate)")
    data["threshold"] = topics
    return data


def save(data: dict, path: Path | None = None) -> Path:
    path = path or thresholds_path()
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path
