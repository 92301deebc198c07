"""Soak (issue 8): 10,000 sequential in-process reviews; resident memory must stay flat.

    python benchmarks/soak.py [--reviews 10000] [--max-growth-mib 20]

Drafts are the dev set's texts, each made unique with a counter so that nothing keyed by
text (a cache) can hide a leak. RSS is VmRSS from /proc/self/status (no psutil needed),
read after gc.collect() once after a warm-up of 200 reviews and then every 1,000. Exit 1 if
the growth after warm-up exceeds --max-growth-mib. Writes benchmarks/out/soak.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

from reviewer.review import review
from reviewer.schema import ReviewContext

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out" / "soak.json"
WARM_UP = 200


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def drafts() -> list[tuple[str, ReviewContext]]:
    rows = []
    with (ROOT / "tests" / "data" / "dev.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            ctx = ReviewContext(audience=item.get("audience", "public"),
                                as_doctor=item.get("as_doctor"), named=item.get("named"))
            rows.append((item["text"], ctx))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reviews", type=int, default=10_000)
    ap.add_argument("--max-growth-mib", type=float, default=20.0)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    pool = drafts()
    start_kib = rss_kib()
    samples = []
    findings = 0
    t0 = time.perf_counter()
    base_kib = None
    for i in range(args.reviews):
        text, ctx = pool[i % len(pool)]
        result = review(f"{text} #{i}", ctx, id=str(i))
        findings += len(result.findings)
        done = i + 1
        if done == WARM_UP or (done % 1000 == 0) or done == args.reviews:
            gc.collect()
            kib = rss_kib()
            base_kib = base_kib if base_kib is not None else kib
            samples.append({"reviews": done, "rss_mib": round(kib / 1024, 2),
                            "seconds": round(time.perf_counter() - t0, 2)})
            print(f"{done:>6} reviews  RSS {kib / 1024:7.1f} MiB  {time.perf_counter() - t0:6.1f} s",
                  file=sys.stderr, flush=True)
    end_kib = samples[-1]["rss_mib"] * 1024
    growth_mib = (end_kib - base_kib) / 1024
    report = {
        "reviews": args.reviews, "distinct_drafts": len(pool), "findings": findings,
        "rss_before_mib": round(start_kib / 1024, 2),
        "rss_after_warm_up_mib": round(base_kib / 1024, 2),
        "rss_end_mib": samples[-1]["rss_mib"],
        "growth_after_warm_up_mib": round(growth_mib, 2),
        "growth_per_1000_reviews_kib": round((end_kib - base_kib) / max(1, (args.reviews - WARM_UP) / 1000), 1),
        "seconds": samples[-1]["seconds"],
        "samples": samples,
        "max_growth_mib": args.max_growth_mib,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"{args.reviews:,} reviews in {report['seconds']} s; RSS {report['rss_after_warm_up_mib']} MiB "
          f"after warm-up -> {report['rss_end_mib']} MiB at the end: growth {growth_mib:+.2f} MiB")
    print(f"wrote {args.out}")
    return 1 if growth_mib > args.max_growth_mib else 0


if __name__ == "__main__":
    sys.exit(main())
