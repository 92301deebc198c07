"""UI load (issue 8): N concurrent sessions against a real `reviewer ui` on 127.0.0.1.

    python benchmarks/ui_load.py [--sessions 20] [--reviews 3] [--engines]

Each session has its own session hash and its own drafts (a patient name and ward number of
its own) and runs its reviews one after another, all sessions at once, through Gradio's
queue over plain HTTP (tests/helpers/ui_client.py: the calls the page itself makes). A
result counts as the session's own when the highlighted text rebuilds exactly the draft it
sent. Latency is click-to-final-result per review. Server RSS is the server process's
VmRSS before and after, and its VmHWM (peak). Writes benchmarks/out/ui_load.json; the
drafts are synthetic and are not written anywhere.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "helpers"))
from ui_client import Session, UiServer, shown_draft

OUT = HERE / "out" / "ui_load.json"
NAMES = ["Patel", "Okafor", "Nguyen", "Kowalski", "Murphy", "Haddad", "Lindqvist", "Fernandes",
         "Abbott", "Sato", "Brennan", "Moreau", "Achebe", "Novak", "Rossi", "Kaur", "Osei", "Dubois",
         "Hughes", "Petrov"]


def drafts(i: int, n: int) -> list[str]:
    name = NAMES[i % len(NAMES)]
    forms = [f"Saw Mrs {name} on ward {i + 1} today, she is 8{i % 10} and so frail.",
             f"Mrs {name} from ward {i + 1} went home today, NHS no 943 476 5919.",
             f"Lovely chat with Mrs {name} in bay {i + 1} this morning, call her on 07700 900{i:03d}."]
    return [forms[k % len(forms)] + ("" if k < len(forms) else f" (take {k})") for k in range(n)]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run_session(server: UiServer, i: int, reviews: int, start: threading.Barrier, timeout: float) -> dict:
    s = Session(server)
    out = {"latencies": [], "errors": [], "foreign": 0, "requests": 0}
    try:
        start.wait(120)
        for text in drafts(i, reviews):
            t0 = time.perf_counter()
            try:
                result = s.review(text, timeout=timeout)
            except Exception as exc:  # noqa: BLE001 - counted, never printed with draft text
                out["errors"].append(exc.__class__.__name__)
                continue
            out["latencies"].append(time.perf_counter() - t0)
            if shown_draft(result) != text:
                out["foreign"] += 1
    finally:
        out["requests"] = s.requests
        s.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--reviews", type=int, default=3, help="reviews per session, one after another")
    ap.add_argument("--server-arg", action="append", default=None,
                    help="argument for `reviewer ui` (default: --rules-only); repeatable")
    ap.add_argument("--engines", action="store_true",
                    help="start `reviewer ui` with its default engines (semantic + model) instead")
    ap.add_argument("--hang-guard", type=float, default=600.0, help="seconds before giving up")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    server_args = args.server_arg if args.server_arg is not None else ["--rules-only"]
    if args.engines:
        server_args = [a for a in server_args if a != "--rules-only"]

    with tempfile.TemporaryDirectory(prefix="ui-load-") as root:
        t_start = time.perf_counter()
        server = UiServer(Path(root), *server_args)
        startup_s = time.perf_counter() - t_start
        try:
            # First-request costs (and, with --engines, waiting for them to load) stay out of the figures.
            Session(server).call("on_review", ["Warm-up: lovely weather for the charity run.", "public",
                                               "unknown", "unknown", None, None], timeout=args.hang_guard)
            rss_before, _ = server.rss_kib()
            start = threading.Barrier(args.sessions)
            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.sessions) as pool:
                futures = [pool.submit(run_session, server, i, args.reviews, start, args.hang_guard)
                           for i in range(args.sessions)]
                _, pending = wait(futures, timeout=args.hang_guard)
            wall = time.perf_counter() - t0
            rss_after, rss_peak = server.rss_kib()
            runs = [f.result() for f in futures if f.done()]
        finally:
            log = server.stop()
    latencies = [x for r in runs for x in r["latencies"]]
    errors = [e for r in runs for e in r["errors"]]
    report = {
        "sessions": args.sessions,
        "reviews_per_session": args.reviews,
        "server_args": server_args,
        "reviews_completed": len(latencies),
        "requests": sum(r["requests"] for r in runs),
        "errors": len(errors) + len(pending) * args.reviews,
        "error_kinds": sorted(set(errors)) + (["hang-guard"] if pending else []),
        "foreign_results": sum(r["foreign"] for r in runs),
        "latency_s": {"p50": round(percentile(latencies, 0.5), 3), "p95": round(percentile(latencies, 0.95), 3),
                      "max": round(max(latencies), 3) if latencies else None,
                      "mean": round(statistics.fmean(latencies), 3) if latencies else None},
        "wall_s": round(wall, 2),
        "reviews_per_s": round(len(latencies) / wall, 2) if wall else None,
        "server_startup_s": round(startup_s, 1),
        "server_rss_mib": {"before": round(rss_before / 1024, 1), "after": round(rss_after / 1024, 1),
                           "peak": round(rss_peak / 1024, 1)},
        "egress_attempts": log.count("EGRESS"),
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return 0 if not report["errors"] and not report["foreign_results"] and not report["egress_attempts"] else 1


if __name__ == "__main__":
    sys.exit(main())
