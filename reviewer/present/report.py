"""Terminal table for `reviewer eval`."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from reviewer.schema import TOPICS


def render_eval(report: dict, console: Console, rows=None) -> None:
    engines = list(report["engines"]) + ["union"]
    table = Table(title=f"{report['drafts']} drafts from {report.get('data', '?')}")
    table.add_column("topic")
    for e in engines:
        table.add_column(f"{e} P/R/F1", justify="right")
    for t in TOPICS:
        cells = []
        for e in engines:
            s = (report["union"] if e == "union" else report["engines"][e])["topics"][t]
            cells.append(f"{s['precision']:.2f}/{s['recall']:.2f}/{s['f1']:.2f}")
        table.add_row(t, *cells)
    table.add_row("macro-F1", *[
        f"{(report['union'] if e == 'union' else report['engines'][e])['macro_f1']:.3f}" for e in engines])
    console.print(table)
    sp = report["spans"]
    console.print(f"identifier spans: recall {sp['recall']:.3f}  precision {sp['precision']:.3f}  "
                  f"(tp {sp['tp']}, fp {sp['fp']}, fn {sp['fn']})")
    cl = report["clean"]
    by_engine = cl.get("flagged_by_engine", {})
    each = "; ".join(f"{e} alone {n}/{cl['drafts']}" for e, n in by_engine.items()) if len(by_engine) > 1 else ""
    console.print(f"clean drafts flagged: {cl['flagged']}/{cl['drafts']} "
                  f"(false-flag rate {cl['false_flag_rate']:.3f})" + (f"; {each}" if each else ""))
    rc = report["rewrite_check"]
    console.print(f"redaction/rewrite re-check pass rate: {rc['pass_rate']:.3f} ({rc['clean']}/{rc['checked']}); "
                  f"no confidentiality finding left: {rc['no_confidentiality_left_rate']:.3f}")
    un = report["union"]
    console.print("most frequent misses: " + ", ".join(
        f"{t} x{v['count']} ({' '.join(v['ids'][:5])})" for t, v in un["top_misses"].items()))
    console.print("most frequent false alarms: " + ", ".join(
        f"{t} x{v['count']} ({' '.join(v['ids'][:5])})" for t, v in un["top_false_alarms"].items()))
    if rows is not None:
        wanted = {i for v in un["top_misses"].values() for i in v["ids"]} | {
            i for v in un["top_false_alarms"].values() for i in v["ids"]}
        for row in rows:
            if str(row.item.id) in wanted:
                console.print(f"[{row.item.id}] {row.item.text}", markup=False, style="dim")
