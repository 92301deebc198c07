"""Model engine figures: load time, time to first token / first finding, tokens/s against raw
llama-cpp-python on the same prompt and model, repeat-review speed-up from the cached
static prefix, peak RSS. Writes benchmarks/out/model.json (or --out FILE).

    python benchmarks/bench_model.py [--quick] [--threads 1,2] [--model PATH.gguf]

Drafts come from tests/data/dev.jsonl and stay in memory. Generation is capped at
--max-tokens for every measurement so the runs compare like with like. Speed depends on
other load on the machine: the load average is recorded before and after.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import machine

from reviewer.engines.model import output, prompts
from reviewer.engines.model.backends.llama_worker import Worker
from reviewer.engines.model.config import Settings
from reviewer.engines.model.engine import ModelEngine
from reviewer.evaluate import load_labelled
from reviewer.review import review


def median(xs):
    xs = [x for x in xs if x is not None]
    return round(statistics.median(xs), 4) if xs else None


def gen_rate(g) -> float | None:
    """Generation tokens/s, after the first token (prompt evaluation excluded)."""
    if g is None or g.first_token_s is None or g.completion_tokens < 2:
        return None
    return (g.completion_tokens - 1) / max(1e-6, g.seconds - g.first_token_s)


def engine_runs(texts, settings: Settings) -> dict:
    eng = ModelEngine(settings, similarity=None)
    t0 = time.perf_counter()
    info = eng.load()
    cold = time.perf_counter() - t0
    rows = []
    try:
        # Untimed warm-up: the first review also evaluates and saves the static prefix.
        review(texts[0], engines=[eng])
        for text in texts:
            t = time.perf_counter()
            result = review(text, engines=[eng])
            g = eng.last.get("review")
            rows.append({
                "status": result.engines["model"], "seconds": time.perf_counter() - t,
                "first_token_s": eng.last.get("first_token_s"),
                "first_finding_s": eng.last.get("first_finding_s"),
                "prompt_tokens": g.prompt_tokens if g else None,
                "cached_tokens": g.cached_tokens if g else None,
                "completion_tokens": g.completion_tokens if g else None,
                "gen_tokens_per_s": gen_rate(g),
                "valid_findings": sum(f.source == "model" or "model" in f.found_by for f in result.findings),
                "dropped": result.dropped,
            })
    finally:
        eng.close()
    return {"cold_start_s": round(cold, 3), "load_s": info.get("load_s"),
            "worker_peak_rss_mb": eng.backend.info.get("peak_rss_mb"), "runs": rows}


def raw_runs(texts, settings: Settings) -> dict:
    """The same prompts through llama-cpp-python directly, in this process."""
    from llama_cpp import LlamaGrammar

    from reviewer.engines.base import Draft  # noqa: F401 - review() builds the drafts
    w = Worker(send=lambda obj: None)
    t0 = time.perf_counter()
    w.load({"path": str(settings.model_path()), "n_ctx": settings.n_ctx,
            "threads": settings.effective_threads()})
    load = time.perf_counter() - t0
    grammar = LlamaGrammar.from_json_schema(json.dumps(output.review_schema()), verbose=False)
    rows = []
    drafts = []

    class Capture:
        """Keeps the Draft the pipeline builds, so the raw run sees the engine's exact prompt."""

        name = "model"

        def review(self, draft):
            from reviewer.engines.base import EngineOutput
            drafts.append(draft)
            return EngineOutput()

    for text in texts:
        review(text, engines=[Capture()])
        msgs = prompts.review_messages(drafts[-1])
        tokens, _, stop = w._tokens(msgs.messages, msgs.static_chars)
        for label, g in (("grammar", grammar), ("free", None)):
            w.llm.reset()
            t = time.perf_counter()
            first = None
            n = 0
            for chunk in w.llm.create_completion(prompt=tokens, max_tokens=settings.max_tokens,
                                                 temperature=0.0, stop=stop, stream=True, grammar=g,
                                                 repeat_penalty=1.0):
                if chunk["choices"][0].get("text") and first is None:
                    first = time.perf_counter() - t
                n += 1
            total = time.perf_counter() - t
            rows.append({"mode": label, "first_token_s": first, "completion_tokens": n,
                         "gen_tokens_per_s": (n - 1) / max(1e-6, total - first) if first and n > 1 else None})
    return {"load_s": round(load, 3), "runs": rows}


def eval_subset(rows, settings: Settings) -> dict:
    """reviewer eval on the first dev drafts with the full engine (rewrite, all gates)."""
    from reviewer.engines.model.engine import embedding_similarity
    from reviewer.evaluate import evaluate

    eng = ModelEngine(settings, similarity=embedding_similarity())
    seen = {"drafts": 0, "asked": 0, "offered": 0, "dropped": {}, "withheld": {}, "statuses": {}}

    def review_one(item):
        result = review(item.text, item.context(), id=str(item.id), engines=[eng])
        seen["drafts"] += 1
        status = result.engines["model"]
        seen["statuses"][status] = seen["statuses"].get(status, 0) + 1
        for k, v in result.dropped.items():
            seen["dropped"][k] = seen["dropped"].get(k, 0) + v
        if "rewrite" in eng.last or result.rewrite_check.withheld:
            seen["asked"] += 1
            seen["offered"] += result.rewrite is not None
        return result

    try:
        t = time.perf_counter()
        report = evaluate(rows, review_one, engines=("rules", "model"))
        seconds = time.perf_counter() - t
    finally:
        eng.close()
    return {
        "drafts": len(rows), "seconds_per_draft": round(seconds / max(1, len(rows)), 2),
        "macro_f1": {"rules": report["engines"]["rules"]["macro_f1"],
                     "model": report["engines"]["model"]["macro_f1"],
                     "union": report["union"]["macro_f1"]},
        "clean_false_flag_rate": report["clean"]["false_flag_rate"],
        "rewrites_asked": seen["asked"], "rewrites_offered": seen["offered"],
        "rewrite_acceptance_rate": round(seen["offered"] / seen["asked"], 3) if seen["asked"] else None,
        "dropped": seen["dropped"], "statuses": seen["statuses"],
    }


def summarise(runs: list[dict]) -> dict:
    return {k: median([r.get(k) for r in runs]) for k in
            ("seconds", "first_token_s", "first_finding_s", "gen_tokens_per_s", "prompt_tokens",
             "cached_tokens", "completion_tokens")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer drafts")
    ap.add_argument("--threads", default="", help="comma-separated thread counts (default: physical cores)")
    ap.add_argument("--model", default="default", help="'default' or PATH.gguf")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--drafts", type=int, default=0, help="number of dev drafts (default 3 quick, 6 full)")
    ap.add_argument("--eval-drafts", type=int, default=-1,
                    help="also score the first N dev drafts with the full engine (default 0 quick, 40 full)")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "model.json")
    args = ap.parse_args(argv)

    rows = load_labelled(HERE.parent / "tests" / "data" / "dev.jsonl")
    n = args.drafts or (3 if args.quick else 6)
    # A mix: drafts with labelled problems and clean ones, in file order (deterministic).
    flagged = [r.item.text for r in rows if r.topics][: (n + 1) // 2]
    clean = [r.item.text for r in rows if not r.topics][: n // 2]
    texts = [t for pair in zip(flagged, clean + [None] * len(flagged)) for t in pair if t][:n]

    base = Settings(model=args.model, timeout=900, max_tokens=args.max_tokens, rewrite=False)
    thread_counts = [int(t) for t in args.threads.split(",") if t.strip()] or [base.effective_threads()]
    report = {"machine": machine.describe(), "load_average_before": machine.load_average(),
              "model": str(base.model_path()), "prompts": prompts.versions(), "drafts": len(texts),
              "max_tokens": args.max_tokens, "by_threads": {}}
    for threads in thread_counts:
        s = Settings(**{**base.__dict__, "threads": threads})
        cached = engine_runs(texts, s)
        uncached = engine_runs(texts, Settings(**{**s.__dict__, "prefix_cache": False}))
        raw = raw_runs(texts, s)
        full = engine_runs(texts[:2], Settings(**{**s.__dict__, "rewrite": True}))
        c, u = summarise(cached["runs"]), summarise(uncached["runs"])
        raw_grammar = median([r["gen_tokens_per_s"] for r in raw["runs"] if r["mode"] == "grammar"])
        raw_free = median([r["gen_tokens_per_s"] for r in raw["runs"] if r["mode"] == "free"])
        report["by_threads"][str(threads)] = {
            "model_load_s": cached["load_s"], "worker_cold_start_s": cached["cold_start_s"],
            "findings_only": {"prefix_cache": c, "no_prefix_cache": u},
            "repeat_review_speedup": {
                "first_token": round(u["first_token_s"] / c["first_token_s"], 2)
                if c["first_token_s"] and u["first_token_s"] else None,
                "whole_review": round(u["seconds"] / c["seconds"], 2) if c["seconds"] and u["seconds"] else None,
            },
            "raw_llama_cpp": {"gen_tokens_per_s_grammar": raw_grammar, "gen_tokens_per_s_free": raw_free,
                              "first_token_s_grammar": median([r["first_token_s"] for r in raw["runs"]
                                                               if r["mode"] == "grammar"])},
            "tokens_per_s_ratio_vs_raw": round(c["gen_tokens_per_s"] / raw_grammar, 3)
            if c["gen_tokens_per_s"] and raw_grammar else None,
            "with_rewrite_seconds_per_draft": summarise(full["runs"])["seconds"],
            "worker_peak_rss_mb": max(filter(None, [cached["worker_peak_rss_mb"],
                                                    uncached["worker_peak_rss_mb"]]), default=None),
            "statuses": sorted({r["status"] for r in cached["runs"] + uncached["runs"]}),
            "valid_model_findings": sum(r["valid_findings"] for r in cached["runs"]),
            "dropped": _sum_dropped(cached["runs"]),
        }
        _write(args.out, report)  # partial results survive an interrupted run
    n_eval = args.eval_drafts if args.eval_drafts >= 0 else (0 if args.quick else 40)
    if n_eval:
        s = Settings(**{**base.__dict__, "threads": thread_counts[0], "rewrite": True,
                        "max_tokens": Settings().max_tokens})
        report["eval"] = eval_subset(rows[:n_eval], s)
    report["bench_process_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    report["load_average_after"] = machine.load_average()
    _write(args.out, report)
    print(json.dumps(report))
    return 0


def _write(path: Path, report: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1), encoding="utf-8")


def _sum_dropped(runs) -> dict:
    total: dict[str, int] = {}
    for r in runs:
        for k, v in r["dropped"].items():
            total[k] = total.get(k, 0) + v
    return total


if __name__ == "__main__":
    sys.exit(main())
