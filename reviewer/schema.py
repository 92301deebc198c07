"""The output contract of DESIGN.md as pydantic models: one shape for CLI, batch, UI and eval.

Extensions beyond DESIGN.md are additive (new optional fields), so scripts written
against the original contract keep working.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Audience = Literal["public", "friends", "professional", "patient"]
Severity = Literal["high", "medium", "low"]
Source = Literal["rules", "semantic", "model"]
Verdict = Literal["do-not-post", "revise", "ok"]

TOPICS: tuple[str, ...] = (
    "confidentiality",
    "records",
    "location",
    "boundaries",
    "colleagues",
    "defamation",
    "advertising",
    "prescribing",
    "anonymity",
    "conflicts",
    "trust",
)
# Identifier kinds (DESIGN.md) plus the quasi-identifiers used for jigsaw findings.
IDENTIFIER_KINDS: tuple[str, ...] = (
    "person",
    "age",
    "date",
    "time",
    "location",
    "nhs_number",
    "hospital_number",
    "phone",
    "email",
    "url",
    "handle",
    "gps",
)
QUASI_KINDS: tuple[str, ...] = ("sex", "condition", "occupation", "event", "relation")
SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1}


class ReviewContext(BaseModel):
    """What the reviewer knows besides the text. None means unknown (infer from text)."""

    model_config = ConfigDict(extra="forbid")
    audience: Audience = "public"
    as_doctor: bool | None = None
    named: bool | None = None


class Piece(BaseModel):
    """One quasi-identifier that takes part in a jigsaw (sm-13) finding."""

    start: int
    end: int
    quote: str
    kind: str


class Finding(BaseModel):
    rule: str
    paragraph: str
    topic: str
    source: Source
    severity: Severity
    start: int | None = None
    end: int | None = None
    quote: str | None = None
    kind: str | None = None
    message: str
    suggestion: str
    # Extensions (optional, additive):
    found_by: list[Source] = Field(default_factory=list)
    agreement: str | None = None  # "both" when engines overlap, else "<engine> only"
    confidence: float | None = None
    evidence: str | None = None  # why: nearest example phrasing, model rationale...
    pieces: list[Piece] = Field(default_factory=list)


class Remaining(BaseModel):
    rule: str
    paragraph: str
    topic: str
    kind: str | None = None
    quote: str | None = None


class RewriteCheck(BaseModel):
    clean: bool
    remaining: list[Remaining] = Field(default_factory=list)
    target: Literal["rewrite", "redacted"] = "redacted"  # which text was re-checked
    withheld: str | None = None  # why a model rewrite was not offered


class GuidanceHit(BaseModel):
    paragraph: str
    score: float
    topic: str | None = None
    why: str | None = None  # "rule citation", "embedding", ...


class ImageReport(BaseModel):
    has_location: bool
    gps: tuple[float, float] | None = None
    fields: dict[str, str] = Field(default_factory=dict)


class Result(BaseModel):
    id: str | None = None
    verdict: Verdict
    engines: dict[str, str]
    findings: list[Finding]
    redacted: str
    rewrite: str | None = None
    rewrite_check: RewriteCheck
    guidance: list[GuidanceHit] = Field(default_factory=list)
    # Extensions:
    context: ReviewContext | None = None
    dropped: dict[str, int] = Field(default_factory=dict)  # invalid model items, by reason
    image: ImageReport | None = None
    error: str | None = None  # batch: why this line could not be reviewed


class DraftInput(BaseModel):
    """A draft with its review context, as users write it (batch lines, rule examples)."""

    text: str
    audience: Audience = "public"
    as_doctor: bool | None = None
    named: bool | None = None

    def context(self) -> ReviewContext:
        return ReviewContext(audience=self.audience, as_doctor=self.as_doctor, named=self.named)


class BatchInput(DraftInput):
    """One line of `reviewer batch` input; unknown keys (e.g. labels) are ignored."""

    model_config = ConfigDict(extra="ignore")
    id: str | int | None = None


def verdict_for(findings: list[Finding]) -> Verdict:
    if not findings:
        return "ok"
    if any(f.severity == "high" for f in findings):
        return "do-not-post"
    return "revise"


def json_schema() -> dict:
    return Result.model_json_schema()
