"""The page in a real browser: Debian's chromium driven by Playwright, server on 127.0.0.1.

The server runs in a subprocess with the same no-egress guard as the suite (pytest-socket,
loopback only), and every request the page makes is recorded: all must go to 127.0.0.1.
Timings and screenshots go to test-output/ (git-ignored) and the test's tmp dir.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from PIL import Image

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
OUT = Path(__file__).resolve().parent.parent / "test-output"
DRAFT = ("Long night on call. Saw Mrs Patel (82) in bed 4 at St James's again, "
         "NHS no 943 476 5919. Poor woman has dementia. #NHS")
# The server process gets the suite's network guard before anything else is imported, and
# reports every blocked connection and every non-loopback name lookup (a library could
# swallow the error; the report line cannot be swallowed): ui_client.GUARD.
sys.path.insert(0, str(Path(__file__).parent / "helpers"))
from ui_client import GUARD as SERVER  # noqa: E402
from ui_client import free_port as _free_port  # noqa: E402


class Server:
    def __init__(self, tmp: Path, *args: str) -> None:
        self.tmp = tmp / "server-tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.log = tmp / "server.log"
        self.port = _free_port()
        env = {**os.environ, "TMPDIR": str(self.tmp), "PYTHONUNBUFFERED": "1"}
        self._log = self.log.open("w")
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER, "--port", str(self.port), *args],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self.url = f"http://127.0.0.1:{self.port}/"
        deadline = time.time() + 90
        while "reviewer ui: open" not in self.log.read_text():
            if self.proc.poll() is not None or time.time() > deadline:
                raise AssertionError(f"UI server did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> str:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()
        return self.log.read_text()


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is not installed (pip install -e '.[test]'); "
                    "the browser test needs it. No browser download is needed: it uses /usr/bin/chromium.")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's chromium is missing at {CHROMIUM}: run `scripts/bootstrap.sh --with-browser` "
                    "(apt-get install chromium). Never download a browser build.")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def rules_server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("ui-rules"), "--rules-only")
    yield server
    log = server.stop()
    assert "Patel" not in log and "943 476" not in log, "draft text reached the server log"
    assert "EGRESS" not in log and "SocketBlocked" not in log, log[-2000:]
    # The private upload/cache folder went with the server (SIGTERM included).
    assert list(server.tmp.glob("reviewer-ui-*")) == []
    assert server.proc.returncode == 0  # a clean exit on SIGTERM


def _open(browser, url, requests: list[str]):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    page.locator("#rv-review").wait_for()
    return context, page


def _non_loopback(requests: list[str]) -> list[str]:
    return [u for u in requests if urlparse(u).scheme not in ("data", "blob")
            and urlparse(u).hostname not in ("127.0.0.1",)]


def _shot(page, tmp_path: Path, name: str) -> Path:
    OUT.mkdir(exist_ok=True)
    page.screenshot(path=str(tmp_path / name), full_page=True)
    page.screenshot(path=str(OUT / name), full_page=True)
    return OUT / name


def _record(key: str, value) -> None:
    OUT.mkdir(exist_ok=True)
    path = OUT / "ui-browser.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = value
    path.write_text(json.dumps(data, indent=1))


def _review(page, draft: str, timeout: float = 30_000) -> tuple[float, float]:
    """Paste, click Review; seconds to the rules verdict and to the final result."""
    page.get_by_label("Your draft").fill(draft)
    t0 = time.perf_counter()
    page.locator("#rv-review").click()
    page.locator("#rv-verdict .rv-verdict:not(.rv-idle)").wait_for(timeout=timeout)
    rules = time.perf_counter() - t0
    page.locator("#rv-verdict .rv-progress").wait_for(state="detached", timeout=600_000)
    return rules, time.perf_counter() - t0


def test_review_in_browser_rules_only(browser, rules_server, tmp_path):
    requests: list[str] = []
    context, page = _open(browser, rules_server.url, requests)
    assert "rules only: started with --rules-only" in page.locator("#rv-engines-status").inner_text()
    rules_s, final_s = _review(page, DRAFT)

    banner = page.locator("#rv-verdict")
    assert "Do not post" in banner.inner_text()
    assert "confidentiality" in banner.inner_text()
    assert "rules only" in banner.inner_text()
    highlights = page.locator("#rv-highlights")
    assert "Mrs Patel" in highlights.inner_text()
    assert "SM-14" in highlights.inner_text().upper()  # each highlight names topic and paragraph
    assert highlights.locator(".textspan.hl, [class*='hl']").count() >= 3
    detail = page.locator("#rv-detail")
    assert "sm-14" in detail.inner_text()
    assert "You must not use publicly accessible social media" in detail.inner_text()

    # Clicking a highlighted span shows that finding's details.
    highlights.get_by_text("St James's", exact=True).click()
    page.wait_for_function("document.querySelector('#rv-detail').innerText.includes(\"St James's\")")

    # Choosing another finding from the list (keyboard-reachable radios) shows its details.
    # The NHS number's own finding (the jigsaw finding's longer quote contains it too).
    page.locator("#rv-findings label").filter(has_text="“943 476 5919”").click()
    page.wait_for_function("document.querySelector('#rv-detail').innerText.includes('943 476 5919')")

    # Compare: every finding marked per engine; here only the rules ran.
    page.get_by_role("tab", name="Compare engines").click()
    compare = page.locator("#rv-compare").inner_text()
    assert "Rules" in compare and "Semantic" in compare and "rules only" in compare
    assert "sm-14" in page.locator("#rv-guidance").inner_text()

    # The safer version: redaction passes the re-check; an edit that still names the patient does not.
    page.get_by_role("tab", name="Safer version").click()
    redacted = page.locator("#rv-redacted textarea")
    assert "[PATIENT]" in redacted.input_value() and "Patel" not in redacted.input_value()
    assert "passes re-check" in page.locator("#rv-redacted-badge").inner_text()
    page.locator("#rv-edit textarea").fill("Saw Mrs Patel today, what a day.")
    page.locator("#rv-recheck").click()
    page.wait_for_function("document.querySelector('#rv-edit-badge').innerText.includes('still leaks')")
    assert "Mrs Patel" in page.locator("#rv-edit-badge").inner_text()
    _shot(page, tmp_path, "ui-rewrite.png")
    page.get_by_role("tab", name="Findings").click()

    shot = _shot(page, tmp_path, "ui-rules-only.png")
    bad = _non_loopback(requests)
    _record("rules_only", {"requests": len(requests), "non_loopback": len(bad),
                           "click_to_rules_s": round(rules_s, 3), "click_to_final_s": round(final_s, 3),
                           "screenshot": str(shot)})
    assert requests and not bad, bad
    context.close()


def test_photo_upload_reports_location_and_leaves_no_file(browser, rules_server, tmp_path):
    img = Image.new("RGB", (64, 48), (90, 140, 200))
    exif = Image.Exif()
    exif[271], exif[272] = "Apple", "iPhone 13"
    exif.get_ifd(0x8825).update({1: "N", 2: (53.0, 47.0, 59.4), 3: "W", 4: (1.0, 32.0, 52.2)})
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    photo = tmp_path / "sunset-upload.jpg"
    photo.write_bytes(buf.getvalue())

    requests: list[str] = []
    context, page = _open(browser, rules_server.url, requests)
    page.locator("#rv-photo input[type=file]").set_input_files(str(photo))
    report = page.locator("#rv-photo-report")
    report.get_by_text("53.799833, -1.547833").wait_for(timeout=20_000)
    assert "sm-8c" in report.inner_text() and "iPhone 13" in report.inner_text()
    href = report.locator("a[download]").get_attribute("href")
    assert href.startswith("data:image/jpeg;base64,")  # the stripped copy never touches the disk

    # Gradio's copy of the upload is gone once the photo has been read.
    leftovers = [p for p in rules_server.tmp.rglob("*") if p.is_file() and p.read_bytes() == buf.getvalue()]
    assert leftovers == []

    _review(page, "Lovely sunset over the hills tonight")
    banner = page.locator("#rv-verdict").inner_text()
    assert "Do not post" in banner and "location" in banner
    assert "sm-8c" in page.locator("#rv-findings").inner_text()
    assert not _non_loopback(requests)
    _shot(page, tmp_path, "ui-photo.png")
    context.close()


LABELS_JS = """() => [...document.querySelectorAll('input, textarea, button, select')]
  .filter(el => el.offsetParent !== null && el.type !== 'hidden')
  .filter(el => {
    const name = (el.getAttribute('aria-label') || '').trim()
      || [...(el.labels || [])].map(l => l.innerText).join(' ').trim()
      || (el.getAttribute('aria-labelledby') || '').split(' ').map(id => document.getElementById(id)?.innerText || '').join(' ').trim()
      || (el.tagName === 'BUTTON' ? el.innerText.trim() : '')
      || (el.getAttribute('title') || '').trim();
    return !name;
  }).map(el => el.outerHTML.slice(0, 160))"""


def test_every_control_is_labelled_and_the_page_works_from_the_keyboard(browser, rules_server, tmp_path):
    requests: list[str] = []
    context, page = _open(browser, rules_server.url, requests)
    assert page.evaluate(LABELS_JS) == []
    page.get_by_label("Your draft").focus()
    page.keyboard.type("Saw Mrs Patel on the ward today, NHS no 943 476 5919")
    page.locator("#rv-review").focus()
    page.keyboard.press("Enter")
    page.locator("#rv-verdict .rv-do-not-post").wait_for(timeout=30_000)
    page.locator("#rv-verdict .rv-progress").wait_for(state="detached", timeout=60_000)
    assert page.evaluate(LABELS_JS) == []  # the result controls are labelled too
    # Findings are radios (Gradio names each one apart, so Tab, not the arrows, moves between them).
    radios = page.locator("#rv-findings input[type=radio]")
    assert radios.count() >= 2
    second_quote = page.locator("#rv-findings label").nth(1).inner_text().split("“")[1].split("”")[0]
    radios.first.focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    page.wait_for_function("document.querySelector('#rv-detail article')?.getAttribute('aria-label') === 'Finding 2'")
    assert second_quote.rstrip("…") in page.locator("#rv-detail").inner_text()
    assert not _non_loopback(requests)
    context.close()


def test_an_example_is_one_click_away(browser, rules_server):
    requests: list[str] = []
    context, page = _open(browser, rules_server.url, requests)
    page.get_by_role("button", name="Ward round tweet").click()
    page.locator("#rv-verdict .rv-do-not-post").wait_for(timeout=30_000)
    assert "Mrs Patel" in page.get_by_label("Your draft").input_value()
    assert "sm-14" in page.locator("#rv-findings").inner_text()
    page.get_by_role("button", name="Closed forum case").click()
    page.wait_for_function("document.querySelector('#rv-findings').innerText.includes('sm-12')", timeout=30_000)
    assert page.get_by_label("Closed professional forum").is_checked()
    assert not _non_loopback(requests)
    context.close()


def test_two_sessions_never_see_each_others_results(browser, rules_server):
    a_req: list[str] = []
    b_req: list[str] = []
    ctx_a, a = _open(browser, rules_server.url, a_req)
    ctx_b, b = _open(browser, rules_server.url, b_req)
    a.get_by_label("Your draft").fill("Saw Mrs Patel on the ward today, so sad")
    b.get_by_label("Your draft").fill("My patient Doris Green was admitted again, NHS no 943 476 5919")
    a.locator("#rv-review").click()
    b.locator("#rv-review").click()
    for page in (a, b):
        page.locator("#rv-verdict .rv-verdict:not(.rv-idle)").wait_for(timeout=30_000)
        page.locator("#rv-verdict .rv-progress").wait_for(state="detached", timeout=60_000)
    text_a, text_b = a.locator("#rv-highlights").inner_text(), b.locator("#rv-highlights").inner_text()
    assert "Patel" in text_a and "Doris" not in text_a and "943" not in text_a
    assert "Doris Green" in text_b and "Patel" not in text_b
    # A selection in one session changes only that session.
    b.locator("#rv-findings label").filter(has_text="943 476 5919").click()
    b.wait_for_function("document.querySelector('#rv-detail').innerText.includes('943 476 5919')")
    assert "943" not in a.locator("#rv-detail").inner_text()
    assert not _non_loopback(a_req + b_req)
    ctx_a.close()
    ctx_b.close()


@pytest.mark.slow
def test_review_in_browser_with_engines(browser, tmp_path):
    """The default start: engines warm in the background and the page shows their state; the
    rules answer never waits for them; a slow engine can be stopped."""
    server = Server(tmp_path)
    try:
        requests: list[str] = []
        context, page = _open(browser, server.url, requests)
        status = page.locator("#rv-engines-status")
        t0 = time.perf_counter()
        page.wait_for_function(
            "!/loading|waiting/.test(document.querySelector('#rv-engines-status').innerText)",
            timeout=300_000)
        warm_s = time.perf_counter() - t0
        semantic_ready = "semantic: ready" in status.inner_text()
        page.get_by_label("Your draft").fill(DRAFT)
        t0 = time.perf_counter()
        page.locator("#rv-review").click()
        page.locator("#rv-verdict .rv-verdict:not(.rv-idle)").wait_for(timeout=30_000)
        rules_s = time.perf_counter() - t0
        semantic_s = None
        if semantic_ready:  # its findings land while the model is still working
            page.wait_for_function(
                "document.querySelector('#rv-verdict').innerText.includes('rules + semantic')",
                timeout=300_000)
            semantic_s = time.perf_counter() - t0
        page.locator("#rv-verdict .rv-progress").wait_for(state="detached", timeout=600_000)
        final_s = time.perf_counter() - t0
        banner = page.locator("#rv-verdict").inner_text()
        assert "Do not post" in banner and "Engines:" in banner
        engines = banner.split("Engines:", 1)[1].strip().splitlines()[0]
        # Either optional engines ran ("rules + …") or the page says why not ("rules only: …").
        assert engines.startswith("rules + ") or engines.startswith("rules only: "), engines
        assert "sm-14" in page.locator("#rv-findings").inner_text()
        page.get_by_role("tab", name="Compare engines").click()
        compare = page.locator("#rv-compare").inner_text()
        assert "Rules" in compare and "Semantic" in compare and "Model" in compare
        assert "sm-14" in page.locator("#rv-guidance").inner_text()
        shot = _shot(page, tmp_path, "ui-engines-compare.png")
        page.get_by_role("tab", name="Findings").click()
        _shot(page, tmp_path, "ui-engines.png")

        # Stop: the rules answer stays, the spinner goes, and the page keeps working.
        stopped = None
        page.get_by_label("Your draft").fill(DRAFT.replace("Patel", "Jones"))
        page.locator("#rv-review").click()
        page.locator("#rv-verdict .rv-do-not-post").wait_for(timeout=30_000)
        if page.locator("#rv-verdict .rv-progress").count():  # something is still running
            _shot(page, tmp_path, "ui-engines-progress.png")
            page.locator("#rv-stop").click()
            page.wait_for_function(
                "document.querySelector('#rv-verdict').innerText.includes('stopped')", timeout=10_000)
            # A progress frame already on its way may land after Stop's answer; the page says
            # "stopped" again once it has, so the spinner goes and stays gone.
            page.locator("#rv-verdict .rv-progress").wait_for(state="detached", timeout=10_000)
            time.sleep(1.0)
            assert page.locator("#rv-verdict .rv-progress").count() == 0
            assert "stopped" in page.locator("#rv-verdict").inner_text()
            assert "Jones" in page.locator("#rv-highlights").inner_text()
            stopped = True
        # A new review while another is still running: the newer one wins, and the older
        # run never overwrites it.
        page.get_by_label("Your draft").fill("Saw Mrs Brown in bed 6 today, so sad")
        page.locator("#rv-review").click()
        page.wait_for_function("document.querySelector('#rv-highlights').innerText.includes('Brown')",
                               timeout=30_000)
        page.get_by_label("Your draft").fill("Saw Mrs Smith in clinic, NHS no 943 476 5919")
        page.locator("#rv-review").click()
        try:
            page.wait_for_function(
                "document.querySelector('#rv-highlights').innerText.includes('Smith')", timeout=30_000)
        except Exception:
            _shot(page, tmp_path, "ui-engines-after-stop-FAILED.png")
            raise AssertionError("a new review showed nothing: "
                                 + page.locator("#rv-verdict").inner_text()) from None
        time.sleep(3)  # the older run had its chance to (wrongly) write over the page
        assert "Brown" not in page.locator("#rv-highlights").inner_text()
        assert "Smith" in page.locator("#rv-highlights").inner_text()
        bad = _non_loopback(requests)
        _record("with_engines", {"requests": len(requests), "non_loopback": len(bad),
                                 "engines_line": engines, "status": status.inner_text(),
                                 "page_open_to_engines_settled_s": round(warm_s, 1),
                                 "click_to_rules_s": round(rules_s, 3),
                                 "click_to_semantic_s": semantic_s and round(semantic_s, 3),
                                 "click_to_final_s": round(final_s, 3),
                                 "stop_tested": bool(stopped), "screenshot": str(shot)})
        assert not bad, bad
        context.close()
    finally:
        log = server.stop()
    assert "Patel" not in log and "943 476" not in log, "draft text reached the server log"
    assert "EGRESS" not in log and "SocketBlocked" not in log, log[-2000:]
