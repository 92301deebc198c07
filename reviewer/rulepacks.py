"""Load and validate the YAML rule packs in `rules/` into compiled, ready-to-run rules.

Layout (see rules/README.md):
- `rules/_cues.yml`       named phrase lists shared by rules (`cues: {patient: [...]}`)
- `rules/recognisers.yml` pattern recognisers (identifier kinds) with their examples
- `rules/<topic>.yml`     one pack per topic: `topic:` and a list of `rules:`

A rule that cannot be compiled under RE2, cites an unknown paragraph, names an unknown
recogniser or cue, or ships without must-fire and must-not-fire examples does not load.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from reviewer import guidance, paths
from reviewer.errors import RuleError
from reviewer.patterns import compile_pattern, phrase_pattern
from reviewer.recognisers import PatternRecogniser, registry
from reviewer.schema import TOPICS, Audience, DraftInput, Severity


class Example(DraftInput):
    model_config = ConfigDict(extra="forbid")


def _coerce_examples(items: list[Any]) -> list[Example]:
    return [Example(text=i) if isinstance(i, str) else Example.model_validate(i) for i in items]


class Examples(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fire: list[Example]
    ok: list[Example]
    todo: list[Example] = Field(default_factory=list)  # known misses: documented, not failing

    @field_validator("fire", "ok", "todo", mode="before")
    @classmethod
    def _strings(cls, v: list[Any]) -> list[Example]:
        return _coerce_examples(v or [])

    @model_validator(mode="after")
    def _non_empty(self) -> "Examples":
        if not self.fire or not self.ok:
            raise ValueError("every rule needs at least one 'fire' and one 'ok' example")
        return self


def _listed(v: Any) -> list[Any]:
    """One condition or a list of them (YAML lets a rule write either)."""
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


class TextCondition(BaseModel):
    """Cue phrases/patterns that must (requires) or must not (unless) be near the match.

    `within`: characters either side of the match; omitted = anywhere in the draft.
    `rules`: findings of these (independent) rules count as cues: a date near a patient's
    name is a detail about that patient.
    """

    model_config = ConfigDict(extra="forbid")
    cues: list[str] = Field(default_factory=list)
    phrases: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    within: int | None = None


class When(BaseModel):
    model_config = ConfigDict(extra="forbid")
    audience: list[Audience] | None = None
    as_doctor: bool | None = None
    named: bool | None = None


class Combination(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recognisers: list[str]
    min_kinds: int = 3
    window: int = 400
    min_score: float = 0.5


class RuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    paragraph: Union[str, dict[Audience, str]]
    topic: str | None = None
    severity: Severity
    message: str
    suggestion: str
    kind: str | None = None
    phrases: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    recognisers: list[str] = Field(default_factory=list)
    min_score: float = 0.5
    combination: Combination | None = None
    context_only: bool = False  # fires from the review context alone (span: first `requires` cue)
    requires: list[TextCondition] = Field(default_factory=list)
    unless: list[TextCondition] = Field(default_factory=list)
    when: When = Field(default_factory=When)
    examples: Examples

    @field_validator("requires", "unless", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> list[Any]:
        return _listed(v)

    @model_validator(mode="after")
    def _one_check(self) -> "RuleSpec":
        checks = [bool(self.phrases or self.patterns), bool(self.recognisers),
                  self.combination is not None, self.context_only]
        if sum(checks) != 1:
            raise ValueError("a rule needs exactly one check: phrases/patterns, recognisers, "
                             "combination, or context_only")
        return self


class RecogniserSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    kind: str
    code: bool = False  # implemented in reviewer/recognisers/ (checksum, library...): examples only
    patterns: list[dict[str, Any]] = Field(default_factory=list)
    phrases: list[str] = Field(default_factory=list)
    score: float = 0.6  # for phrases
    context: list[str] = Field(default_factory=list)
    context_window: int = 40
    context_boost: float = 0.35
    case_sensitive: bool = False
    group: int = 0
    trim_words: list[str] = Field(default_factory=list)
    examples: Examples


class ExemptionSpec(BaseModel):
    """A safe move on a topic that the statistical engines (semantic, model) cannot read, such
    as a declared interest or a patient sent back to the practice: when one of its `unless`
    conditions holds anywhere in the draft, their findings on the topic are dropped (rules
    have their own `unless`). Examples: `fire` = the exemption holds, `ok` = it does not."""

    model_config = ConfigDict(extra="forbid")
    topic: Literal[TOPICS]  # type: ignore[valid-type]
    why: str
    unless: list[TextCondition]
    examples: Examples

    @field_validator("unless", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> list[Any]:
        return _listed(v)

    @model_validator(mode="after")
    def _draft_wide(self) -> "ExemptionSpec":
        if any(c.within is not None or c.rules for c in self.unless):
            raise ValueError("an exemption holds anywhere in the draft: no 'within' or 'rules'")
        return self


class Exemption:
    def __init__(self, spec: ExemptionSpec, cues: dict[str, list[str]]) -> None:
        self.spec = spec
        self.topic = spec.topic
        self.unless = [CompiledCondition(c, cues, f"_exemptions.yml: {spec.topic}") for c in spec.unless]


class PackSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    topic: Literal[TOPICS]  # type: ignore[valid-type]
    description: str = ""
    rules: list[RuleSpec]


def _linear(patterns: list[str], where: str) -> list[str]:
    """Compile each pattern alone first, so a rejected one is named with its rule, not buried
    in the joined alternation."""
    for p in patterns:
        try:
            compile_pattern(p)
        except RuleError as exc:
            raise RuleError(f"{where}: {exc}") from None
    return patterns


class CompiledCondition:
    def __init__(self, spec: TextCondition, cues: dict[str, list[str]], where: str) -> None:
        phrases = list(spec.phrases)
        for name in spec.cues:
            if name not in cues:
                raise RuleError(f"{where}: unknown cue list {name!r}")
            phrases.extend(cues[name])
        alts = [phrase_pattern(phrases)] if phrases else []
        alts.extend(f"(?:{p})" for p in _linear(spec.patterns, where))
        if not alts and not spec.rules:
            raise RuleError(f"{where}: a condition needs cues, phrases, patterns or rules")
        # `\b\B` never matches: a rules-only condition still has a regex to scan.
        self.regex = compile_pattern("|".join(alts) if alts else r"\b\B")
        self.rules = list(spec.rules)
        self.within = spec.within


class Rule:
    """A rule ready to run: its spec plus compiled patterns and conditions."""

    def __init__(self, spec: RuleSpec, topic: str, cues: dict[str, list[str]], source: Path):
        self.spec = spec
        self.id = spec.id
        self.topic = spec.topic or topic
        self.source = source
        where = f"{source.name}: rule {spec.id}"
        if self.topic not in TOPICS:
            raise RuleError(f"{where}: unknown topic {self.topic!r}")
        known = set(guidance.load().ids)
        for pid in self.paragraphs():
            if pid not in known:
                raise RuleError(f"{where}: cites unknown paragraph {pid!r}")
        for name in spec.recognisers + (spec.combination.recognisers if spec.combination else []):
            if name not in registry:
                raise RuleError(f"{where}: unknown recogniser {name!r}")
        alts = [phrase_pattern(spec.phrases)] if spec.phrases else []
        alts.extend(f"(?:{p})" for p in _linear(spec.patterns, where))
        self.regex = compile_pattern("|".join(alts)) if alts else None
        self.requires = [CompiledCondition(c, cues, where) for c in spec.requires]
        self.unless = [CompiledCondition(c, cues, where) for c in spec.unless]
        self.depends = {r for c in self.requires + self.unless for r in c.rules}
        self.depth: int | None = None if self.depends else 0

    def paragraphs(self) -> list[str]:
        p = self.spec.paragraph
        return sorted(set(p.values())) if isinstance(p, dict) else [p]

    def paragraph_for(self, audience: str) -> str:
        p = self.spec.paragraph
        if isinstance(p, dict):
            return p.get(audience) or next(iter(p.values()))
        return p


class RuleSet:
    def __init__(self, rules: list[Rule], cues: dict[str, list[str]],
                 exemptions: list[Exemption] | None = None) -> None:
        self.rules = rules
        self.cues = cues
        self.exemptions: dict[str, list[Exemption]] = {}
        for e in exemptions or []:
            self.exemptions.setdefault(e.topic, []).append(e)
        _order_by_dependency(rules)
        self.doctor_cue = compile_pattern(phrase_pattern(cues.get("doctor", [])))

    def by_id(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RuleError(f"rule file not found: {path}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RuleError(f"rule file unreadable: {path}: {str(exc).splitlines()[0]}") from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err["loc"])
    return f"{loc}: {err['msg']}"


def load_recognisers(path: Path) -> list[RecogniserSpec]:
    data = _read_yaml(path) or {}
    specs = []
    for item in data.get("recognisers", []):
        try:
            spec = RecogniserSpec.model_validate(item)
        except ValidationError as exc:
            raise RuleError(f"{path.name}: recogniser {item.get('name')}: {_first_error(exc)}") from None
        specs.append(spec)
        if spec.code:
            if spec.name not in registry:
                raise RuleError(f"{path.name}: code recogniser {spec.name!r} is not registered")
            continue
        patterns = [(p["pattern"], float(p.get("score", 0.6))) for p in spec.patterns]
        _linear([p for p, _ in patterns], f"{path.name}: recogniser {spec.name}")
        if spec.phrases:
            patterns.append((phrase_pattern(spec.phrases), spec.score))
        registry.register(
            PatternRecogniser(
                name=spec.name, kind=spec.kind, patterns=patterns, context=spec.context,
                context_window=spec.context_window, context_boost=spec.context_boost,
                case_sensitive=spec.case_sensitive, group=spec.group,
                examples=spec.examples.model_dump(), trim_words=spec.trim_words,
            ),
            replace=True,
        )
    return specs


@lru_cache(maxsize=4)
def _load(directory: Path) -> RuleSet:
    if not directory.is_dir():
        raise RuleError(f"rules folder not found: {directory}")
    cues_data = _read_yaml(directory / "_cues.yml") or {}
    cues = {k: [str(x) for x in v] for k, v in (cues_data.get("cues") or {}).items()}
    load_recognisers(directory / "recognisers.yml")
    rules: list[Rule] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.yml")):
        if path.name.startswith("_") or path.name == "recognisers.yml":
            continue
        data = _read_yaml(path)
        try:
            pack = PackSpec.model_validate(data)
        except ValidationError as exc:
            raise RuleError(f"{path.name}: {_first_error(exc)}") from None
        for spec in pack.rules:
            if spec.id in seen:
                raise RuleError(f"{path.name}: duplicate rule id {spec.id!r}")
            seen.add(spec.id)
            rules.append(Rule(spec, pack.topic, cues, path))
    if not rules:
        raise RuleError(f"no rule packs found in {directory}")
    return RuleSet(rules, cues, _load_exemptions(directory / "_exemptions.yml", cues))


def _load_exemptions(path: Path, cues: dict[str, list[str]]) -> list[Exemption]:
    if not path.is_file():
        return []
    data = _read_yaml(path) or {}
    out = []
    for i, item in enumerate(data.get("exemptions") or []):
        try:
            spec = ExemptionSpec.model_validate(item)
        except ValidationError as exc:
            raise RuleError(f"{path.name}: exemption {i + 1}: {_first_error(exc)}") from None
        out.append(Exemption(spec, cues))
    return out


def _order_by_dependency(rules: list[Rule]) -> None:
    """Give each rule a `depth` (1 + the deepest rule its conditions read) so the engine can
    run every rule after the rules it depends on; unknown ids and cycles do not load."""
    by_id = {r.id: r for r in rules}
    for rule in rules:
        for dep in sorted(rule.depends):
            if dep not in by_id:
                raise RuleError(f"{rule.source.name}: rule {rule.id}: unknown rule {dep!r} in a condition")
    visiting: set[str] = set()

    def depth(rule: Rule) -> int:
        if rule.depth is not None:
            return rule.depth
        if rule.id in visiting:
            raise RuleError(f"{rule.source.name}: rule {rule.id}: its conditions depend on themselves")
        visiting.add(rule.id)
        rule.depth = 1 + max((depth(by_id[d]) for d in rule.depends), default=-1)
        visiting.discard(rule.id)
        return rule.depth

    for rule in rules:
        depth(rule)


def load(directory: Path | None = None) -> RuleSet:
    return _load((directory or paths.rules_dir()).resolve())


def recogniser_specs(directory: Path | None = None) -> list[RecogniserSpec]:
    directory = (directory or paths.rules_dir()).resolve()
    data = _read_yaml(directory / "recognisers.yml") or {}
    return [RecogniserSpec.model_validate(item) for item in data.get("recognisers", [])]
