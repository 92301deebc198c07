"""Render one run's figures as benchmarks/results.md (markdown tables, no draft text)."""

from __future__ import annotations

import json

SECTIONS = {  # part -> heading; the order of the file
    "presidio": "Identifier spans and topics: rules vs Presidio",
    "rules": "Rules-only speed: 280-character posts, one core",
    "worst": "Worst case: 100 KB inputs",
    "growth": "Growth: 1 KB to 1 MB",
    "coldstart": "Cold start: `reviewer check --rules-only`",
    "batch": "Batch memory: `reviewer batch --rules-only`",
    "ui": "UI memory: `reviewer ui`",
    "retrieval": "Retrieval",
    "model": "Model",
}


def _n(x, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        if abs(x) >= 100:
            return f"{x:,.0f}"
        return f"{x:.1f}" if abs(x) >= 10 else f"{x:.{digits}g}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def _ms(seconds) -> str:
    if seconds is None:
        return "–"
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_n(c) if not isinstance(c, str) else c for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _status(res: dict | None) -> str | None:
    """A one-line reason when a part has no figures, else None."""
    if res is None:
        return "Not run in this invocation (select it with `--only`)."
    if "skipped" in res:
        return f"Not measured: {res['skipped']}"
    if "error" in res:
        return f"Failed in this run: {res['error']}"
    return None


def _flatten(obj, prefix: str = "") -> list[tuple[str, object]]:
    if isinstance(obj, dict):
        out = []
        for k, v in obj.items():
            out += _flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(obj, list) and all(not isinstance(v, (dict, list)) for v in obj):
        return [(prefix, ", ".join(_n(v) for v in obj))]
    if isinstance(obj, list):
        return [(prefix, json.dumps(obj)[:120])]
    return [(prefix, obj)]


# ---------------------------------------------------------------- sections

def _presidio(r: dict) -> str:
    q = r["quality"]
    rows = []
    for split, d in q.items():
        for label, key in (("reviewer rules", "rules"), ("Presidio default", "presidio_default"),
                           ("Presidio tuned", "presidio_tuned")):
            s = d[key]
            rows.append([split, label, s["drafts"], s["spans"]["recall"], s["spans"]["precision"],
                         s["spans"]["f1"], s["confidentiality"]["f1"], s["clean_false_flag_rate"],
                         _n(s["macro_f1"]) if s["macro_f1"] is not None else "n/a"])
    sp = r["speed"]
    kinds_tbl = []
    allq = q.get("all") or next(iter(q.values()))
    kinds = sorted(set(allq["rules"]["span_recall_by_kind"]) | set(allq["presidio_default"]["span_recall_by_kind"]))
    for k in kinds:
        rk = allq["rules"]["span_recall_by_kind"].get(k, {})
        pk = allq["presidio_default"]["span_recall_by_kind"].get(k, {})
        kinds_tbl.append([k, rk.get("tp", 0) + rk.get("fn", 0), rk.get("recall"), pk.get("recall")])
    cfg = r["presidio_config"]
    return "\n\n".join([
        f"Same {r['drafts']} labelled drafts ({', '.join(f'{k}: {v}' for k, v in r['splits'].items())}), "
        "same process, same core. Spans match by overlap (reviewer/evaluate.py); "
        "a clean draft counts as flagged when anything is found. The topic column scores "
        "*confidentiality* only (Presidio has no other topics); macro-F1 is over all topics.",
        _table(["split", "engine", "drafts", "span recall", "span precision", "span F1",
                "confidentiality F1", "clean posts flagged", "macro-F1"], rows),
        _table(["engine", "posts/s (median of rounds)", "rounds"],
               [["reviewer rules", sp["rules"]["posts_per_s"], sp["rules"]["rounds"]],
                ["Presidio", sp["presidio"]["posts_per_s"], sp["presidio"]["rounds"]]])
        + f"\n\nRules are **{sp['rules_over_presidio']:.0f}×** faster than Presidio on the same drafts.",
        "Span recall by labelled kind (all drafts):\n\n"
        + _table(["kind", "labelled spans", "rules recall", "Presidio recall"], kinds_tbl),
        f"Presidio default: {cfg['default']}. Presidio tuned: {cfg['tuned']}. "
        f"spaCy model: {cfg['spacy_model']}; Presidio's own default NLP configuration otherwise "
        "(its default en_core_web_lg is not in the package registry). Entity types Presidio "
        "returned: " + ", ".join(f"{k} {v}" for k, v in r["presidio_entity_types"].items()) + ".",
    ])


def _gaps(r: dict) -> str:
    g = r.get("gaps") or {}
    if not g:
        return "No gap list in this run."
    return (f"Labelled identifier spans found by Presidio but missed by the rules: "
            f"**{g['presidio_only']}** ({', '.join(f'{k} {v}' for k, v in g['presidio_only_by_kind'].items()) or 'none'}). "
            f"Found by the rules but missed by Presidio: **{g['rules_only']}** "
            f"({', '.join(f'{k} {v}' for k, v in g['rules_only_by_kind'].items()) or 'none'}). "
            f"Of the first figure, {g.get('held_out_not_listed', 0)} are in the held-out test split "
            "and are counted, not listed (rules are not tuned on it). The tuning-split cases "
            "(draft ids, offsets, kinds and Presidio types, no text) are in "
            "`benchmarks/out/presidio_gaps.json`:\n\n"
            + _table(["kind", "dev drafts where Presidio finds it and the rules do not (first 12)"],
                     [[k, _first_ids(g["cases"], k)] for k in g["presidio_only_by_kind"]
                      if _first_ids(g["cases"], k)]))


def _first_ids(cases: list[dict], kind: str, n: int = 12) -> str:
    ids = list(dict.fromkeys(c["id"] for c in cases if c["kind"] == kind))
    return ", ".join(ids[:n]) + (f" (+{len(ids) - n})" if len(ids) > n else "")


def _rules(r: dict) -> str:
    return (_table(["posts", "chars/post", "rounds", "posts/s", "p50", "p99", "max"],
                   [[r["posts"], r["post_chars"], r["rounds"], r["posts_per_s"], f"{r['p50_ms']:.2f} ms",
                     f"{r['p99_ms']:.2f} ms", f"{r['max_ms']:.2f} ms"]])
            + "\n\nWindows of the labelled drafts, reviewed in-process with `review()` "
              "(rules only); medians over rounds.")


def _worst(r: dict) -> str:
    rows = [[name, c["chars"], _ms(c["median_s"]), _ms(c["max_s"])] for name, c in r["cases"].items()]
    return (_table(["input", "chars", "median", "slowest repeat"], rows)
            + f"\n\nWorst: **{r['worst']}**, {_ms(r['worst_median_s'])} (median of "
              f"{next(iter(r['cases'].values()))['repeats']} runs).")


def _growth(r: dict) -> str:
    rows = [[_n(int(s) // 1024) + " KB", _ms(v["median_s"]), f"{v['us_per_kb']:.0f} µs"]
            for s, v in r["sizes"].items()]
    return (_table(["size", "median time", "time per KB"], rows)
            + f"\n\nTime ratio largest/smallest **{r['time_ratio_largest_over_smallest']:.0f}×** for a "
              f"{r['size_ratio_largest_over_smallest']:.0f}× larger input; per-KB cost at "
              f"{int(r['largest']) // 1024} KB over that at {int(r['per_kb_base']) // 1024} KB: "
              f"**{r['per_kb_ratio_largest_over_base']:.2f}**; log-log slope over sizes ≥ "
              f"{int(r['per_kb_base']) // 1024} KB: **{_n(r['loglog_slope'])}** (1.0 = linear). "
              f"Linear: **{_n(r['linear'])}**.")


def _coldstart(r: dict) -> str:
    return _table(["command", "runs", "median", "min", "max", "bare `python -c pass`", "peak RSS"],
                  [[f"`{r['command']}`", r["runs"], _ms(r["median_s"]), _ms(r["min_s"]), _ms(r["max_s"]),
                    _ms(r["python_bare_median_s"]), f"{r['peak_rss_mib']:.0f} MiB"]])


def _batch(r: dict) -> str:
    rows = [[v["lines"], f"{v['peak_rss_mib']:.1f} MiB", v["lines_per_s"], f"{v['seconds']:.1f} s"]
            for v in r["runs"].values()]
    return (_table(["JSONL lines", "peak RSS", "lines/s", "wall time"], rows)
            + f"\n\nPeak RSS ratio for {r['line_ratio']:.0f}× the lines: "
              f"**{r['rss_ratio_largest_over_smallest']:.2f}** (flat: **{_n(r['flat'])}**). Input "
              "generated from the labelled drafts into a temporary directory, output discarded; "
              "peak RSS is that child's VmHWM (its own high-water mark).")


def _ui(r: dict) -> str:
    rows = [[f"`reviewer ui {'--rules-only' if k == '--rules-only' else ''}`".replace(" `", "`"),
             v["starts"], _ms(v["ready_median_s"]), _ms(v["settled_median_s"]),
             f"{v['peak_rss_mib']:.0f} MiB", f"{v['peak_rss_max_mib']:.0f} MiB"]
            for k, v in r["variants"].items()]
    return (_table(["command", "starts", "page answers (median)", "RSS settled (median)",
                    "peak RSS (median)", "peak RSS (max)"], rows)
            + f"\n\nBound to 127.0.0.1 on a free port. After the page answers, RSS (process and "
              f"children) is sampled until it has not grown for {r['quiet_s']:.0f} s, so "
              "engines the page warms in the background are included.")


def _external(r: dict) -> str:
    rows = [[f"`{k}`", v] for k, v in _flatten({k: v for k, v in r.items()
                                                 if k not in ("part_seconds", "pinned_core")})]
    return _table(["figure", "value"], rows[:60])


RENDER = {"presidio": _presidio, "rules": _rules, "worst": _worst, "growth": _growth,
          "coldstart": _coldstart, "batch": _batch, "ui": _ui, "retrieval": _external,
          "model": _external}


# ---------------------------------------------------------------- summary

def _summary(res: dict) -> str:
    rows: list[list] = []

    def ok(part):
        return res.get(part) if _status(res.get(part)) is None else None

    if p := ok("presidio"):
        q = p["quality"]
        for split in [s for s in q if s != "all"]:
            rows.append([f"Rules macro-F1 ({split})", _n(q[split]["rules"]["macro_f1"])])
        allq = q.get("all") or next(iter(q.values()))
        for label, key in (("rules", "rules"), ("Presidio", "presidio_default")):
            s = allq[key]
            rows.append([f"Span recall / precision, {label}",
                         f"{_n(s['spans']['recall'])} / {_n(s['spans']['precision'])}"])
            rows.append([f"Clean posts flagged, {label}", _n(s["clean_false_flag_rate"])])
        rows.append(["Posts/s, rules vs Presidio (same run, one core)",
                     f"{_n(p['speed']['rules']['posts_per_s'])} vs {_n(p['speed']['presidio']['posts_per_s'])}"])
    else:
        rows.append(["Rules vs Presidio", "not measured in this run"])
    rows.append(["Model / union macro-F1", _model_f1(res.get("model"))])
    if r := ok("rules"):
        rows.append(["Rules throughput, 280-char posts, one core",
                     f"{_n(r['posts_per_s'])} posts/s, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms"])
    if r := ok("worst"):
        rows.append(["Worst case, 100 KB input", f"{_ms(r['worst_median_s'])} ({r['worst']})"])
    if r := ok("growth"):
        rows.append([f"Growth 1 KB → {int(r['largest']) // 1024} KB",
                     f"per-KB cost ratio {r['per_kb_ratio_largest_over_base']:.2f}, "
                     f"slope {_n(r['loglog_slope'])} (linear: {_n(r['linear'])})"])
    if r := ok("coldstart"):
        rows.append(["Cold start, `reviewer check --rules-only`", _ms(r["median_s"])])
    if r := ok("batch"):
        runs = list(r["runs"].values())
        rows.append([f"Batch peak RSS, {_n(runs[0]['lines'])} vs {_n(runs[-1]['lines'])} lines",
                     f"{runs[0]['peak_rss_mib']:.0f} vs {runs[-1]['peak_rss_mib']:.0f} MiB "
                     f"(ratio {r['rss_ratio_largest_over_smallest']:.2f})"])
    for part, label in (("ui", "UI peak RSS"), ("retrieval", "Retrieval"), ("model", "Model speed")):
        r = res.get(part)
        if _status(r) is not None:
            rows.append([label, "not yet measured" if r is None or "skipped" in r else "failed, see below"])
        elif part == "ui":
            rows.append([label, ", ".join(f"{v['peak_rss_mib']:.0f} MiB ({k})"
                                          for k, v in r["variants"].items())])
        else:
            rows.append([label, f"see the {label.split()[0]} section"])
    return _table(["figure", "value"], rows)


def _model_f1(r: dict | None) -> str:
    if not r or _status(r) is not None:
        return "not yet measured"
    ev = r.get("eval") or {}
    f1 = ev.get("macro_f1") or {}
    if not f1:
        return "not reported by bench_model.py"
    return (f"rules {f1.get('rules', 0):.3f} / model {f1.get('model', 0):.3f} / union "
            f"{f1.get('union', 0):.3f} on {ev.get('drafts', '?')} dev drafts (bundled model; "
            f"rewrites offered {ev.get('rewrites_offered', 0)} of {ev.get('rewrites_asked', 0)})")


def render(info: dict, results: dict[str, dict]) -> str:
    libs = ", ".join(f"{k} {v}" for k, v in info["libraries"].items() if v != "not installed")
    out = [
        "# Benchmark results",
        f"Produced by `python benchmarks/run.py{' --quick' if info['quick'] else ''}` on "
        f"{info['date']}; raw figures in `benchmarks/out/*.json` (not committed). "
        "Timings are medians over repeated runs; ratios are of medians.",
        "## Machine",
        _table(["", ""], [
            ["CPU", info["cpu"]], ["cores", info["cores"]], ["RAM", f"{info['ram_gib']} GiB"],
            ["OS", info["os"]], ["Python", info["python"]],
            ["load average (start → end)",
             f"{', '.join(map(str, info['load_average_start']))} → "
             f"{', '.join(map(str, info.get('load_average_end', [])))}"],
            ["labelled drafts", ", ".join(f"{k}: {v}" for k, v in info["drafts"].items())],
            ["libraries", libs],
        ]),
        "## Summary",
        _summary(results),
    ]
    loads = info["load_average_start"][:1] + info.get("load_average_end", [])[:1]
    if loads and info["cores"] and max(loads) > info["cores"]:
        out.insert(out.index("## Summary"),
                   f"Note: the machine was shared with other work during this run (1-minute load "
                   f"average up to {max(loads):.1f} on {info['cores']} cores), so absolute timings "
                   "are pessimistic; the ratios (rules vs Presidio in alternating rounds, growth, "
                   "memory) are the robust figures.")
    for part in SECTIONS:
        out.append(f"## {SECTIONS[part]}")
        res = results.get(part)
        status = _status(res)
        out.append(status if status else RENDER[part](res))
        if part == "presidio":
            out.append("## Presidio gaps")
            out.append(status if status else _gaps(res))
    out += ["## How to reproduce",
            "```\npip install -e '.[bench]'     # Presidio + a spaCy English model from the registry\n"
            "python benchmarks/run.py       # or --quick, or --only rules,presidio\n```"]
    return "\n\n".join(out) + "\n"
