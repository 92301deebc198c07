"""The example bank (index/examples.yml): per guidance paragraph, phrasings that breach it
and near-misses that do not, each with a short note. Data, validated on load."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reviewer import guidance, paths
from reviewer.errors import DataError


class Example(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=3)
    note: str = Field(min_length=2)


class Entry(BaseModel):
    """All examples for one paragraph, plus a one-line description used to enrich its text."""

    model_config = ConfigDict(extra="forbid")
    paragraph: str
    describe: str
    suggest: str = ""  # what to do instead (shown with a semantic finding)
    breach: list[Example] = Field(default_factory=list)
    near_miss: list[Example] = Field(default_factory=list)


class Bank(BaseModel):
    entries: list[Entry]
    digest: str

    def entry(self, pid: str) -> Entry | None:
        return next((e for e in self.entries if e.paragraph == pid), None)


Polarity = Literal["breach", "near_miss"]


def bank_path() -> Path:
    return paths.index_dir() / "examples.yml"


@lru_cache(maxsize=4)
def _load(path: Path) -> Bank:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"example bank unreadable: {path}: {exc.__class__.__name__}") from None
    try:
        data = yaml.safe_load(raw)
        entries = [Entry.model_validate(e) for e in data["examples"]]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise DataError(f"example bank is corrupt: {path}: {where}: {first['msg']}") from None
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        raise DataError(f"example bank is corrupt: {path}: {str(exc).splitlines()[0]}") from None
    ids = set(guidance.load().ids)
    seen: set[str] = set()
    for e in entries:
        if e.paragraph not in ids:
            raise DataError(f"example bank: unknown paragraph {e.paragraph!r}")
        if e.paragraph in seen:
            raise DataError(f"example bank: paragraph {e.paragraph!r} listed twice")
        seen.add(e.paragraph)
    return Bank(entries=entries, digest=hashlib.sha256(raw).hexdigest())


def load() -> Bank:
    return _load(bank_path())
