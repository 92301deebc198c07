"""Re-check a rewrite (model or deterministic) with the rules: nothing is called safe unchecked."""

from __future__ import annotations

from typing import Literal

from reviewer.engines import rules as rules_engine
from reviewer.schema import Remaining, ReviewContext, RewriteCheck


def recheck(text: str, ctx: ReviewContext, target: Literal["rewrite", "redacted"]) -> RewriteCheck:
    # Context-only rules (e.g. anonymous posting) cannot be fixed by editing the text.
    remaining = [
        Remaining(rule=f.rule, paragraph=f.paragraph, topic=f.topic, kind=f.kind, quote=f.quote)
        for f in rules_engine.run(text, ctx, skip_context_only=True)
    ]
    return RewriteCheck(clean=not remaining, remaining=remaining, target=target)
