"""Bad input through the real CLI (issue 3 "Bad input", issue 8 junk corpus).

Every case runs `python -m reviewer` as a subprocess with no stdin (stdin is /dev/null
unless the case pipes bytes in). A refused input is exit 2 with exactly one stderr line
`reviewer: error: ...`; junk that is still text is reviewed (exit 0/1) and its output
validates against the contract. Never a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import pytest

from reviewer.schema import json_schema

sys.path.insert(0, str(Path(__file__).parent / "data"))
import make_junk  # noqa: E402

SCHEMA = json_schema()
JUNK = sorted(make_junk.JUNK_DIR.iterdir())


def run(args: list[str], stdin: bytes | None = None, cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, "-m", "reviewer", *args], input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True, timeout=180, cwd=cwd,
    )


def assert_one_line_error(proc, prefix: str = "reviewer: error: ") -> str:
    err = proc.stderr.decode()
    assert proc.returncode == 2, (proc.returncode, err[-500:])
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), err
    assert len(lines[0]) > len(prefix) + 10  # says what is wrong
    return lines[0]


def assert_reviewed(proc, text: str) -> dict:
    assert proc.returncode in (0, 1), proc.stderr.decode()[-500:]
    assert proc.stderr == b""
    data = json.loads(proc.stdout)
    jsonschema.validate(data, SCHEMA)
    for f in data["findings"]:
        if f["start"] is not None:
            assert text[f["start"]:f["end"]] == f["quote"]
    assert (proc.returncode == 1) == bool(data["findings"])
    return data


@pytest.fixture(scope="module")
def junk_runs(tmp_path_factory):
    """All junk checked concurrently: committed small files by path, the large ones (1 MB of
    emoji, a 1 MB paste, over-limit text) built now and pasted on standard input."""
    big = tmp_path_factory.mktemp("junk-large")
    for name in make_junk.LARGE:
        (big / name).write_bytes(make_junk.large(name))
    cases = [(p, False) for p in JUNK] + [(big / n, True) for n in make_junk.LARGE]
    args = ["check", "--format", "json", "--rules-only"]

    def check(case):
        path, piped = case
        return run(args + ["-"], stdin=path.read_bytes()) if piped else run(args + [str(path)])

    with ThreadPoolExecutor(max_workers=4) as pool:
        procs = pool.map(check, cases)
        return {path.name: (path, proc) for (path, _), proc in zip(cases, procs)}


def test_junk_corpus_is_current():
    """tests/data/junk/ is exactly what make_junk.py writes (regenerate after editing it)."""
    assert {p.name: p.read_bytes() for p in JUNK} == make_junk.small()


@pytest.mark.parametrize("name", [p.name for p in JUNK] + list(make_junk.LARGE))
def test_junk_file_is_refused_or_reviewed(junk_runs, name):
    path, proc = junk_runs[name]
    if name.startswith("bad-"):
        line = assert_one_line_error(proc)
        assert proc.stdout == b""
        assert "Mrs" not in line and "Patel" not in line  # messages never quote the draft
    else:
        assert_reviewed(proc, path.read_bytes().decode("utf-8-sig"))


def test_disguised_drafts_in_the_corpus_are_still_caught(junk_runs):
    for name in ("text-rtl-override.txt", "text-zero-width-split.txt", "text-homoglyphs.txt",
                 "text-fullwidth.txt", "text-bom-utf8.txt"):
        path, proc = junk_runs[name]
        kinds = {f["kind"] for f in json.loads(proc.stdout)["findings"]}
        assert "nhs_number" in kinds, name


@pytest.mark.parametrize("stdin, message", [
    (b"", "empty"),
    (b"   \n\t  \r\n", "empty"),
    (b"\x00\x01\x02binary\x00", "binary"),
    (b"Mrs Patel \xff\xfe aged 82", "UTF-8"),
])
def test_bad_stdin(stdin, message):
    line = assert_one_line_error(run(["check", "-"], stdin=stdin))
    assert message in line


def test_no_stdin_at_all_is_an_empty_draft():
    assert "empty" in assert_one_line_error(run(["check", "-"]))


def test_one_megabyte_paste_is_reviewed_in_full(junk_runs):
    path, proc = junk_runs["text-1mb-paste.txt"]
    data = json.loads(proc.stdout)
    assert data["verdict"] == "do-not-post"
    assert data["redacted"].endswith(" END-OF-PASTE")  # all of it was read, not a prefix


@pytest.mark.parametrize("args, message", [
    (["check", "no/such/file.txt"], "file not found"),
    (["check", "."], "folder"),
    (["batch", "no/such/file.jsonl"], "file not found"),
    (["batch", "."], "folder"),
    (["check", "--no-such-flag", "-"], "No such option"),
    (["check", "--format", "xml", "-"], "xml"),
    (["check", "--audience", "mars", "-"], "mars"),
    (["check", "--as-doctor", "maybe", "-"], "--as-doctor"),
    (["check"], "Missing argument"),
    (["frobnicate"], "No such command"),
    (["guidance", "sm-999"], "unknown paragraph"),
])
def test_usage_and_file_errors(args, message):
    assert message in assert_one_line_error(run(args))


def test_malformed_jsonl_lines_are_reported_by_number_and_the_rest_reviewed(tmp_path):
    good = "Saw Mrs Patel (82) in bed 4 on Ward 9 today, NHS no 943 476 5919"
    lines = [
        json.dumps({"id": "a", "text": good}).encode(),   # 1
        b"{not json",                                       # 2
        b"",                                                # 3 blank: skipped, still counted
        json.dumps({"id": "d", "text": ""}).encode(),       # 4 empty draft
        b"\xff\xfe\x00 binary",                             # 5
        b"[" * 50_000 + b"]" * 50_000,                      # 6 nested too deep for json
        json.dumps({"id": "g", "text": 5}).encode(),        # 7
        b'{"id": "\\ud800", "text": "x y"}',                # 8 unpaired surrogate
        json.dumps({"id": "i", "text": "x", "audience": "mars"}).encode(),  # 9
        json.dumps({"id": "j", "text": "Lovely day for the parkrun"}).encode(),  # 10
    ]
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join(lines))  # no final newline
    proc = run(["batch", "--rules-only", str(src)])
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "Traceback" not in err
    reported = [line.split(": ")[1] for line in err.splitlines()]
    assert reported == [f"line {n}" for n in (2, 4, 5, 6, 7, 8, 9)]
    out = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert [o.get("line") for o in out] == [None, 2, 4, 5, 6, 7, 8, 9, None]
    assert out[0]["id"] == "a" and out[0]["verdict"] == "do-not-post"
    assert out[-1]["id"] == "j" and out[-1]["verdict"] == "ok"
    assert out[2]["id"] == "d"  # an error keeps the id when the line had one
    for o in out[1:-1]:
        assert set(o) == {"id", "line", "error"} and "Patel" not in o["error"]


def test_batch_of_the_junk_corpus_answers_every_line(tmp_path):
    src = tmp_path / "junk.jsonl"
    with src.open("wb") as fh:
        for p in JUNK:
            raw = p.read_bytes()
            try:
                fh.write(json.dumps({"id": p.name, "text": raw.decode("utf-8")}).encode() + b"\n")
            except UnicodeDecodeError:
                fh.write(raw.replace(b"\n", b" ") + b"\n")  # raw junk as its own line
    proc = run(["batch", "--rules-only", str(src)])
    assert proc.returncode in (0, 2) and "Traceback" not in proc.stderr.decode()
    # JSONL is split on "\n" only: str.splitlines() would also split inside a draft's U+2028
    out = [json.loads(x) for x in proc.stdout.decode().split("\n") if x]
    assert len(out) == len(JUNK)
    for p, o in zip(JUNK, out):
        if "verdict" in o:
            assert o["id"] == p.name
            jsonschema.validate(o, SCHEMA)
        else:
            assert o["error"].startswith(f"line {o['line']}: ")


def test_terminal_escapes_in_a_draft_do_not_reach_the_terminal():
    """A pasted ESC sequence must not clear the screen or hide text in the text report."""
    raw = (make_junk.JUNK_DIR / "text-ansi-escapes.txt").read_bytes()
    proc = run(["check", "-"], stdin=raw)
    assert proc.returncode == 1, proc.stderr
    assert b"\x1b" not in proc.stdout and b"\x07" not in proc.stdout
    assert b"Mrs Patel" in proc.stdout


def test_rich_markup_in_a_draft_is_printed_literally():
    raw = (make_junk.JUNK_DIR / "text-rich-markup.txt").read_bytes()
    proc = run(["check", "-"], stdin=raw)
    assert proc.returncode in (0, 1) and proc.stderr == b""
    assert b"[bold red]Mrs Patel[/]" in proc.stdout
