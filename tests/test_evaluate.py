"""`reviewer eval`: the scores are the arithmetic they claim, per engine and for the union,
and no draft text is printed unless asked for."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from reviewer.evaluate import evaluate, load_labelled
from reviewer.schema import Finding, Result, RewriteCheck

ROWS = [
    {"id": "a", "text": "Saw Mrs Patel today.", "audience": "public", "as_doctor": True, "named": True,
     "labels": {"topics": ["confidentiality"], "spans": [{"start": 4, "end": 13, "kind": "person",
                                                          "quote": "Mrs Patel"}], "tags": []}},
    {"id": "b", "text": "Our registrar is useless.", "audience": "public", "as_doctor": True, "named": True,
     "labels": {"topics": ["colleagues"], "spans": [], "tags": []}},
    {"id": "c", "text": "Flu clinic open Saturday.", "audience": "public", "as_doctor": True, "named": True,
     "labels": {"topics": [], "spans": [], "tags": ["clean"]}},
    {"id": "d", "text": "Lovely sunset tonight.", "audience": "public", "as_doctor": True, "named": True,
     "labels": {"topics": [], "spans": [], "tags": ["clean"]}},
]


def _finding(topic, source, start=None, end=None, kind=None):
    return Finding(rule=f"{source}-{topic}", paragraph="sm-13" if topic == "confidentiality" else "sm-15",
                   topic=topic, source=source, severity="high", start=start, end=end, kind=kind,
                   quote=None, message="m", suggestion="s")


# What two engines "find" on each draft: rules get a and the span; semantic gets b, and
# wrongly flags clean draft c with confidentiality.
SCRIPT = {
    "a": [_finding("confidentiality", "rules", 4, 13, "person")],
    "b": [_finding("colleagues", "semantic")],
    "c": [_finding("confidentiality", "semantic")],
    "d": [],
}


def _result(item) -> Result:
    findings = SCRIPT[str(item.id)]
    return Result(id=str(item.id), verdict="revise" if findings else "ok", engines={"rules": "ok"},
                  findings=findings, redacted=item.text,
                  rewrite_check=RewriteCheck(clean=True, remaining=[], target="redacted"))


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n", encoding="utf-8")
    return path


def test_scores_per_engine_and_union(data):
    report = evaluate(load_labelled(data), _result, engines=("rules", "semantic"))
    rules, sem, union = report["engines"]["rules"], report["engines"]["semantic"], report["union"]
    assert rules["topics"]["confidentiality"] == pytest.approx(
        {"tp": 1, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0, "f1": 1.0}, abs=1e-3)
    assert rules["topics"]["colleagues"]["fn"] == 1 and rules["topics"]["colleagues"]["f1"] == 0
    assert rules["macro_f1"] == pytest.approx(0.5)  # two labelled topics: 1.0 and 0.0
    assert sem["topics"]["colleagues"]["tp"] == 1
    assert sem["topics"]["confidentiality"]["fp"] == 1 and sem["topics"]["confidentiality"]["fn"] == 1
    # union: confidentiality tp 1 fp 1 -> F1 2/3; colleagues 1.0
    assert union["macro_f1"] == pytest.approx((2 / 3 + 1.0) / 2, abs=1e-3)
    assert union["top_false_alarms"]["confidentiality"]["ids"] == ["c"]
    assert report["clean"] == {"drafts": 2, "flagged": 1, "false_flag_rate": 0.5, "flagged_ids": ["c"],
                               "flagged_by_engine": {"rules": 0, "semantic": 1}}
    assert report["spans"]["tp"] == 1 and report["spans"]["fn"] == 0 and report["spans"]["fp"] == 0


def test_span_overlap_counts_partial_matches_and_misses(data):
    def shifted(item):
        res = _result(item)
        if item.id == "a":  # "Patel" only: overlaps the labelled "Mrs Patel"
            res.findings = [_finding("confidentiality", "rules", 8, 13, "person"),
                            _finding("confidentiality", "rules", 14, 19, "date")]  # "today": not labelled
        return res

    spans = evaluate(load_labelled(data), shifted)["spans"]
    assert (spans["tp"], spans["fp"], spans["fn"]) == (1, 1, 0)


def _eval_cli(*args):
    return subprocess.run([sys.executable, "-m", "reviewer", "eval", *args], capture_output=True,
                          text=True, timeout=120)


def test_cli_json_report_and_no_text_by_default(data):
    # A draft labelled with a topic nothing can see: always a miss, so --show-text has a row.
    miss = {"id": "e", "text": "Quiet shift with Zebedee Quartermaine.", "audience": "friends",
            "as_doctor": True, "named": True, "labels": {"topics": ["trust"], "spans": [], "tags": []}}
    with data.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(miss) + "\n")
    done = _eval_cli(str(data), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["drafts"] == 5 and set(report["engines"]) == {"rules"}
    assert report["clean"]["drafts"] == 2
    assert report["union"]["top_misses"]["trust"]["ids"] == ["e"]
    table = _eval_cli(str(data))
    assert "macro-F1" in table.stdout and "trust x1 (e)" in table.stdout
    for out in (table.stdout, done.stdout):
        assert "Zebedee" not in out and "Mrs Patel" not in out
    shown = _eval_cli(str(data), "--show-text")
    assert "Zebedee Quartermaine" in shown.stdout


@pytest.mark.parametrize("content, message", [
    (None, "file not found"),
    ('{"id": 1, "text": "x"}\nnot json\n', "line 2: not a labelled draft"),
    (b"\xff\xfe\x00bad", "not valid UTF-8"),
])
def test_cli_bad_data_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    done = _eval_cli(str(path))
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
