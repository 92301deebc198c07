"""No residue (issue 8): a draft carrying a unique canary goes through the CLI (`check` in
every format, `batch`), the in-process review and a crash mid-review; afterwards the canary
is nowhere on disk (HOME, the temp directories, the cache and index folders, any log file)
and not in any log record or error message.

The CLI runs with HOME, TMPDIR and REVIEWER_CACHE pointing at fresh folders, so anything it
writes lands where we look; the real HOME and temp folder are searched too (files changed
since the test started).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from reviewer import paths
from reviewer.recognisers import registry
from reviewer.review import review
from scripted_backend import ScriptedBackend

CANARY = f"CANARY{uuid.uuid4().hex}"
DRAFT = f"Saw Mrs Patel (82) on Ward 9, NHS no 943 476 5919 - codeword {CANARY}"
SKIP_DIRS = {"/proc", "/sys", "/dev", "/run"}
MAX_READ = 64 << 20
REAL_HOME = Path.home()  # before any test points HOME at a sandbox


def files_changed_since(root: Path, since: float):
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: None):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in SKIP_DIRS]
        for name in filenames + dirnames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if max(st.st_mtime, st.st_ctime) >= since:
                yield Path(path), st


def canary_hits(roots: list[Path], since: float, exclude: tuple[Path, ...] = ()) -> list[str]:
    """Files (or names) under `roots`, changed since `since`, that contain the canary."""
    needle = CANARY.encode()
    needles = (needle, CANARY.encode("utf-16-le"))
    hits = []
    seen: set[Path] = set()
    for root in roots:
        if not root.exists():
            continue
        for path, st in files_changed_since(root, since):
            if path in seen or any(path == e or e in path.parents for e in exclude):
                continue
            seen.add(path)
            if CANARY in path.name:
                hits.append(f"name: {path}")
            if not path.is_file() or path.is_symlink() or st.st_size > MAX_READ:
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if any(n in data for n in needles):
                hits.append(str(path))
    return hits


def log_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.log") if ".git" not in p.parts]


@pytest.fixture
def sandbox(tmp_path):
    """HOME/TMPDIR/cache for a subprocess, all inside one fresh folder."""
    dirs = {k: tmp_path / k for k in ("home", "tmp", "cache", "cwd")}
    for d in dirs.values():
        d.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(dirs["home"]), TMPDIR=str(dirs["tmp"]), TEMP=str(dirs["tmp"]),
               TMP=str(dirs["tmp"]), REVIEWER_CACHE=str(dirs["cache"]), PYTHONDONTWRITEBYTECODE="1")
    return dirs, env


def run_cli(args, env, cwd, stdin: bytes | None, pre: str = ""):
    """`reviewer ARGS` in a subprocess; `pre` is Python run first (fault injection)."""
    code = f"import sys\n{pre}\nfrom reviewer.cli import main\nsys.argv = ['reviewer'] + {args!r}\nmain()"
    return subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True,
                          env=env, cwd=cwd, timeout=180,
                          stdin=None if stdin is not None else subprocess.DEVNULL)


def real_home_app_dirs() -> list[Path]:
    """Where programs write in the real HOME (walking all of it, toolchains included, takes
    longer than the rest of the suite): the XDG data/cache/config dirs."""
    home = REAL_HOME
    return [home / ".cache", home / ".config", home / ".local" / "share", home / ".local" / "state"]


def searched_roots(dirs) -> list[Path]:
    return [dirs["home"], dirs["tmp"], dirs["cache"], dirs["cwd"], paths.index_dir(),
            paths.cache_dir()]


# A recogniser that fails with the draft in its exception message: the worst case for a crash
# path (a library error quoting its input).
CRASH = (
    "from reviewer.recognisers import registry\n"
    "rec = registry.get('nhs_number')\n"
    "real = rec.find\n"
    "def boom(text):\n"
    "    if 'CANARY' in text:\n"
    "        raise RuntimeError('cannot parse ' + text)\n"
    "    return real(text)\n"
    "rec.find = boom\n"
)


def test_cli_check_and_batch_leave_no_trace(sandbox):
    dirs, env = sandbox
    since = time.time() - 1
    for fmt in ("text", "json", "sarif"):
        proc = run_cli(["check", "--rules-only", "--format", fmt, "-"], env, dirs["cwd"], DRAFT.encode())
        assert proc.returncode == 1, proc.stderr
        if fmt != "sarif":  # the report (with the redacted draft) is the only place it goes
            assert CANARY in proc.stdout.decode()
        assert CANARY not in proc.stderr.decode()
    lines = "\n".join(json.dumps({"id": f"p{i}", "text": DRAFT}) for i in range(3)) + "\n{bad\n"
    proc = run_cli(["batch", "--rules-only", "-"], env, dirs["cwd"], lines.encode())
    assert proc.returncode == 2 and proc.stdout.decode().count(CANARY) == 3
    assert CANARY not in proc.stderr.decode()
    assert canary_hits(searched_roots(dirs) + real_home_app_dirs(), since) == []
    assert all(CANARY.encode() not in p.read_bytes() for p in log_files(paths.home()))


def test_crash_mid_review_does_not_leak_the_draft(sandbox):
    dirs, env = sandbox
    since = time.time() - 1
    proc = run_cli(["check", "--rules-only", "-"], env, dirs["cwd"], DRAFT.encode(), pre=CRASH)
    err = proc.stderr.decode()
    assert proc.returncode == 3 and "internal error (RuntimeError)" in err
    assert CANARY not in err and "Patel" not in err and "Traceback" not in err
    assert proc.stdout == b""

    lines = (json.dumps({"id": "a", "text": DRAFT}) + "\n"
             + json.dumps({"id": "b", "text": "Lovely day for the parkrun"}) + "\n")
    proc = run_cli(["batch", "--rules-only", "-"], env, dirs["cwd"], lines.encode(), pre=CRASH)
    err, out = proc.stderr.decode(), proc.stdout.decode()
    assert CANARY not in err and CANARY not in out and "Traceback" not in err
    rows = [json.loads(x) for x in out.splitlines()]
    assert rows[0] == {"id": "a", "line": 1,
                       "error": "line 1: internal error (RuntimeError); not reviewed"}
    assert rows[1]["id"] == "b" and rows[1]["verdict"] == "ok"  # the next draft still reviewed
    assert canary_hits(searched_roots(dirs), since) == []


class _Records(logging.Handler):
    """Records that could reach a log: the package's own at any level, third-party ones at
    INFO and above (nothing in the package turns on third-party DEBUG output; Pillow, for
    one, writes EXIF values, so a photo's metadata, at DEBUG)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        if not record.name.startswith("reviewer") and record.levelno < logging.INFO:
            return
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name}: {text}")


@pytest.fixture
def all_logs():
    """Every log record of every logger, at DEBUG, for the duration of the test."""
    handler = _Records()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old)


def test_in_process_review_leaves_no_trace(all_logs, capfd, sandbox, monkeypatch):
    dirs, _ = sandbox
    monkeypatch.setenv("HOME", str(dirs["home"]))
    monkeypatch.setattr(tempfile, "tempdir", str(dirs["tmp"]))
    since = time.time() - 1
    result = review(DRAFT, id="canary")
    assert result.verdict == "do-not-post" and CANARY in result.redacted
    out, err = capfd.readouterr()
    assert CANARY not in out + err
    assert not [line for line in all_logs.lines if CANARY in line]
    real_tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    roots = searched_roots(dirs) + real_home_app_dirs() + [real_tmp]
    assert canary_hits(roots, since) == []


def test_in_process_crash_keeps_the_draft_out_of_logs(all_logs, capfd, monkeypatch):
    def boom(text):
        raise RuntimeError("cannot parse " + text)

    monkeypatch.setattr(registry.get("nhs_number"), "find", boom)
    with pytest.raises(RuntimeError):
        review(DRAFT)
    out, err = capfd.readouterr()
    assert CANARY not in out + err
    assert not [line for line in all_logs.lines if CANARY in line]


def _photo_with_canary() -> bytes:
    """A JPEG whose EXIF holds GPS and the canary (as the image description)."""
    import io

    from PIL import Image

    exif = Image.Exif()
    exif[270] = CANARY
    exif.get_ifd(0x8825).update({1: "N", 2: (53.0, 47.0, 59.4), 3: "W", 4: (1.0, 32.0, 52.2)})
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 200, 10)).save(out, "JPEG", exif=exif)
    return out.getvalue()


class _ScriptedModel(ScriptedBackend):
    """Stands in for the GGUF on the UI's model path (fast, deterministic): it quotes the
    draft and returns the draft as its rewrite, like a real model would echo text."""

    name = "scripted"

    def generate(self, messages, *, schema, max_tokens, timeout, cache_key=None,
                 static_chars=0, on_delta=None):
        from reviewer.engines.model.backends import Generation

        if cache_key == "rewrite":
            return Generation(text=DRAFT.replace("943 476 5919", "[NHS NUMBER]"))
        return Generation(text=json.dumps({"findings": [
            {"quote": CANARY, "paragraph": "sm-14", "topic": "confidentiality",
             "severity": "high", "note": "identifier"}], "verdict": "do-not-post"}))


def test_ui_session_with_model_and_photo_leaves_no_trace(all_logs, capfd, sandbox, monkeypatch):
    """The UI's review path (reviewer.ui.session.stages) with the model engine and a photo
    upload, in process. TODO(ui): the browser-level upload (Gradio's temp dir) is not covered."""
    pytest.importorskip("gradio")
    from reviewer.engines.model import create
    from reviewer.schema import ReviewContext
    from reviewer.ui.hub import EngineHub
    from reviewer.ui.session import stages

    dirs, _ = sandbox
    monkeypatch.setenv("HOME", str(dirs["home"]))
    monkeypatch.setattr(tempfile, "tempdir", str(dirs["tmp"]))
    since = time.time() - 1

    def factory(name, on_event=None):
        engine = create(backend="none", similarity=None)
        engine.backend = _ScriptedModel()
        return engine

    hub = EngineHub(("model",), factory=factory, retriever_factory=None).start()
    hub.join(30)
    final = list(stages(DRAFT, ReviewContext(), hub, image=_photo_with_canary(), timeout=60))[-1]
    result = final.result
    assert result.engines.get("model") == "ok", result.engines
    assert result.image is not None and result.image.has_location
    assert any(f.source == "model" or "model" in f.found_by for f in result.findings)
    out, err = capfd.readouterr()
    assert CANARY not in out + err
    assert not [line for line in all_logs.lines if CANARY in line]
    real_tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    assert canary_hits(searched_roots(dirs) + real_home_app_dirs() + [real_tmp], since) == []
