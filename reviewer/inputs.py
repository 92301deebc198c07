"""Reading and vetting user input. Messages never quote the draft."""

from __future__ import annotations

import sys
from pathlib import Path

from reviewer.errors import InputError

MAX_CHARS = 2_000_000  # a 1 MB paste is reviewed; beyond 2 M characters it is refused
_CONTROL_OK = {"\t", "\n", "\r", "\f", "\v"}


def vet(text: str) -> str:
    """Raise InputError for text that cannot be a draft; return it unchanged otherwise."""
    if not text or not text.strip():
        raise InputError("the draft is empty: paste the text you want to post")
    if len(text) > MAX_CHARS:
        raise InputError(
            f"the draft is too long ({len(text):,} characters; the limit is {MAX_CHARS:,}): "
            "review it in parts, or use `reviewer batch` with one post per line"
        )
    sample = text[:65536]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in _CONTROL_OK)
    if "\x00" in text or controls > max(8, len(sample) // 20):  # a NUL anywhere: not a draft
        raise InputError("the input looks like binary data, not text: paste the draft as plain text")
    try:  # JSON "\ud800" or a surrogate-escaped read gives text that no UTF-8 engine can scan
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"the draft contains invalid Unicode (an unpaired surrogate at character {exc.start})"
        ) from None
    return text


def decode(data: bytes, where: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{where} is not valid UTF-8 (bad byte at offset {exc.start}): save it as UTF-8 text"
        ) from None
    return text


def read_source(source: str) -> str:
    """`-` reads standard input; anything else is a path."""
    if source == "-":
        if sys.stdin is None or sys.stdin.closed:
            raise InputError("no standard input to read: pass the draft as a file or text")
        data = sys.stdin.buffer.read(MAX_CHARS * 4 + 1)
        return decode(data, "standard input")
    path = Path(source)
    if not path.exists():
        raise InputError(f"file not found: {source}")
    if path.is_dir():
        raise InputError(f"{source} is a folder, not a file")
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_CHARS * 4 + 1)
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror}") from None
    return decode(data, source)
