"""The Gradio wiring without a browser: uploads are deleted once read, every component is
labelled, the page carries no share/flag/API extras and its assets stay on this machine."""

from __future__ import annotations

import os

from reviewer.ui import server
from reviewer.ui.hub import EngineHub


def test_uploaded_photo_is_read_into_memory_and_deleted(tmp_path):
    from reviewer.ui.app import read_upload

    folder = tmp_path / "0123abcd"
    folder.mkdir()
    upload = folder / "IMG_0001.jpg"
    upload.write_bytes(b"\xff\xd8photo")
    assert read_upload(str(upload)) == b"\xff\xd8photo"
    assert not upload.exists() and not folder.exists()
    assert read_upload(None) is None


def test_every_input_and_output_has_a_label():
    import gradio as gr

    from reviewer.ui.app import build

    demo = build(EngineHub(rules_only_reason="test"))
    labelled = (gr.Textbox, gr.Radio, gr.File, gr.HighlightedText, gr.HTML)
    components = [c for c in demo.blocks.values() if isinstance(c, labelled)]
    assert len(components) > 15
    missing = [c.elem_id or type(c).__name__ for c in components if not c.label]
    assert missing == [], missing
    buttons = [c for c in demo.blocks.values() if isinstance(c, gr.Button)]
    assert all(b.value for b in buttons)  # a button's text is its accessible name


def test_theme_uses_system_fonts_only():
    theme = server.theme()
    css = theme._get_theme_css()
    assert "@import" not in css and "fonts.googleapis" not in css and "@font-face" not in css
    assert "url(http" not in css.replace('"', "").replace("'", "")
    assert "system-ui" in css


def test_content_security_policy_keeps_the_page_on_its_own_origin():
    assert "connect-src 'self'" in server.CSP and "default-src 'self'" in server.CSP
    assert "http" not in server.CSP  # no other origin is listed anywhere


def test_private_temp_dir_is_owner_only(monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    path = server.private_temp_dir()
    assert path.parent == tmp_path and (path.stat().st_mode & 0o777) == 0o700
    assert os.environ["GRADIO_TEMP_DIR"] == str(path)


def test_folders_of_killed_servers_are_swept(monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    dead = tmp_path / "reviewer-ui-999999999-abc"  # no such pid
    alive = tmp_path / f"reviewer-ui-{os.getpid()}-xyz"
    other = tmp_path / "unrelated"
    for d in (dead, alive, other):
        d.mkdir()
    mine = server.private_temp_dir()
    assert not dead.exists() and alive.exists() and other.exists() and mine.exists()


def test_stop_a_newer_review_and_closing_the_page_cancel_the_running_engine():
    """The page's handlers, called as Gradio calls them: Stop (and a newer review, and the
    page closing) cancel the engine's generation, not only what the page shows."""
    import threading
    import time
    from types import SimpleNamespace

    from reviewer.engines.base import EngineOutput
    from reviewer.ui.app import build

    class Generating:
        name = "model"

        def __init__(self):
            self.running, self.stop = threading.Event(), threading.Event()
            self.outcomes: list[str] = []

        def review(self, draft):
            if draft.text.startswith("Warm-up"):
                return EngineOutput()
            self.running.set()
            stopped = self.stop.wait(30)  # hang guard: a lost cancel fails, never hangs
            self.stop.clear()
            self.running.clear()
            self.outcomes.append("cancelled" if stopped else "ran to its timeout")
            return EngineOutput(status="cancelled" if stopped else "timeout")

        def cancel(self):
            if self.running.is_set():
                self.stop.set()

    model = Generating()
    hub = EngineHub(("model",), factory=lambda name: model, retriever_factory=None).start()
    hub.join(30)
    demo = build(hub)
    fns = {f.name: f.fn for f in demo.fns.values() if f.name in ("on_review", "on_stop", "on_unload")}
    runs = {"current": 0}
    page = SimpleNamespace(session_hash="session-1")

    def start(text):
        gen = fns["on_review"](text, "public", "yes", "yes", None, runs, page)
        next(gen)  # the rules answer
        thread = threading.Thread(target=lambda: list(gen), daemon=True)
        thread.start()  # Gradio keeps pulling progress in the background
        assert model.running.wait(10)
        return thread

    def wait_outcomes(n):
        deadline = time.monotonic() + 10
        while len(model.outcomes) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        return model.outcomes

    first = start("Saw Mrs Patel in clinic today")
    fns["on_stop"](None, runs)
    assert wait_outcomes(1) == ["cancelled"]
    first.join(10)
    assert not first.is_alive()

    second = start("Saw Mr Jones in clinic today")
    third = start("Saw Mrs Brown in bed 6 today")  # a newer review stops the older one's engine
    assert wait_outcomes(2) == ["cancelled", "cancelled"]
    second.join(10)
    assert model.running.wait(10)  # the newer review now holds the engine
    fns["on_unload"](page)  # the page is closed while its review runs
    assert wait_outcomes(3) == ["cancelled"] * 3
    third.join(10)
    assert not second.is_alive() and not third.is_alive()
