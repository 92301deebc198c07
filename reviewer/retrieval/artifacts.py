"""Reading the calibration's binary files (index/semantic_*.npz) against the digests that
index/semantic.json records: one set of messages for missing, unreadable and swapped."""

from __future__ import annotations

import hashlib
from pathlib import Path

from reviewer.errors import DataError, EngineUnavailable


def read_verified(path: Path, sha256: str | None, what: str) -> bytes:
    """The file's bytes; `what` names it in messages ("semantic model", "semantic encoder").
    A missing file makes the engine unavailable; an unreadable or swapped one is a data error."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise EngineUnavailable(f"{what} missing: {path} (reviewer index calibrate)") from None
    except OSError as exc:
        raise DataError(f"{what} unreadable: {path} ({exc.__class__.__name__})") from None
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise DataError(f"{what} does not match index/semantic.json: {path} (reviewer index calibrate)")
    return data
