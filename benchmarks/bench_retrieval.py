"""Retrieval and semantic-engine speed: one-off costs and per-draft latency.

    python benchmarks/bench_retrieval.py [--quick] [--out benchmarks/out/retrieval.json]

Cold figures come from fresh processes (imports included): building the index with an
empty cache, then loading it from the cache. Warm figures are in-process medians over the
dev drafts after a warm-up: guidance retrieval per draft and the semantic engine per
draft. The machine's load average is recorded beside them: on a shared 2-core box the
numbers move a lot with it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

COLD = r"""
import json, time
t0 = time.perf_counter()
from reviewer.retrieval import store
t1 = time.perf_counter()
ix = store.load()
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "origin": ix.origin,
                  "build_s": ix.meta.get("build_seconds")}))
"""


def cold(cache: str) -> dict:
    env = dict(os.environ, REVIEWER_CACHE=cache)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True, env=env, timeout=900)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"cold run failed: {proc.stderr[-400:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = wall
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer drafts")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "retrieval.json")
    args = ap.parse_args(argv)

    report: dict = {"cpus": os.cpu_count(), "loadavg_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="reviewer-bench-cache-") as cache:
        report["cold_build"] = cold(cache)  # empty cache: import, load model, embed, write
        report["cold_from_cache"] = cold(cache)  # valid cache: import, load model, read

        os.environ["REVIEWER_CACHE"] = cache
        from reviewer.engines import create
        from reviewer.engines.base import Draft
        from reviewer.evaluate import load_labelled
        from reviewer.normalise import normalise
        from reviewer.retrieval import retrieve, store

        rows = load_labelled(HERE.parent / "tests" / "data" / "dev.jsonl")
        rows = rows[:40] if args.quick else rows
        ix = store.load()
        for r in rows[:5]:  # warm-up
            retrieve(r.item.text, ix=ix)
        lat = []
        for r in rows:
            t0 = time.perf_counter()
            retrieve(r.item.text, ix=ix)
            lat.append(time.perf_counter() - t0)
        engine = create("semantic")
        t0 = time.perf_counter()
        engine.load()
        engine_load = time.perf_counter() - t0
        sem = []
        for r in rows:
            draft = Draft(r.item.text, normalise(r.item.text), r.item.context(), [], r.item.text)
            t0 = time.perf_counter()
            out = engine.review(draft)
            sem.append(time.perf_counter() - t0)
        assert out.status == "ok", out.status

    report.update({
        "drafts": len(rows),
        "query_ms": {"p50": round(1000 * statistics.median(lat), 1), "p95": round(1000 * pct(lat, 0.95), 1)},
        "semantic_engine_load_s_after_index": round(engine_load, 3),
        "semantic_ms_per_draft": {"p50": round(1000 * statistics.median(sem), 1),
                                  "p95": round(1000 * pct(sem, 0.95), 1),
                                  "mean": round(1000 * statistics.mean(sem), 1)},
        "loadavg_after": os.getloadavg()[0],
    })
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
