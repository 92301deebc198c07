"""Figures owned by other parts of the project: benchmarks/bench_<part>.py, run as a child.

Protocol (kept loose so each script stays independent): if the script's --help mentions
`--out`, it is given `--out FILE` and must write one JSON object there; otherwise the
last line of its stdout that parses as a JSON object is taken. `--quick` is passed when
the script's --help mentions it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _last_json(stdout: str) -> dict | None:
    for line in reversed(stdout.strip().splitlines()):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            return obj
    try:  # a pretty-printed object spanning the whole output
        obj = json.loads(stdout)
        return obj if isinstance(obj, dict) else None
    except json.JSONDecodeError:
        return None


def run(part: str, quick: bool, timeout: float = 3600) -> dict:
    script = HERE / f"bench_{part}.py"
    if not script.exists():
        return {"skipped": f"benchmarks/{script.name} does not exist yet"}
    try:
        helptext = subprocess.run([sys.executable, str(script), "--help"], capture_output=True,
                                  text=True, timeout=300).stdout
    except subprocess.TimeoutExpired:
        helptext = ""
    cmd = [sys.executable, str(script)]
    if quick and "--quick" in helptext:
        cmd.append("--quick")
    with tempfile.TemporaryDirectory(prefix="reviewer-bench-") as tmp:
        out_file = Path(tmp) / f"{part}.json"
        if "--out" in helptext:
            cmd += ["--out", str(out_file)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"{script.name} did not finish within {timeout:.0f} s"}
        if proc.returncode < 0:
            return {"error": f"{script.name} was stopped by signal {-proc.returncode}"}
        if proc.returncode != 0:
            return {"error": f"{script.name} exited {proc.returncode}: {proc.stderr.strip()[-400:]}"}
        if out_file.exists():
            try:
                return json.loads(out_file.read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                return {"error": f"{script.name} wrote a file that is not JSON"}
        result = _last_json(proc.stdout)
    return result if result is not None else {"error": f"{script.name} printed no JSON object"}
