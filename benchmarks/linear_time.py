"""Linear-time check (issue 8): every rule and every recogniser on adversarial inputs of
10 KB, 100 KB and 1 MB; fails (exit 1) if any grows faster than linearly.

    python benchmarks/linear_time.py                 # writes benchmarks/out/linear_time.json
    python benchmarks/linear_time.py --bound 15 --sizes 10000,100000,1000000

For each unit the time at a size is its worst case over the adversarial inputs (repeated
digits and separators, letter-spaced text, identifier and cue floods, rule examples pasted
end to end, near-miss identifiers, emoji, homoglyphs, one long word...). Growth ratio =
time(next size) / time(size); linear is ~10 per step. A unit fails when a ratio exceeds the
bound *and* it takes more than --min-seconds at the larger size (sub-millisecond timings
are noise, not complexity). Times are CPU seconds of this process (time.process_time), so
other load on the machine does not distort the ratios.

Rules are timed on their own work: the per-draft recogniser scan they share is computed
first (recognisers are timed separately), then the rule's matching, its `requires`/`unless`
conditions and building its findings, as reviewer.engines.rules.run does for one rule.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

from reviewer import rulepacks  # noqa: E402
from reviewer.engines import rules as engine  # noqa: E402
from reviewer.normalise import normalise  # noqa: E402
from reviewer.recognisers import registry  # noqa: E402
from reviewer.review import review  # noqa: E402
from reviewer.schema import ReviewContext  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "linear_time.json"


def adversarial_seeds(ruleset: rulepacks.RuleSet) -> dict[str, str]:
    """Short seeds, each repeated up to the target size."""
    examples = []
    for rule in ruleset.rules:
        examples += [e.text for e in rule.spec.examples.fire]
    for spec in rulepacks.recogniser_specs():
        examples += [e.text for e in spec.examples.fire]
    cues = [c for phrases in ruleset.cues.values() for c in phrases]
    return {
        "digits": "1 ",
        "digit-separators": "9-9.9 9/9 (9) ",
        "letter-spaced": "a ",
        "letter-spaced-dots": "N.H.S. ",
        "identifier-flood": "Mrs Patel (82) bed 4 Ward 9 NHS no 943 476 5919 07700 900123 "
                            "jo@example.com 12/03/2024 3pm 51.5074, -0.1278 @drjones ",
        "near-miss-numbers": "NHS no 943 476 591 +44 20 7946 51.507, 0.1 ",
        "rule-examples": " ".join(examples) + " ",
        "cue-flood": " ".join(cues) + " ",
        "long-word": "x",
        "emoji": "\U0001f469\u200d\u2695\ufe0f\U0001f3e5\U0001f1ec\U0001f1e7",
        "homoglyphs": "\u0420\u0430t\u0435l W\u0430rd \uff19 \u039dHS ",
        "brackets": "((((((((((",
    }


def make(seed: str, size: int) -> str:
    """The seed repeated to `size`, cut at the last whitespace and padded with spaces: a seed
    cut mid-token can make a new identifier at the end of one size only ("+44 20 7946 51.5"
    is a phone number), so the sizes would not hold the same content and a rule's one
    extra match reads as growth."""
    text = (seed * (size // len(seed) + 1))[:size]
    cut = max(text.rfind(" "), text.rfind("\n")) + 1 if len(text) == size else len(text)
    if cut <= 0:  # a seed with no whitespace (one long word) is cut where it is
        return text
    return text[:cut] + " " * (size - cut)


def cpu(fn) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def best_of(fn, size: int) -> float:
    return min(cpu(fn) for _ in range(3 if size <= 100_000 else 1))


def time_rule(rule, scan, ctx) -> None:
    scan._positions = {}  # each rule pays for its own condition scans
    count = 0
    for match in engine._matches(rule, scan):
        if engine._conditions_hold(rule, scan, match[0], match[1], match[4]):
            engine._finding(rule, scan.view, ctx, match)
            count += 1
            if count >= engine.MAX_FINDINGS_PER_RULE:
                break


class Prepared:
    """One input, ready for any unit: its normalised view, the shared recogniser scan and the
    effective review context."""

    def __init__(self, text: str, ruleset: rulepacks.RuleSet) -> None:
        self.text = text
        self.view = normalise(text)
        self.scan = engine._Scan(self.view)
        self.scan._all_candidates()  # shared per draft; timed recogniser by recogniser
        self.ctx = engine.effective_context(self.view, ReviewContext(), ruleset)


def runner(kind: str, name: str, prep: Prepared, ruleset: rulepacks.RuleSet):
    if kind == "normalise":
        return lambda: normalise(prep.text)
    if kind == "pipeline":
        return lambda: review(prep.text)
    if kind == "recogniser":
        rec = registry.get(name)
        return lambda: list(rec.find(prep.view.text))
    rule = ruleset.by_id(name)
    ctx = prep.ctx
    if not engine._when_matches(rule, ctx):  # time every rule, whatever context it needs
        when = rule.spec.when
        ctx = engine.EffectiveContext((when.audience or ["public"])[0], when.as_doctor,
                                      when.named, False)
    return lambda: time_rule(rule, prep.scan, ctx)


def measure(sizes: list[int], pipeline: bool) -> dict:
    ruleset = rulepacks.load()
    review("warm-up")
    seeds = adversarial_seeds(ruleset)
    names = ([("normalise", "normalise")] + [("recogniser", n) for n in registry.names()]
             + [("rule", r.id) for r in ruleset.rules] + ([("pipeline", "review")] if pipeline else []))
    units: dict[str, dict] = {f"{k}:{n}": {"kind": k, "name": n, "times": {}} for k, n in names}
    for size in sizes:
        for seed_name, seed in seeds.items():
            prep = Prepared(make(seed, size), ruleset)
            for kind, name in names:
                seconds = best_of(runner(kind, name, prep, ruleset), size)
                worst = units[f"{kind}:{name}"]["times"].get(str(size))
                if worst is None or seconds > worst["s"]:
                    units[f"{kind}:{name}"]["times"][str(size)] = {"s": seconds, "input": seed_name}
            print(f"  {size:>9,} chars  {seed_name}", file=sys.stderr, flush=True)
    return units


def confirm(unit: dict, sizes: list[int], repeats: int) -> None:
    """Re-time a suspect on its worst input at the largest size, at every size, best of
    `repeats` (the survey above runs 1 MB once, so one unlucky run can look superlinear)."""
    ruleset = rulepacks.load()
    seed_name = unit["times"][str(sizes[-1])]["input"]
    seed = adversarial_seeds(ruleset)[seed_name]
    unit["survey"] = {k: dict(v) for k, v in unit["times"].items()}
    for size in sizes:
        prep = Prepared(make(seed, size), ruleset)
        fn = runner(unit["kind"], unit["name"], prep, ruleset)
        unit["times"][str(size)] = {"s": min(cpu(fn) for _ in range(repeats)), "input": seed_name}
    unit["confirmed"] = f"best of {repeats} on '{seed_name}' at every size"


def judge(units: dict, sizes: list[int], bound: float, min_seconds: float) -> list[str]:
    failures = []
    for key, unit in units.items():
        ratios = {}
        for small, big in zip(sizes, sizes[1:]):
            t_small = unit["times"][str(small)]["s"]
            t_big = unit["times"][str(big)]["s"]
            ratio = t_big / max(t_small, 1e-6)
            ratios[f"{big}/{small}"] = round(ratio, 2)
            if ratio > bound and t_big > min_seconds:
                failures.append(f"{key}: time({big:,})/time({small:,}) = {ratio:.1f} > {bound} "
                                f"({t_big:.3f} s on '{unit['times'][str(big)]['input']}')")
        unit["ratios"] = ratios
    return failures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--bound", type=float, default=15.0)
    ap.add_argument("--min-seconds", type=float, default=0.02)
    ap.add_argument("--no-pipeline", action="store_true", help="skip whole-review timings")
    ap.add_argument("--repeats", type=int, default=5, help="runs per size when confirming a suspect")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    units = measure(sizes, pipeline=not args.no_pipeline)
    judge(units, sizes, args.bound, args.min_seconds)
    suspects = [u for u in units.values() if max(u["ratios"].values()) > args.bound * 0.8
                and u["times"][str(sizes[-1])]["s"] > args.min_seconds]
    for unit in suspects:
        print(f"  confirming {unit['kind']}:{unit['name']}", file=sys.stderr, flush=True)
        confirm(unit, sizes, args.repeats)
    failures = judge(units, sizes, args.bound, args.min_seconds)
    top = str(sizes[-1])
    ranked = sorted(units.values(), key=lambda u: -u["times"][top]["s"])
    last_ratio = f"{sizes[-1]}/{sizes[-2]}"
    slowest_rule = next(u for u in ranked if u["kind"] == "rule")
    slowest_rec = next(u for u in ranked if u["kind"] == "recogniser")
    measurable = [u for u in units.values() if u["kind"] in ("rule", "recogniser")
                  and u["times"][top]["s"] >= args.min_seconds] or [slowest_rule]
    worst_growth = max(measurable, key=lambda u: u["ratios"][last_ratio])
    report = {
        "sizes": sizes, "bound": args.bound, "min_seconds": args.min_seconds,
        "clock": "process CPU seconds, worst input per unit (survey: best of 3 below 1 MB, one run "
                 "at 1 MB; suspects above 0.8 x bound re-timed best of --repeats at every size)",
        "confirmed": [f"{u['kind']}:{u['name']}" for u in suspects],
        "machine": describe(),
        "slowest_rule": {"rule": slowest_rule["name"], "seconds": slowest_rule["times"][top],
                         "ratio": slowest_rule["ratios"][last_ratio]},
        "slowest_recogniser": {"recogniser": slowest_rec["name"], "seconds": slowest_rec["times"][top],
                               "ratio": slowest_rec["ratios"][last_ratio]},
        "worst_growth": {"unit": f"{worst_growth['kind']}:{worst_growth['name']}",
                         "ratio": worst_growth["ratios"][last_ratio],
                         "seconds": worst_growth["times"][top]},
        "failures": failures,
        "units": units,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"{len(units)} units ({sum(u['kind'] == 'rule' for u in units.values())} rules, "
          f"{sum(u['kind'] == 'recogniser' for u in units.values())} recognisers) on "
          f"{len(adversarial_seeds(rulepacks.load()))} adversarial inputs; sizes {sizes}")
    print(f"slowest rule at {sizes[-1]:,} chars: {slowest_rule['name']} "
          f"{slowest_rule['times'][top]['s']:.3f} s on '{slowest_rule['times'][top]['input']}', "
          f"growth {last_ratio} = {slowest_rule['ratios'][last_ratio]}")
    print(f"slowest recogniser: {slowest_rec['name']} {slowest_rec['times'][top]['s']:.3f} s, "
          f"growth {slowest_rec['ratios'][last_ratio]}")
    if "pipeline:review" in units:
        pipe = units["pipeline:review"]
        print(f"whole review at {sizes[-1]:,} chars: {pipe['times'][top]['s']:.2f} s worst "
              f"('{pipe['times'][top]['input']}'), growth {pipe['ratios'][last_ratio]}")
    print(f"steepest growth (units above {args.min_seconds} s): {report['worst_growth']['unit']} "
          f"x{report['worst_growth']['ratio']}")
    for f in failures:
        print(f"FAIL {f}")
    print(f"wrote {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
