"""What every engine besides rules implements: draft in, findings (and maybe a rewrite) out.

An engine never raises into the pipeline: it reports `status` ("ok", "timeout",
"cancelled", "unavailable: <reason>") and the rules result stands.

Cancelling: an engine that can take long (the model) has `cancel()`, called from another
thread while its `review()` runs (the UI's Stop). That review then returns soon with
status "cancelled"; a cancel while no review runs does nothing, so it never reaches the
next review. Engines that always finish quickly may leave it out (callers use getattr).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from reviewer.normalise import NormalisedText
from reviewer.schema import Finding, GuidanceHit, ReviewContext


@dataclass
class Draft:
    text: str
    view: NormalisedText
    context: ReviewContext
    rule_findings: list[Finding]
    redacted: str
    guidance: list[GuidanceHit] = field(default_factory=list)


@dataclass
class EngineOutput:
    status: str = "ok"
    findings: list[Finding] = field(default_factory=list)
    rewrite: str | None = None
    withheld: str | None = None  # why a rewrite was not offered
    dropped: dict[str, int] = field(default_factory=dict)


class Engine(Protocol):
    name: str  # "semantic" | "model"

    def review(self, draft: Draft) -> EngineOutput: ...

    # Optional: def cancel(self) -> None  (see the module docstring)


CANCELLED = "cancelled"  # EngineOutput.status of a review stopped by cancel()
