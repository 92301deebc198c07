"""The pipeline: text -> normalised view -> engines -> merge -> verify -> Result."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from reviewer import guidance as corpus
from reviewer.engines import rules as rules_engine
from reviewer.engines.base import Draft, Engine
from reviewer.inputs import vet
from reviewer.merge import merge
from reviewer.normalise import normalise
from reviewer.redact import redact
from reviewer.schema import Finding, GuidanceHit, Result, ReviewContext, verdict_for
from reviewer.verify import recheck

Retriever = Callable[[str, list[Finding]], list[GuidanceHit]]
RULES_ONLY = "unavailable: model not requested"


def cited_guidance(findings: list[Finding]) -> list[GuidanceHit]:
    """Paragraphs cited by findings always go to the reader (and to a model's prompt)."""
    seen: dict[str, GuidanceHit] = {}
    for f in findings:
        if f.paragraph not in seen:
            seen[f.paragraph] = GuidanceHit(
                paragraph=f.paragraph, score=1.0, topic=corpus.load().topic_of(f.paragraph),
                why="cited by a finding",
            )
    return list(seen.values())


def review(
    text: str,
    context: ReviewContext | None = None,
    *,
    id: str | None = None,
    engines: Sequence[Engine] = (),
    retriever: Retriever | None = None,
) -> Result:
    vet(text)
    ctx = context or ReviewContext()
    view = normalise(text)
    rule_findings = rules_engine.run(view, ctx)
    redacted = redact(text, rule_findings)
    hits = retriever(text, rule_findings) if retriever else cited_guidance(rule_findings)
    draft = Draft(text, view, ctx, rule_findings, redacted, hits)

    statuses = {"rules": "ok"}
    findings = list(rule_findings)
    rewrite: str | None = None
    withheld: str | None = None
    dropped: dict[str, int] = {}
    for engine in engines:
        out = engine.review(draft)
        statuses[engine.name] = out.status
        kept, exempted = rules_engine.drop_exempted(view, out.findings)
        findings.extend(kept)
        counts = dict(out.dropped)  # a copy: the engine's own output is left as it reported it
        if exempted:
            counts["exempted"] = counts.get("exempted", 0) + exempted
        for reason, n in counts.items():
            dropped[f"{engine.name}.{reason}"] = dropped.get(f"{engine.name}.{reason}", 0) + n
        if out.rewrite is not None:
            rewrite = out.rewrite
        withheld = withheld or out.withheld
    statuses.setdefault("model", RULES_ONLY)

    merged = merge(findings)
    check = recheck(rewrite, ctx, "rewrite") if rewrite is not None else recheck(redacted, ctx, "redacted")
    if withheld:
        check.withheld = withheld
    return Result(
        id=id,
        verdict=verdict_for(merged),
        engines=statuses,
        findings=merged,
        redacted=redacted,
        rewrite=rewrite,
        rewrite_check=check,
        guidance=hits,
        context=ctx,
        dropped=dropped,
    )
