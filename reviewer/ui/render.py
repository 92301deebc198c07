"""Result -> what the page shows: banner HTML, highlight segments, tables, diffs, badges.

Pure functions over the contract (no Gradio), so they are unit-tested. Every piece of
user text that goes into HTML is escaped here.
"""

from __future__ import annotations

import base64
import difflib
from collections import Counter
from html import escape

from reviewer import guidance
from reviewer.patterns import compile_pattern
from reviewer.schema import TOPICS, Finding, ImageReport, Result, RewriteCheck

# Light backgrounds with dark text: readable, and each highlight also carries its topic name.
TOPIC_COLOURS = {
    "confidentiality": "#f8b4b4",
    "records": "#fcd9a8",
    "location": "#c7b8f5",
    "boundaries": "#a7e3e0",
    "colleagues": "#f9c6e4",
    "defamation": "#e7d08c",
    "advertising": "#b9e2a8",
    "prescribing": "#a9cdf5",
    "anonymity": "#d4d4d8",
    "conflicts": "#f5b98f",
    "trust": "#c4d6a0",
}
DEFAULT_COLOUR = "#e5e7eb"
# Icons are plain symbols (no emoji font needed) and the words carry the meaning anyway.
VERDICTS = {
    "do-not-post": ("✖", "Do not post", "This draft may breach the guidance as it stands."),
    "revise": ("!", "Revise before posting", "Some details need a second look."),
    "ok": ("✔", "Looks fine", "No problems found by the engines that ran."),
}
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
DIFF_COLOURS = {"removed": "#fca5a5", "added": "#86efac"}
# A word keeps its trailing spaces, so the diff aligns words, not the gaps between them.
_TOKENS = compile_pattern(r"\s+|\S+\s*")


def label(f: Finding) -> str:
    """The inline tag of a highlight: topic and paragraph, so colour is never the only signal."""
    return f"{f.topic} · {f.paragraph}"


def colour_map() -> dict[str, str]:
    """Every label a highlight can carry (topic x paragraph), coloured by topic."""
    ids = guidance.load().ids
    return {f"{t} · {pid}": TOPIC_COLOURS.get(t, DEFAULT_COLOUR) for t in TOPICS for pid in ids}


def _marks(findings: list[Finding], length: int) -> list[tuple[int, int, int, bool]]:
    """(start, end, finding index, is a piece) to mark. A jigsaw finding marks its pieces,
    not the whole stretch of text between them, so the words that add up stay visible."""
    marks = []
    for i, f in enumerate(findings):
        spans = [(p.start, p.end, True) for p in f.pieces] or [(f.start, f.end, False)]
        for a, b, piece in spans:
            if a is not None and b is not None and 0 <= a < b <= length:
                marks.append((a, b, i, piece))
    return marks


Segment = tuple[str, str | None]  # (text, label or None) as gr.HighlightedText takes it


def highlight_segments(text: str, findings: list[Finding]) -> tuple[list[Segment], list[int | None]]:
    """Non-overlapping segments for gr.HighlightedText, and which finding each one shows.

    Where marks overlap the narrowest wins, and an identifier's own finding wins over the
    jigsaw finding it is a piece of (the jigsaw still owns the pieces nothing else marks)."""
    marks = _marks(findings, len(text))
    cuts = sorted({0, len(text), *(m[0] for m in marks), *(m[1] for m in marks)})
    segments: list[Segment] = []
    owners: list[int | None] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        cover = [(e - s, piece, SEVERITY_ORDER[findings[i].severity], i)
                 for s, e, i, piece in marks if s <= a and b <= e]
        idx = min(cover)[3] if cover else None
        tag = label(findings[idx]) if idx is not None else None
        if segments and segments[-1][1] == tag and owners[-1] == idx:
            segments[-1] = (segments[-1][0] + text[a:b], tag)
        else:
            segments.append((text[a:b], tag))
            owners.append(idx)
    return segments, owners


def _short(quote: str | None, n: int = 48) -> str:
    if not quote:
        return ""
    quote = " ".join(quote.split())
    return quote if len(quote) <= n else quote[: n - 1] + "…"


def finding_choices(result: Result) -> list[tuple[str, int]]:
    """Radio choices (label, index into result.findings): keyboard-reachable finding list."""
    out = []
    for i, f in enumerate(result.findings):
        where = f"“{_short(f.quote)}”" if f.quote else "whole post"
        out.append((f"{i + 1}. {f.severity.upper()} · {f.topic} · {f.paragraph} — {where} "
                    f"({f.agreement or f.source})", i))
    return out


def engines_line(result: Result, ran: list[str], notes: dict[str, str], labels: dict[str, str]) -> str:
    """ "rules + model (SmolLM2-135M)", or "rules only: <reason>"."""
    names = [labels.get(n, n) for n in ran]
    if "all" in notes:
        return f"rules only: {notes['all']}"
    if ran == ["rules"] and notes:
        return "rules only: " + "; ".join(f"{n}: {why}" for n, why in notes.items())
    line = " + ".join(names)
    if notes:
        line += " · " + "; ".join(f"{n}: {why}" for n, why in notes.items())
    return line


def verdict_html(result: Result, engines: str, progress: str = "") -> str:
    icon, title, sub = VERDICTS[result.verdict]
    counts = Counter(f.topic for f in result.findings)
    chips = "".join(
        f'<span class="rv-chip" style="background:{TOPIC_COLOURS.get(t, DEFAULT_COLOUR)}">'
        f"{escape(t)} <b>{n}</b></span>" for t, n in counts.most_common())
    n = len(result.findings)
    summary = f"{n} finding{'s' if n != 1 else ''}" if n else "no findings"
    busy = (f'<div class="rv-progress" role="status"><span class="rv-spinner" aria-hidden="true">'
            f"</span>{escape(progress)}</div>") if progress else ""
    return (
        f'<section class="rv-verdict rv-{result.verdict}" aria-label="Verdict">'
        f'<div class="rv-verdict-head"><span class="rv-icon" aria-hidden="true">{icon}</span>'
        f'<span class="rv-title">{title}</span><span class="rv-count">{summary}</span></div>'
        f'<div class="rv-sub">{escape(sub)}</div>'
        f'<div class="rv-chips" aria-label="Findings by topic">{chips}</div>'
        f'<div class="rv-engines"><b>Engines:</b> {escape(engines)}</div>{busy}</section>'
    )


def status_html(summary: str) -> str:
    """The engines' warm-up line at the top of the page."""
    return (f'<div class="rv-status" role="status" aria-live="polite"><b>Engines</b> '
            f"{escape(summary)}</div>")


def idle_html(engines: str) -> str:
    return (f'<section class="rv-verdict rv-idle" aria-label="Verdict"><div class="rv-verdict-head">'
            f'<span class="rv-title">Paste a draft and press Review</span></div>'
            f'<div class="rv-sub">Nothing leaves this computer.</div>'
            f'<div class="rv-engines"><b>Engines:</b> {escape(engines)}</div></section>')


def error_html(message: str) -> str:
    return (f'<section class="rv-verdict rv-error" role="alert" aria-label="Error">'
            f'<div class="rv-verdict-head"><span class="rv-title">Cannot review this</span></div>'
            f'<div class="rv-sub">{escape(message)}</div></section>')


def detail_html(result: Result, index: int | None) -> str:
    """A finding's message, suggestion, evidence, and the full text of the cited paragraph."""
    if index is None or not (0 <= index < len(result.findings)):
        return ('<div class="rv-detail rv-muted">Select a finding (in the list or the text) to see '
                "why it matters and the guidance it cites.</div>")
    f = result.findings[index]
    corpus = guidance.load()
    para = corpus.get(f.paragraph)
    colour = TOPIC_COLOURS.get(f.topic, DEFAULT_COLOUR)
    rows = [f'<p class="rv-msg">{escape(f.message)}</p>',
            f'<p><b>Suggestion:</b> {escape(f.suggestion)}</p>']
    if f.quote:
        rows.append(f'<p><b>Words:</b> <mark style="background:{colour}">{escape(f.quote)}</mark></p>')
    if f.pieces:
        items = "".join(f"<li>{escape(p.kind)}: {escape(p.quote)}</li>" for p in f.pieces)
        rows.append(f"<p><b>Details that add up to an identification:</b></p><ul>{items}</ul>")
    if f.evidence:
        rows.append(f'<p><b>Why:</b> {escape(f.evidence)}</p>')
    found = f.agreement if f.agreement == "both" else None
    found = f"{', '.join(f.found_by)} (agree)" if found else (f.agreement or f"{f.source} only")
    rows.append(f'<p class="rv-muted">Found by: {escape(found)} · severity {escape(f.severity)} · '
                f"rule {escape(f.rule)}</p>")
    rows.append(
        f'<blockquote class="rv-cite"><div class="rv-cite-head"><b>{escape(para.id)}</b> — '
        f"{escape(para.source)}</div><p>{escape(para.text)}</p>"
        f'<div class="rv-muted">{escape(corpus.attribution)}</div></blockquote>')
    return (f'<article class="rv-detail" aria-label="Finding {index + 1}">'
            f'<div class="rv-detail-head"><span class="rv-chip" style="background:{colour}">'
            f"{escape(f.topic)}</span> <b>{escape(f.paragraph)}</b></div>{''.join(rows)}</article>")


COMPARE_HEADERS = ["#", "Topic", "Paragraph", "Words", "Rules", "Semantic", "Model", "Agreement"]
GUIDANCE_HEADERS = ["Paragraph", "Topic", "Score", "Why", "Summary"]


def compare_rows(result: Result) -> list[list]:
    rows = []
    for i, f in enumerate(result.findings, 1):
        by = set(f.found_by or [f.source])
        marks = ["✔ yes" if e in by else "—" for e in ("rules", "semantic", "model")]
        rows.append([i, f.topic, f.paragraph, _short(f.quote, 60) or "(whole post)", *marks,
                     f.agreement or f"{f.source} only"])
    return rows


def compare_summary(result: Result) -> str:
    by_engine = Counter(e for f in result.findings for e in (f.found_by or [f.source]))
    both = sum(1 for f in result.findings if len(f.found_by) > 1)
    parts = [f"{e}: {by_engine.get(e, 0)}" for e in ("rules", "semantic", "model")]
    return f"Findings per engine — {', '.join(parts)}; found by more than one engine: {both}."


def guidance_rows(result: Result) -> list[list]:
    corpus = guidance.load()
    rows = []
    for hit in sorted(result.guidance, key=lambda h: -h.score):
        summary = corpus.get(hit.paragraph).summary if hit.paragraph in corpus.ids else ""
        rows.append([hit.paragraph, hit.topic or "", round(hit.score, 3), hit.why or "", summary])
    return rows


def table_html(caption: str, headers: list[str], rows: list[list], empty: str, elem: str = "") -> str:
    """A plain, screen-reader friendly table (caption, header cells with scope)."""
    if not rows:
        return f'<p class="rv-muted">{escape(empty)}</p>'
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return (f'<div class="rv-scroll"><table class="rv-table rv-grid {elem}"><caption>{escape(caption)}'
            f"</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


def compare_html(result: Result) -> str:
    return table_html("Findings by engine (both = found by more than one engine)", COMPARE_HEADERS,
                      compare_rows(result), "No findings to compare.", "rv-compare-table")


def guidance_html(result: Result) -> str:
    return table_html("Guidance paragraphs retrieved for this draft, with scores", GUIDANCE_HEADERS,
                      guidance_rows(result), "No guidance paragraphs were retrieved.", "rv-guidance-table")


def diff_segments(before: str, after: str) -> list[Segment]:
    """Word-level diff for gr.HighlightedText: removed words tagged 'removed', new 'added'."""
    a = [m.group(0) for m in _TOKENS.finditer(before)]
    b = [m.group(0) for m in _TOKENS.finditer(after)]
    out: list[Segment] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("".join(a[i1:i2]), None))
            continue
        if i2 > i1:
            out.append(("".join(a[i1:i2]), "removed"))
        if j2 > j1:
            out.append(("".join(b[j1:j2]), "added"))
    return out


def badge_html(check: RewriteCheck | None, withheld: str | None = None) -> str:
    if check is None:
        why = f": {withheld}" if withheld else ""
        return f'<div class="rv-badge rv-badge-none" role="status">No model rewrite{escape(why)}</div>'
    if check.clean:
        return ('<div class="rv-badge rv-badge-ok" role="status">'
                "✔ passes re-check — the rules find nothing in it</div>")
    leaks = "; ".join(
        f"{r.kind or r.topic} “{_short(r.quote, 40)}” ({r.paragraph})" if r.quote
        else f"{r.topic} ({r.paragraph})" for r in check.remaining)
    return f'<div class="rv-badge rv-badge-leak" role="alert">⚠ still leaks: {escape(leaks)}</div>'


def image_html(report: ImageReport | None, stripped: bytes | None = None, ext: str = "jpg") -> str:
    """What the photo gives away, and the stripped copy as an in-page download (no file on disk)."""
    if report is None:
        return ""
    if report.fields:
        rows = "".join(f"<tr><th scope='row'>{escape(k)}</th><td>{escape(v)}</td></tr>"
                       for k, v in report.fields.items())
        table = f'<table class="rv-table rv-grid"><caption>Hidden data in the photo</caption>{rows}</table>'
    else:
        table = "<p>The photo carries no location, time or device data.</p>"
    head = ("<p class='rv-leak'>⚠ The photo reveals where it was taken (guidance sm-8c).</p>"
            if report.has_location else "")
    link = ""
    if stripped is not None:
        mime = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}[ext]
        data = base64.b64encode(stripped).decode("ascii")
        link = (f'<p><a class="rv-download" download="photo-stripped.{ext}" '
                f'href="data:{mime};base64,{data}">⬇ Download the copy without hidden data</a></p>')
    return f'<div class="rv-image">{head}{table}{link}</div>'
