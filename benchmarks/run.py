"""Run every benchmark and write benchmarks/results.md (+ benchmarks/out/<part>.json).

    python benchmarks/run.py                      # everything (~15 min on 2 cores, + the model)
    python benchmarks/run.py --quick              # smaller inputs, fewer repeats
    python benchmarks/run.py --only rules,presidio

Timings are medians (or ratios of medians) over repeated runs. In-process parts and the
`reviewer` subprocesses they start are pinned to one core; the UI, model and retrieval
parts run unpinned. No draft text is written anywhere but a temporary directory that is
deleted when its part ends.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

import drafts
import external
import machine
import processes
import report
import speed
from stats import pinned_to_one_core, rounded

HERE = Path(__file__).resolve().parent
KB = 1024


def part_rules(splits, opts):
    text = drafts.corpus(_all(splits))
    posts = drafts.posts(text, 200 if opts.quick else 2000)
    return speed.post_latency(posts, rounds=3 if opts.quick else 5)


def part_worst(splits, opts):
    size = (20 if opts.quick else 100) * KB
    inputs = {"drafts": drafts.sized(drafts.corpus(_all(splits)), size), **drafts.adversarial(size)}
    return speed.worst_case(inputs, repeats=3 if opts.quick else 5)


def part_growth(splits, opts):
    sizes = [KB, 4 * KB, 16 * KB, 64 * KB] + ([] if opts.quick else [256 * KB, 1024 * KB])
    text = drafts.corpus(_all(splits))
    return speed.growth({s: drafts.sized(text, s) for s in sizes}, repeats=3 if opts.quick else 5)


def part_coldstart(splits, opts):
    return processes.cold_start(runs=3 if opts.quick else 10)


def part_batch(splits, opts):
    return processes.batch_memory(_all(splits), (100, 1000) if opts.quick else (10_000, 100_000))


def part_ui(splits, opts):
    return processes.ui_memory(starts=2 if opts.quick else 3, quiet=3 if opts.quick else 20)


def part_presidio(splits, opts):
    import presidio_compare

    if opts.quick:
        splits = {k: v[:40] for k, v in splits.items()}
    return presidio_compare.compare(splits, rounds=3 if opts.quick else 5)


def part_retrieval(splits, opts):
    return external.run("retrieval", opts.quick, timeout=opts.external_timeout)


def part_model(splits, opts):
    return external.run("model", opts.quick, timeout=opts.external_timeout)


# name -> (function, pinned to one core?)
PARTS = {
    "rules": (part_rules, True),
    "worst": (part_worst, True),
    "growth": (part_growth, True),
    "coldstart": (part_coldstart, True),
    "batch": (part_batch, True),
    "presidio": (part_presidio, True),
    "ui": (part_ui, False),
    "retrieval": (part_retrieval, False),
    "model": (part_model, False),
}


EXTERNAL = ("retrieval", "model")  # parts whose scripts write benchmarks/out/<part>.json themselves


def _all(splits):
    return [r for rows in splits.values() for r in rows]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run the reviewer's benchmarks.")
    ap.add_argument("--quick", action="store_true", help="smaller inputs and fewer repeats")
    ap.add_argument("--only", default="", help=f"comma-separated parts: {','.join(PARTS)}")
    ap.add_argument("--data", type=Path, nargs="*", default=list(drafts.DEFAULT_DATA),
                    help="labelled JSONL files (default: tests/data/dev.jsonl test.jsonl)")
    ap.add_argument("--results", type=Path, default=HERE / "results.md")
    ap.add_argument("--out-dir", type=Path, default=HERE / "out")
    ap.add_argument("--external-timeout", type=float, default=3600,
                    help="seconds allowed to each of bench_model.py / bench_retrieval.py")
    ap.add_argument("--render-only", action="store_true",
                    help="rewrite results.md from the last run's out/*.json without measuring")
    args = ap.parse_args(argv)
    if args.render_only:
        info = json.loads((args.out_dir / "machine.json").read_text())
        results = {name: json.loads((args.out_dir / f"{name}.json").read_text())
                   for name in PARTS if (args.out_dir / f"{name}.json").exists()}
        gaps = args.out_dir / "presidio_gaps.json"  # presidio_compare.write keeps the cases apart
        if "presidio" in results and gaps.exists():
            results["presidio"]["gaps"] = json.loads(gaps.read_text())
        args.results.write_text(report.render(info, results), encoding="utf-8")
        print(f"[bench] rendered {args.results} from {args.out_dir}", file=sys.stderr)
        return 0

    selected = [p.strip() for p in args.only.split(",") if p.strip()] or list(PARTS)
    unknown = [p for p in selected if p not in PARTS]
    if unknown:
        ap.error(f"unknown part(s) {', '.join(unknown)}; known: {', '.join(PARTS)}")
    splits = drafts.load(args.data)
    if not splits:
        ap.error("no labelled drafts found (see --data)")

    info = machine.describe()
    info["quick"] = args.quick
    info["drafts"] = {k: len(v) for k, v in splits.items()}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    for name in selected:
        fn, pin = PARTS[name]
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            if pin:
                with pinned_to_one_core() as core:
                    res = fn(splits, args)
                res.setdefault("pinned_core", core)
            else:
                res = fn(splits, args)
        except Exception as exc:  # noqa: BLE001 - one failing part must not lose the others
            traceback.print_exc()
            res = {"error": f"{exc.__class__.__name__}: {exc}"}
        res["part_seconds"] = time.perf_counter() - t0
        results[name] = res
        if name == "presidio" and "skipped" not in res and "error" not in res:
            import presidio_compare

            presidio_compare.write(res, args.out_dir)
        elif name in EXTERNAL and ("skipped" in res or "error" in res):
            pass  # keep the figures the part's own script last wrote there
        else:
            (args.out_dir / f"{name}.json").write_text(json.dumps(rounded(res), indent=1) + "\n")
        print(f"[bench] {name} done in {res['part_seconds']:.1f} s", file=sys.stderr, flush=True)
    info["load_average_end"] = machine.load_average()
    (args.out_dir / "machine.json").write_text(json.dumps(info, indent=1) + "\n")
    args.results.write_text(report.render(info, results), encoding="utf-8")
    print(f"[bench] wrote {args.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
