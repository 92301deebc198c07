"""Prompt templates from prompts/ (versioned text files), filled in for one draft.

Each template starts with `version: N` and `---`; the body is a `string.Template`
(`$name`), so JSON braces in it need no escaping. Retrieved guidance paragraphs go in
verbatim with their ids; the draft is fenced between lines carrying a hash of the draft,
so text inside it cannot fake the closing fence.

A message's *static prefix* (everything before its first placeholder) is the same for
every draft; the llama backend evaluates it once and reuses the state.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template

from reviewer import guidance, paths
from reviewer.engines.base import Draft
from reviewer.engines.model.output import citable
from reviewer.errors import DataError

NAMES = ("system", "review", "rewrite")


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    template: Template

    def static_prefix(self) -> str:
        m = self.template.pattern.search(self.template.template)
        return self.template.template[: m.start()] if m else self.template.template

    def fill(self, **values: str) -> str:
        return self.template.substitute(values)


@dataclass(frozen=True)
class Messages:
    """Chat messages plus the length of the static part of the last one (for caching)."""

    kind: str
    messages: list[dict[str, str]]
    static_chars: int


def _parse(name: str, path: Path) -> Prompt:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError:
        raise DataError(f"prompt template missing: {path}") from None
    head, sep, body = raw.partition("\n---\n")
    if not sep or not head.startswith("version:"):
        raise DataError(f"prompt template {path} must start with 'version: N' and '---'")
    return Prompt(name, head.removeprefix("version:").strip(), Template(body.rstrip("\n")))


@lru_cache(maxsize=4)
def _load(directory: Path) -> dict[str, Prompt]:
    return {name: _parse(name, directory / f"{name}.txt") for name in NAMES}


def load() -> dict[str, Prompt]:
    return _load(paths.prompts_dir())


def versions() -> dict[str, str]:
    return {name: p.version for name, p in load().items()}


def fence(text: str) -> str:
    return f"===== DRAFT {hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]} ====="


def system_text() -> str:
    corpus = guidance.load()
    index = "\n".join(f"{pid} ({topic}): {corpus.get(pid).summary}" for pid, topic in citable().items())
    return load()["system"].fill(paragraph_index=index)


def _tri(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _guidance_block(draft: Draft) -> str:
    corpus = guidance.load()
    lines = []
    for hit in draft.guidance:
        try:
            p = corpus.get(hit.paragraph)
        except KeyError:
            continue
        lines.append(f"[{p.id}] ({p.topic}) {p.text}")
    return "\n\n".join(lines) or "(none retrieved for this draft: use the list of paragraphs above)"


def _with_static(kind: str, user: str) -> Messages:
    prompt = load()[kind]
    static = prompt.static_prefix()
    assert user.startswith(static)
    return Messages(kind, [{"role": "system", "content": system_text()},
                           {"role": "user", "content": user}], len(static))


def review_messages(draft: Draft) -> Messages:
    ctx = draft.context
    user = load()["review"].fill(
        guidance=_guidance_block(draft), audience=ctx.audience, as_doctor=_tri(ctx.as_doctor),
        named=_tri(ctx.named), fence=fence(draft.text), draft=draft.text,
    )
    return _with_static("review", user)


def rewrite_messages(draft: Draft, problems: list[str]) -> Messages:
    user = load()["rewrite"].fill(
        problems="\n".join(f"- {p}" for p in problems) or "- (none listed)",
        redacted=draft.redacted, fence=fence(draft.text), draft=draft.text,
    )
    return _with_static("rewrite", user)
