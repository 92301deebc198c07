"""The benchmark entry point runs end to end in --quick mode and writes every section.

No timing is asserted here (speed belongs to benchmarks/results.md); this checks that the
harness works, that the figures it writes are real numbers, and that no draft text leaks
into its outputs or leftover temporary files.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "Mrs Quillfeather"  # a name that must never reach the results or out/ files
DRAFTS = [
    (f"Lovely chat with {SECRET} (84) in bed 4 at Leeds General today.", ["confidentiality"],
     [(SECRET, "person"), ("84", "age"), ("Leeds General", "location")]),
    ("Flu clinics open next week, book through the practice website.", [], []),
    ("Call 07700 900123 about your results, Mr Arkwright.", ["confidentiality"],
     [("07700 900123", "phone"), ("Mr Arkwright", "person")]),
    ("Great teaching session on sepsis today, thanks to everyone who came.", [], []),
]
SECTIONS = [
    "## Machine", "## Summary", "## Identifier spans and topics: rules vs Presidio",
    "## Presidio gaps", "## Rules-only speed", "## Worst case", "## Growth", "## Cold start",
    "## Batch memory", "## UI memory", "## Retrieval", "## Model", "## How to reproduce",
]
PARTS = "rules,worst,growth,coldstart,batch"


def _labelled(path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i, (text, topics, spans) in enumerate(DRAFTS):
            labels = {"topics": topics, "spans": [
                {"start": text.index(q), "end": text.index(q) + len(q), "kind": k, "quote": q}
                for q, k in spans]}
            fh.write(json.dumps({"id": f"smoke-{i}", "text": text, "labels": labels}) + "\n")


def test_quick_run_writes_every_section(tmp_path):
    data = tmp_path / "drafts.jsonl"
    _labelled(data)
    results, out_dir, tmp = tmp_path / "results.md", tmp_path / "out", tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--only", PARTS,
         "--data", str(data), "--results", str(results), "--out-dir", str(out_dir)],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "TMPDIR": str(tmp)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    md = results.read_text(encoding="utf-8")
    for heading in SECTIONS:
        assert heading in md, heading
    assert "Failed in this run" not in md
    # parts left out say so instead of showing stale figures
    assert md.count("Not run in this invocation") == 5  # presidio (+ its gaps), ui, retrieval, model

    rules = json.loads((out_dir / "rules.json").read_text())
    assert rules["posts"] == 200 and rules["posts_per_s"] > 0 and rules["p99_ms"] >= rules["p50_ms"]
    growth = json.loads((out_dir / "growth.json").read_text())
    assert set(growth["sizes"]) == {"1024", "4096", "16384", "65536"}
    batch = json.loads((out_dir / "batch.json").read_text())
    assert [r["lines"] for r in batch["runs"].values()] == [100, 1000]
    assert all(r["peak_rss_mib"] > 10 for r in batch["runs"].values())
    assert json.loads((out_dir / "coldstart.json").read_text())["runs"] == 3

    # privacy: no draft text in any output, and the temporary inputs were deleted
    for f in [results, *out_dir.iterdir()]:
        assert SECRET not in f.read_text(encoding="utf-8"), f.name
    assert list(tmp.iterdir()) == []
