"""Stream JSONL drafts through the reviewer: one line in, one line out, constant memory."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import BinaryIO

from pydantic import ValidationError

from reviewer.errors import InputError, ReviewerError
from reviewer.inputs import MAX_CHARS
from reviewer.schema import BatchInput, Result

MAX_LINE_BYTES = MAX_CHARS * 4 + 1024


def read_lines(stream: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """(line number, raw line) pairs; an over-long line yields None and is skipped in chunks,
    so a single huge line never has to fit in memory."""
    lineno = 0
    while True:
        chunk = stream.readline(MAX_LINE_BYTES)
        if not chunk:
            return
        lineno += 1
        if len(chunk) >= MAX_LINE_BYTES and not chunk.endswith(b"\n"):
            while chunk and not chunk.endswith(b"\n"):
                chunk = stream.readline(1 << 20)
            yield lineno, None
            continue
        yield lineno, chunk


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_line(lineno: int, raw: bytes | None) -> BatchInput:
    if raw is None:
        raise InputError(f"line {lineno}: longer than {MAX_LINE_BYTES:,} bytes")
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"line {lineno}: not valid UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:  # "[[[[…" thousands deep: the json module recurses per level
        raise InputError(f"line {lineno}: not valid input (JSON nested too deeply)") from None
    if not isinstance(obj, dict):
        raise InputError(f"line {lineno}: expected a JSON object with a 'text' field")
    if isinstance(obj.get("id"), str) and not _encodable(obj["id"]):  # "\ud800": cannot be written
        raise InputError(f"line {lineno}: id: contains invalid Unicode (an unpaired surrogate)")
    try:
        return BatchInput.model_validate(obj)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"]) or "line"
        raise InputError(f"line {lineno}: {field}: {err['msg']}") from None


def run(stream: BinaryIO, review_one: Callable[[BatchInput], Result],
        on_error: Callable[[str], None]) -> Iterator[str]:
    """Yield one JSON line per input line (blank lines skipped); bad lines become an error
    object `{"id", "line", "error"}` so the output stays aligned with the input."""
    for lineno, raw in read_lines(stream):
        if raw is not None and not raw.strip():
            continue
        item_id = None
        try:
            item = parse_line(lineno, raw)
            item_id = None if item.id is None else str(item.id)
            result = review_one(item)
            yield result.model_dump_json()
        except InputError as exc:
            message = str(exc) if str(exc).startswith("line ") else f"line {lineno}: {exc}"
            on_error(message)
            yield json.dumps({"id": item_id, "line": lineno, "error": message})
        except ReviewerError:
            raise  # missing/corrupt data files: every line would fail the same way
        except Exception as exc:  # noqa: BLE001 - one draft that trips a bug must not end the
            # archive; the class name only, since an exception message may quote the draft
            message = f"line {lineno}: internal error ({exc.__class__.__name__}); not reviewed"
            on_error(message)
            yield json.dumps({"id": item_id, "line": lineno, "error": message})
