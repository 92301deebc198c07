"""The deterministic engine: run every loaded rule over the normalised view of a draft."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

from reviewer import rulepacks
from reviewer.normalise import NormalisedText, normalise
from reviewer.recognisers import Candidate, registry
from reviewer.rulepacks import CompiledCondition, Rule, RuleSet
from reviewer.schema import Finding, Piece, ReviewContext

MAX_FINDINGS_PER_RULE = 100  # a pasted archive can hold thousands; the first 100 make the point


@dataclass(frozen=True)
class EffectiveContext:
    audience: str
    as_doctor: bool | None
    named: bool | None
    as_doctor_inferred: bool


def effective_context(view: NormalisedText, ctx: ReviewContext, ruleset: RuleSet) -> EffectiveContext:
    """Unknown `as_doctor` is inferred from the text ("as a GP", "my patients", "on call")."""
    if ctx.as_doctor is not None:
        return EffectiveContext(ctx.audience, ctx.as_doctor, ctx.named, False)
    inferred = ruleset.doctor_cue.search(view.text) is not None
    return EffectiveContext(ctx.audience, inferred, ctx.named, True)


class _Scan:
    """Per-draft caches: each recogniser and each condition regex runs once per draft."""

    def __init__(self, view: NormalisedText) -> None:
        self.view = view
        self._candidates: list[Candidate] | None = None
        self._positions: dict[int, tuple[list[int], list[int]]] = {}
        self.found: dict[str, list[tuple[int, int]]] = {}  # rule id -> its matches so far

    def candidates(self, names: list[str], min_score: float) -> list[Candidate]:
        wanted = set(names)
        return [c for c in self._all_candidates() if c.recogniser in wanted and c.score >= min_score]

    def _all_candidates(self) -> list[Candidate]:
        """All recognisers' candidates with overlaps resolved (higher score, then longer, wins)."""
        if self._candidates is None:
            found = [c for name in registry.names() for c in registry.get(name).find(self.view.text)]
            found.sort(key=lambda c: (-c.score, -(c.end - c.start), c.start))
            taken: list[tuple[int, int]] = []
            kept: list[Candidate] = []
            for c in found:
                i = bisect_left(taken, (c.start, c.end))
                left_ok = i == 0 or taken[i - 1][1] <= c.start
                right_ok = i == len(taken) or taken[i][0] >= c.end
                if left_ok and right_ok:
                    taken.insert(i, (c.start, c.end))
                    kept.append(c)
            kept.sort(key=lambda c: c.start)
            self._candidates = kept
        return self._candidates

    def _spans(self, cond: CompiledCondition) -> tuple[list[int], list[int]]:
        # A rule runs after every rule its conditions name (rulepacks orders them by depth),
        # so caching the first read of a rule-based condition is safe.
        key = id(cond)
        if key not in self._positions:
            spans = [m.span() for m in cond.regex.finditer(self.view.text)]
            for rule_id in cond.rules:
                spans.extend(self.found.get(rule_id, []))
            spans.sort()
            self._positions[key] = ([s for s, _ in spans], [e for _, e in spans])
        return self._positions[key]

    def holds(self, cond: CompiledCondition, start: int, end: int,
              parts: list[tuple[int, int]] | None = None) -> bool:
        """A cue within `within` chars of [start, end); a cue inside the match itself does not
        count (the "ward" of "ward 9" is not evidence that ward 9 is about a patient). For a
        combination, only cues inside its pieces are discounted: a cue between the pieces
        ("Saw Mrs Patel" amid age, ward and date) is evidence, however wide the cluster."""
        starts, ends = self._spans(cond)
        if not starts:
            return False
        # The discounted spans, merged and sorted, so each cue is placed by bisection: a flood of
        # pieces (thousands in one cluster) must not make this quadratic.
        own_starts, own_ends = _merged([(start, end)] if parts is None else parts)

        def outside(s: int, e: int) -> bool:
            k = bisect_right(own_starts, s) - 1
            return k < 0 or e > own_ends[k]

        if cond.within is None:
            return any(outside(s, e) for s, e in zip(starts, ends))
        lo, hi = start - cond.within, end + cond.within
        i = max(0, bisect_left(starts, lo) - 1)
        while i < len(starts) and starts[i] < hi:
            s, e = starts[i], ends[i]
            if e > lo and outside(s, e):
                return True
            i += 1
        return False

    def first(self, cond: CompiledCondition) -> tuple[int, int] | None:
        starts, ends = self._spans(cond)
        return (starts[0], ends[0]) if starts else None


def _merged(spans: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    starts: list[int] = []
    ends: list[int] = []
    for a, b in sorted(spans):
        if starts and a <= ends[-1]:
            ends[-1] = max(ends[-1], b)
        else:
            starts.append(a)
            ends.append(b)
    return starts, ends


def _when_matches(rule: Rule, ctx: EffectiveContext) -> bool:
    when = rule.spec.when
    if when.audience is not None and ctx.audience not in when.audience:
        return False
    if when.as_doctor is not None and ctx.as_doctor is not when.as_doctor:
        return False
    if when.named is not None and ctx.named is not when.named:
        return False
    return True


_Match = tuple[int | None, int | None, str | None, float | None, list[Candidate]]


def _matches(rule: Rule, scan: _Scan) -> Iterator[_Match]:
    spec = rule.spec
    if rule.regex is not None:
        for m in rule.regex.finditer(scan.view.text):
            if m.end() > m.start():
                yield m.start(), m.end(), spec.kind, None, []
    elif spec.recognisers:
        for c in scan.candidates(spec.recognisers, spec.min_score):
            yield c.start, c.end, spec.kind or c.kind, c.score, []
    elif spec.combination is not None:
        yield from _clusters(rule, scan)
    elif spec.context_only:
        span = next((scan.first(c) for c in rule.requires if scan.first(c)), None)
        yield (span[0], span[1], spec.kind, None, []) if span else (None, None, spec.kind, None, [])


def _clusters(rule: Rule, scan: _Scan) -> Iterator[_Match]:
    combo = rule.spec.combination
    assert combo is not None
    cands = scan.candidates(combo.recognisers, combo.min_score)
    group: list[Candidate] = []
    for c in cands + [None]:  # sentinel flushes the last group
        if c is not None and (not group or c.start - group[-1].end <= combo.window):
            group.append(c)
            continue
        if len({g.kind for g in group}) >= combo.min_kinds:
            yield group[0].start, group[-1].end, rule.spec.kind, None, list(group)
        group = [c] if c is not None else []


def _conditions_hold(rule: Rule, scan: _Scan, start: int | None, end: int | None,
                     pieces: list[Candidate] = ()) -> bool:
    s = start if start is not None else 0
    e = end if end is not None else len(scan.view.text)
    # A context-only rule's "match" is its first cue: no span of the text is its own, so no cue
    # is discounted (otherwise `requires` needed two cues and `unless` could never hold).
    parts = [] if rule.spec.context_only else ([(p.start, p.end) for p in pieces] or None)
    if not all(scan.holds(c, s, e, parts) for c in rule.requires):
        return False
    return not any(scan.holds(c, s, e, parts) for c in rule.unless)


def _finding(rule: Rule, view: NormalisedText, ctx: EffectiveContext, match: _Match) -> Finding:
    start, end, kind, score, pieces = match
    quote = None
    if start is not None and end is not None:
        start, end = view.span(start, end)
        quote = view.original[start:end]
    spec = rule.spec
    message = spec.message.replace("%s", quote or "this post")
    return Finding(
        rule=rule.id,
        paragraph=rule.paragraph_for(ctx.audience),
        topic=rule.topic,
        source="rules",
        severity=spec.severity,
        start=start,
        end=end,
        quote=quote,
        kind=kind,
        message=message,
        suggestion=spec.suggestion,
        found_by=["rules"],
        agreement="rules only",
        confidence=score,
        pieces=[_piece(view, p) for p in pieces],
    )


def _piece(view: NormalisedText, c: Candidate) -> Piece:
    start, end = view.span(c.start, c.end)
    # Built from the rules' own offsets, so validation adds nothing; a 1 MB flood has ~40k pieces.
    return Piece.model_construct(start=start, end=end, quote=view.original[start:end], kind=c.kind)


def run(text: str | NormalisedText, ctx: ReviewContext | None = None,
        ruleset: RuleSet | None = None, *, skip_context_only: bool = False) -> list[Finding]:
    """All rule findings for a draft, offsets into the original text, in text order."""
    view = text if isinstance(text, NormalisedText) else normalise(text)
    ruleset = ruleset or rulepacks.load()
    ectx = effective_context(view, ctx or ReviewContext(), ruleset)
    scan = _Scan(view)
    findings: list[Finding] = []
    # Rules whose conditions read other rules' findings run after those rules (stable order).
    ordered = sorted(ruleset.rules, key=lambda r: r.depth or 0)
    for rule in ordered:
        if skip_context_only and rule.spec.context_only:
            continue
        if not _when_matches(rule, ectx):
            continue
        count = 0
        for match in _matches(rule, scan):
            if not _conditions_hold(rule, scan, match[0], match[1], match[4]):
                continue
            findings.append(_finding(rule, view, ectx, match))
            if match[0] is not None and match[1] is not None:
                scan.found.setdefault(rule.id, []).append((match[0], match[1]))
            count += 1
            if count >= MAX_FINDINGS_PER_RULE:
                break
    findings.sort(key=lambda f: (f.start if f.start is not None else -1, f.rule))
    return findings


def drop_exempted(view: NormalisedText, findings: list[Finding],
                  ruleset: RuleSet | None = None) -> tuple[list[Finding], int]:
    """Findings of a statistical engine without those on a topic whose exemption holds in the
    draft (rules/_exemptions.yml), and how many were dropped."""
    ruleset = ruleset or rulepacks.load()
    scan = _Scan(view)
    held: dict[str, bool] = {}
    kept: list[Finding] = []
    for f in findings:
        if f.topic not in held:
            held[f.topic] = any(scan.first(c) is not None
                                for e in ruleset.exemptions.get(f.topic, []) for c in e.unless)
        if not held[f.topic]:
            kept.append(f)
    return kept, len(findings) - len(kept)
