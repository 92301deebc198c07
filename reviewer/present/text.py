"""Human-readable report of a Result for the terminal (Rich; plain text when piped)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from reviewer import guidance
from reviewer.schema import Result

VERDICT_LABEL = {
    "do-not-post": ("DO NOT POST", "bold white on red"),
    "revise": ("REVISE BEFORE POSTING", "bold black on yellow"),
    "ok": ("LOOKS FINE", "bold white on green"),
}
SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan"}
CONTEXT_CHARS = 40
# A pasted draft may carry terminal control sequences (ESC [2J clears the screen, OSC 8 makes
# hidden links); Rich passes ESC through, so draft-derived text is printed with C0/C1 controls
# shown as visible symbols (one character each: offsets into the snippet do not move).
_VISIBLE = {c: 0x2400 + c for c in range(32) if chr(c) not in "\t\n\r"}
_VISIBLE.update({0x7F: 0x2421, **{c: 0xFFFD for c in range(0x80, 0xA0)}})


def visible(s: str) -> str:
    return s.translate(_VISIBLE)


def _snippet(text: str, start: int, end: int) -> Text:
    """The quote in its sentence, marked >>like this<< (visible without colour too)."""
    lo = max(0, start - CONTEXT_CHARS)
    hi = min(len(text), end + CONTEXT_CHARS)
    out = Text("    ")
    out.append(("…" if lo > 0 else "") + visible(text[lo:start]).replace("\n", " "))
    out.append(">>" + visible(text[start:end]).replace("\n", " ") + "<<", style="bold reverse")
    out.append(visible(text[end:hi]).replace("\n", " ") + ("…" if hi < len(text) else ""))
    return out


def engines_line(result: Result) -> str:
    model = result.engines.get("model", "")
    ran = [name for name, status in result.engines.items() if status == "ok"]
    line = " + ".join(ran)
    if model != "ok":
        line = f"rules only: {model.removeprefix('unavailable: ')}" if ran == ["rules"] else (
            f"{line}; model: {model}")
    return line


def _photo(result: Result, console: Console) -> None:
    report = result.image
    where = "gives away where it was taken" if report.has_location else "has no location data"
    console.print(f"photo metadata: {where}", style="bold")
    for label, value in sorted(report.fields.items()):
        console.print(f"  {label:14} {escape(visible(value))}")
    if not report.fields:
        console.print("  (no metadata)", style="dim")
    console.print()


def render(result: Result, text: str, console: Console, show_guidance: bool = False) -> None:
    corpus = guidance.load()
    label, style = VERDICT_LABEL[result.verdict]
    header = Text(f" {label} ", style=style)
    header.append(f"  {len(result.findings)} finding(s)", style="bold")
    if result.id:
        header.append(f"  [{result.id}]")
    console.print(header)
    console.print(f"engines: {escape(engines_line(result))}", style="dim")
    console.print()
    for n, f in enumerate(result.findings, 1):
        para = corpus.get(f.paragraph)
        title = Text(f"{n}. ")
        title.append(f"[{f.severity.upper()}]", style=SEVERITY_STYLE[f.severity])
        title.append(f" {f.topic}", style="bold")
        title.append(f"  {f.rule}  ({f.agreement or f.source})", style="dim")
        console.print(title)
        if f.start is not None and f.end is not None:
            console.print(_snippet(text, f.start, f.end))
        elif f.quote:  # not in the draft's text, e.g. a photo's GPS tag
            console.print(f"    >>{escape(visible(f.quote))}<<")
        console.print(f"    {escape(visible(f.message))}")
        for p in f.pieces:
            console.print(f"      - {p.kind}: {escape(visible(p.quote))}", style="dim")
        console.print(f"    guidance {f.paragraph}: {escape(para.summary)}", style="cyan")
        console.print(f"    fix: {escape(f.suggestion)}", style="green")
        if f.evidence:
            console.print(f"    why: {escape(visible(f.evidence))}", style="dim")
        console.print()
    if result.image is not None:
        _photo(result, console)
    if show_guidance and result.guidance:
        console.print("relevant guidance:", style="bold")
        for hit in result.guidance:
            console.print(f"  {hit.paragraph:9} {hit.score:5.2f}  {escape(corpus.get(hit.paragraph).summary)}")
        console.print()
    if result.findings:
        check = result.rewrite_check
        console.print("safer version (identifiers replaced):", style="bold")
        console.print(Text(visible(result.redacted)))
        if result.rewrite is not None:
            console.print("model rewrite:", style="bold")
            console.print(Text(visible(result.rewrite)))
        status = "passes re-check" if check.clean else "still leaks: " + ", ".join(
            f"{r.rule}" + (f" '{r.quote}'" if r.quote else "") for r in check.remaining)
        console.print(f"re-check of the {check.target}: {escape(visible(status))}",
                      style="green" if check.clean else "yellow")
        if check.withheld:
            console.print(f"model rewrite withheld: {escape(check.withheld)}", style="dim")
