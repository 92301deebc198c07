"""The CLI as a user runs it: subprocess, real exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema

from reviewer.schema import json_schema

SAMPLE = "Saw Mrs Patel (82) in bed 4 on Ward 9 at St Mary's today, NHS no 943 476 5919 - sad case"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reviewer", *args], input=stdin, text=True,
                          capture_output=True, timeout=120)


def test_issue_sample_text_report():
    proc = run("check", "-", stdin=SAMPLE)
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert ">>943 476 5919<<" in out and ">>Mrs Patel<<" in out
    assert "sm-14" in out and "sm-13" in out
    assert "Do not discuss individual patients" in out  # one-line paragraph summary
    assert "[HIGH]" in out and "fix:" in out
    assert "[NHS NUMBER]" in out and "[PATIENT]" in out
    assert "Traceback" not in proc.stderr


def test_json_matches_contract():
    proc = run("check", "--format", "json", "-", stdin=SAMPLE)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    jsonschema.validate(data, json_schema())
    assert data["verdict"] == "do-not-post"
    assert data["engines"]["rules"] == "ok"
    nhs = [f for f in data["findings"] if f["kind"] == "nhs_number"][0]
    assert SAMPLE[nhs["start"]:nhs["end"]] == nhs["quote"] == "943 476 5919"
    assert nhs["paragraph"] == "sm-14" and nhs["topic"] == "confidentiality"
    assert nhs["source"] == "rules"
    assert "943" not in data["redacted"]


def test_sarif_structure():
    proc = run("check", "--format", "sarif", "-", stdin=SAMPLE)
    assert proc.returncode == 1
    sarif = json.loads(proc.stdout)
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert results and all(r["level"] in ("error", "warning", "note") for r in results)
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    assert region["charLength"] > 0
    rule_ids = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in results} <= rule_ids


def test_clean_draft_exit_zero():
    proc = run("check", "-", stdin="Flu jabs are available at the surgery from Monday. Book online.")
    assert proc.returncode == 0, proc.stdout
    assert "LOOKS FINE" in proc.stdout


def test_audience_changes_citation():
    proc = run("check", "--format", "json", "--audience", "professional", "-",
               stdin="Pt called Doris Green admitted with a fall, any thoughts?")
    data = json.loads(proc.stdout)
    assert {f["paragraph"] for f in data["findings"]} & {"sm-12"}


def test_guidance_paragraph_and_list():
    proc = run("guidance", "sm-13")
    assert proc.returncode == 0
    assert "sum of published information online" in proc.stdout
    listing = run("guidance", "--list")
    assert listing.returncode == 0
    assert all(pid in listing.stdout for pid in ("gmp-36", "conf-119", "sm-8c", "sm-19"))
    bad = run("guidance", "sm-99")
    assert bad.returncode == 2 and "unknown paragraph" in bad.stderr


def test_batch_streams_in_order_and_reports_bad_lines(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join([
        json.dumps({"id": "a", "text": SAMPLE}),
        "{not json",
        json.dumps({"id": "c", "text": "Lovely sunny day for the parkrun", "audience": "friends"}),
    ]) + "\n", encoding="utf-8")
    proc = run("batch", str(src))
    assert proc.returncode == 2
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [x.get("id") for x in lines] == ["a", None, "c"]
    assert lines[0]["verdict"] == "do-not-post" and lines[2]["verdict"] == "ok"
    assert lines[1]["line"] == 2 and "line 2" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_option_is_usage_error():
    proc = run("check", "--no-such-flag", "-", stdin="x")
    assert proc.returncode == 2
    assert "No such option" in proc.stderr and "Traceback" not in proc.stderr
