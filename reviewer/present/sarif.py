"""SARIF 2.1.0 for code-review tools and dashboards: one run, one result per finding."""

from __future__ import annotations

from reviewer import __version__, guidance
from reviewer.schema import Result

LEVEL = {"high": "error", "medium": "warning", "low": "note"}


def to_sarif(results: list[tuple[Result, str]]) -> dict:
    """`results`: (result, artifact uri) pairs."""
    corpus = guidance.load()
    rules: dict[str, dict] = {}
    sarif_results = []
    for result, uri in results:
        for f in result.findings:
            rules.setdefault(f.rule, {
                "id": f.rule,
                "shortDescription": {"text": f"{f.topic}: {corpus.get(f.paragraph).summary}"},
                "properties": {"topic": f.topic, "paragraph": f.paragraph},
            })
            entry: dict = {
                "ruleId": f.rule,
                "level": LEVEL[f.severity],
                "message": {"text": f"{f.message} Fix: {f.suggestion} (GMC {f.paragraph})"},
                "properties": {"topic": f.topic, "paragraph": f.paragraph, "source": f.source,
                               "kind": f.kind, "verdict": result.verdict},
            }
            location: dict = {"physicalLocation": {"artifactLocation": {"uri": uri}}}
            if f.start is not None and f.end is not None:
                location["physicalLocation"]["region"] = {
                    "charOffset": f.start, "charLength": f.end - f.start}
            entry["locations"] = [location]
            sarif_results.append(entry)
    return {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": {"driver": {"name": "reviewer", "version": __version__,
                                "informationUri": "https://www.gmc-uk.org/",
                                "rules": list(rules.values())}},
            "results": sarif_results,
        }],
    }
