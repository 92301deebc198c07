"""No residue through a real Gradio upload (issue 8): a photo whose EXIF holds a unique canary
(and GPS) is uploaded to a real `reviewer ui` the way the page uploads it, a draft with the
canary is reviewed, the server is stopped (SIGTERM); then neither the canary nor the photo's
bytes (original or the stripped copy) are anywhere on disk: the server's HOME, TMPDIR and
cache, Gradio's upload folder, the index folders, the real temp dir and the real HOME's
app folders. Gradio's copy of the upload is already gone while the server still runs.
"""

from __future__ import annotations

import io
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "helpers"))
from test_no_residue import files_changed_since, real_home_app_dirs
from ui_client import Session, UiServer, quotes, verdict_html

from reviewer import paths
from reviewer.image import strip_metadata

pytestmark = pytest.mark.slow  # starts a server (~10-20 s on a loaded 2-core machine)

CANARY = f"CANARY{uuid.uuid4().hex}"
DRAFT = f"Saw Mrs Ashworth on the ward today, lovely sunset after. Codeword {CANARY}"


def photo() -> bytes:
    """A JPEG of random pixels (so its bytes are unique) with GPS and the canary in EXIF."""
    from PIL import Image

    rng = random.Random(CANARY)
    img = Image.frombytes("RGB", (48, 32), bytes(rng.randrange(256) for _ in range(48 * 32 * 3)))
    exif = Image.Exif()
    exif[270] = CANARY  # ImageDescription
    exif[271], exif[272] = "Apple", "iPhone 13"
    exif.get_ifd(0x8825).update({1: "N", 2: (53.0, 47.0, 59.4), 3: "W", 4: (1.0, 32.0, 52.2)})
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def needles(data: bytes) -> dict[str, bytes]:
    stripped, _ = strip_metadata(data)
    return {"canary": CANARY.encode(), "canary-utf16": CANARY.encode("utf-16-le"),
            "photo bytes": data[-200:-136],  # compressed pixels, after the EXIF
            "stripped copy bytes": stripped[-200:-136]}


def hits(roots: list[Path], since: float, wanted: dict[str, bytes]) -> list[str]:
    found, seen = [], set()
    for root in roots:
        if not root.exists():
            continue
        for path, st in files_changed_since(root, since):
            if path in seen:
                continue
            seen.add(path)
            if CANARY in path.name:
                found.append(f"name: {path}")
            if not path.is_file() or path.is_symlink() or st.st_size > 64 << 20:
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            found += [f"{what}: {path}" for what, n in wanted.items() if n in data]
    return found


def test_uploaded_photo_and_draft_leave_no_trace(tmp_path):
    data = photo()
    wanted = needles(data)
    since = time.time() - 1
    server = UiServer(tmp_path / "ui", "--rules-only")
    try:
        gradio_dir = server.temp_dir()
        assert gradio_dir is not None and (gradio_dir.stat().st_mode & 0o777) == 0o700

        s = Session(server)
        report = s.upload("IMG_4031.jpg", data)
        assert "sm-8c" in report[1] and "53.79" in report[1]  # the photo was read and checked
        # Gradio's copy of the upload went as soon as the photo was read into memory.
        assert s.last_upload.is_relative_to(gradio_dir) and not s.last_upload.exists()
        assert not s.last_upload.parent.exists()
        assert hits([gradio_dir, server.dirs["tmp"]], since, wanted) == []

        out = s.review(DRAFT)
        assert "Mrs Ashworth" in quotes(out) and "location" in verdict_html(out)  # photo joined in
        assert hits([gradio_dir, server.dirs["tmp"], server.dirs["home"], server.dirs["cache"]],
                    since, wanted) == []
        # A page closed between sending a photo and its upload event: Gradio keeps that file
        # (in the private folder, owner-only) until its cache sweep or the server's exit.
        orphan = Path(s.raw_upload("IMG_4032.jpg", data))
        assert orphan.is_relative_to(gradio_dir) and orphan.exists()
        s.close()
    finally:
        log = server.stop()
    assert server.proc.returncode == 0
    assert CANARY not in log and "Ashworth" not in log
    assert not gradio_dir.exists(), "the private upload folder outlived the server"
    roots = [server.dirs["home"], server.dirs["tmp"], server.dirs["cache"], paths.index_dir(),
             paths.cache_dir(), Path(os.environ.get("TMPDIR") or tempfile.gettempdir()),
             *real_home_app_dirs()]
    assert hits(roots, since, wanted) == []


def test_upload_folder_of_a_killed_server_is_swept_at_the_next_start(tmp_path):
    """SIGKILL skips every exit handler: the orphaned upload goes when the next server starts."""
    data = photo()
    since = time.time() - 1
    first = UiServer(tmp_path / "ui", "--rules-only")
    try:
        gradio_dir = first.temp_dir()
        orphan = Path(Session(first).raw_upload("IMG_4033.jpg", data))
        assert orphan.exists()
    finally:
        first.proc.kill()
        first.proc.wait(10)
        first.stop()
    assert orphan.exists()  # nothing ran at exit
    second = UiServer(tmp_path / "ui", "--rules-only")  # same TMPDIR
    try:
        assert not gradio_dir.exists() and second.temp_dir() != gradio_dir
    finally:
        second.stop()
    assert hits([tmp_path / "ui"], since, needles(data)) == []
