"""The GMC guidance corpus shipped in index/guidance.json: loaded once, validated on load."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ValidationError

from reviewer import paths
from reviewer.errors import DataError


class Paragraph(BaseModel):
    id: str
    parent: str | None = None
    topic: str
    source: str
    summary: str
    text: str


class Corpus(BaseModel):
    title: str
    publisher: str
    attribution: str
    source_file: str
    paragraphs: list[Paragraph]

    def get(self, pid: str) -> Paragraph:
        for p in self.paragraphs:
            if p.id == pid:
                return p
        raise KeyError(pid)

    @property
    def ids(self) -> list[str]:
        return [p.id for p in self.paragraphs]

    def topic_of(self, pid: str) -> str:
        return self.get(pid).topic


def corpus_path() -> Path:
    return paths.index_dir() / "guidance.json"


@lru_cache(maxsize=4)
def _load(path: Path) -> Corpus:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"guidance corpus not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"guidance corpus unreadable: {path}: {exc.__class__.__name__}") from None
    try:
        corpus = Corpus.model_validate(json.loads(raw))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise DataError(f"guidance corpus is corrupt: {path}: {str(exc).splitlines()[0]}") from None
    ids = corpus.ids
    if len(set(ids)) != len(ids) or not ids:
        raise DataError(f"guidance corpus is corrupt: {path}: duplicate or missing paragraph ids")
    for p in corpus.paragraphs:
        if p.parent is not None and p.parent not in ids:
            raise DataError(f"guidance corpus is corrupt: {p.id} has unknown parent {p.parent}")
    return corpus


def load() -> Corpus:
    return _load(corpus_path())


def full_text() -> str:
    corpus = load()
    return (corpus_path().parent / corpus.source_file).read_text(encoding="utf-8")
