"""In-process speed of the rules-only review: per-post latency, 100 KB worst case, growth.

Run pinned to one core (see stats.pinned_to_one_core); every figure is a median over
repeated rounds.
"""

from __future__ import annotations

import math
import statistics
import time

from stats import median_seconds, percentile

from reviewer.review import review


def _warm() -> None:
    review("warm-up: load the rule packs once before timing")


def post_latency(posts: list[str], rounds: int) -> dict:
    """Throughput and p50/p99 latency of `review()` on short posts; each round reviews every
    post once, the reported figures are the medians over rounds."""
    _warm()
    per_round = []
    for _ in range(rounds):
        lat = []
        t_round = time.perf_counter()
        for text in posts:
            t0 = time.perf_counter()
            review(text)
            lat.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - t_round
        per_round.append({"posts_per_s": len(posts) / elapsed, "p50_ms": percentile(lat, 50) * 1e3,
                          "p99_ms": percentile(lat, 99) * 1e3, "max_ms": max(lat) * 1e3})
    return {
        "posts": len(posts), "post_chars": len(posts[0]) if posts else 0, "rounds": rounds,
        **{k: statistics.median(r[k] for r in per_round) for k in per_round[0]},
    }


def worst_case(inputs: dict[str, str], repeats: int) -> dict:
    """Median review time of each adversarial input; the worst is the largest median."""
    _warm()
    cases = {}
    for name, text in inputs.items():
        cases[name] = {"chars": len(text), **median_seconds(lambda t=text: review(t), repeats)}
    worst = max(cases, key=lambda k: cases[k]["median_s"])
    return {"cases": cases, "worst": worst, "worst_median_s": cases[worst]["median_s"]}


def growth(texts: dict[int, str], repeats: int) -> dict:
    """Review time from 1 KB up to 1 MB. Linear means constant time per KB: we report the
    per-KB cost at the largest size over that at 16 KB (small sizes carry fixed overhead),
    and the log-log slope over sizes >= 16 KB (1.0 = linear, 2.0 = quadratic)."""
    _warm()
    rows = {}
    for size, text in sorted(texts.items()):
        m = median_seconds(lambda t=text: review(t), repeats)
        rows[size] = {**m, "us_per_kb": m["median_s"] / (size / 1024) * 1e6}
    sizes = sorted(rows)
    big = [s for s in sizes if s >= 16 * 1024] or sizes
    slope = None
    if len(big) >= 2:
        xs = [math.log(s) for s in big]
        ys = [math.log(max(rows[s]["median_s"], 1e-9)) for s in big]
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    base = big[0]
    per_kb_ratio = rows[sizes[-1]]["us_per_kb"] / rows[base]["us_per_kb"]
    return {
        "sizes": {str(s): r for s, r in rows.items()},
        "largest": sizes[-1], "per_kb_base": base,
        "time_ratio_largest_over_smallest": rows[sizes[-1]]["median_s"] / rows[sizes[0]]["median_s"],
        "size_ratio_largest_over_smallest": sizes[-1] / sizes[0],
        "per_kb_ratio_largest_over_base": per_kb_ratio,
        "loglog_slope": slope,
        "linear": bool(slope is not None and slope < 1.15 and per_kb_ratio < 1.5),
    }
