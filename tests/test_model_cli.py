"""The model options on the command line: `check/batch --model ...` and `reviewer doctor`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from reviewer.engines.model.config import bundled_model

SAMPLE = "Saw Mrs Patel (82) in bed 4 on Ward 9 at St Mary's today, NHS no 943 476 5919 - sad case"


def run(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "REVIEWER_CONFIG": os.devnull, **(env or {})}
    for var in ("REVIEWER_MODEL", "REVIEWER_BACKEND", "REVIEWER_SERVER_URL"):
        if not env or var not in env:
            full_env.pop(var, None)
    return subprocess.run([sys.executable, "-m", "reviewer", *args], input=stdin, text=True,
                          capture_output=True, timeout=900, env=full_env, check=False)


def test_missing_model_says_rules_only_and_why(tmp_path):
    missing = tmp_path / "absent.gguf"
    proc = run("check", "-", "--model", str(missing), stdin=SAMPLE)
    assert proc.returncode == 1, proc.stderr
    assert f"engines: rules only: model file not found: {missing}" in proc.stdout
    proc = run("check", "--format", "json", "-", stdin=SAMPLE, env={"REVIEWER_MODEL": str(missing)})
    assert json.loads(proc.stdout)["engines"]["model"] == f"unavailable: model file not found: {missing}"


def test_model_none_and_rules_only():
    proc = run("check", "--format", "json", "-", "--model", "none", stdin=SAMPLE)
    assert json.loads(proc.stdout)["engines"]["model"] == "unavailable: model disabled (backend none)"
    proc = run("check", "--format", "json", "-", "--model", "default", "--rules-only", stdin=SAMPLE)
    assert json.loads(proc.stdout)["engines"]["model"] == "unavailable: model not requested"


def test_bad_backend_is_a_usage_error():
    proc = run("check", "-", "--backend", "gpt5", stdin=SAMPLE)
    assert proc.returncode == 2 and "unknown model backend 'gpt5'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_doctor_reports_file_size_checksum_and_offline_env():
    proc = run("doctor", "--json", "--no-load")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["model"] == str(bundled_model())
    assert report["size_bytes"] == bundled_model().stat().st_size
    assert len(report["sha256"]) == 64 and report["threads"] >= 1 and report["n_ctx"] == 4096
    assert report["offline_env"]["HF_HUB_OFFLINE"] == "1"
    proc = run("doctor", "--model", "/nonexistent/x.gguf")
    assert proc.returncode == 1 and "model file not found" in proc.stdout


@pytest.mark.slow
def test_doctor_loads_the_bundled_model():
    proc = run("doctor", env={"REVIEWER_MODEL_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "loads                  yes, in" in proc.stdout and "chat template: gguf metadata" in proc.stdout


@pytest.mark.slow
def test_check_with_the_default_model_merges_sources():
    proc = run("check", "--format", "json", "-", "--model", "default",
               stdin=SAMPLE, env={"REVIEWER_MODEL_THREADS": "1", "REVIEWER_MODEL_TIMEOUT": "600"})
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["engines"] == {"rules": "ok", "model": "ok"}
    for f in data["findings"]:
        assert f["agreement"] in ("both", "rules only", "model only")
        assert SAMPLE[f["start"]:f["end"]] == f["quote"]
    # Offered rewrites are verified; withheld ones say why and the redaction is re-checked.
    check = data["rewrite_check"]
    assert (data["rewrite"] is not None and check["target"] == "rewrite" and check["clean"]) or \
        (data["rewrite"] is None and check["withheld"] and check["target"] == "redacted")
