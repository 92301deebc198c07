"""Start the page with the offline hardening in one place.

- binds 127.0.0.1 unless the caller explicitly allows another host;
- no share link, no analytics (reviewer.offline), no API page, no SSR/Node, no MCP;
- system fonts only and a Content-Security-Policy that lets the page talk to its own
  origin only, so no font, script, stylesheet or beacon can leave the machine;
- Gradio's upload/cache folder is a private temporary directory, swept while running
  and removed at exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

LOOPBACK = ("127.0.0.1", "localhost", "::1")
SYSTEM_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial",
                "Noto Sans", "Liberation Sans", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace"]
# 'unsafe-inline'/'unsafe-eval': Gradio's own bundle needs them; the point is the origin list.
CSP = ("default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:; "
       "connect-src 'self' ws: wss:; img-src 'self' data: blob:; font-src 'self' data:; "
       "form-action 'self'; base-uri 'self'")
HEAD = (f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="referrer" content="no-referrer">')
CSS_FILE = Path(__file__).with_name("style.css")


class RemoteRefused(Exception):
    pass


def check_host(host: str, allow_remote: bool) -> None:
    if host not in LOOPBACK and not allow_remote:
        raise RemoteRefused(
            f"refusing to listen on {host}: drafts are patient-sensitive, so the page only listens "
            "on 127.0.0.1. Pass --allow-remote if you really mean to expose it to your network."
        )


def free_port(host: str = "127.0.0.1") -> int:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _sweep_stale(parent: Path) -> None:
    """Remove folders left by a server that was killed (SIGKILL skips atexit)."""
    for old in parent.glob("reviewer-ui-*-*"):
        try:
            pid = int(old.name.split("-")[2])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(old, ignore_errors=True)
        except (ValueError, IndexError, PermissionError, OSError):
            continue


def private_temp_dir() -> Path:
    """Gradio writes uploads here; set before gradio is imported (it reads the variable then)."""
    _sweep_stale(Path(tempfile.gettempdir()))
    path = Path(tempfile.mkdtemp(prefix=f"reviewer-ui-{os.getpid()}-"))
    os.chmod(path, 0o700)
    os.environ["GRADIO_TEMP_DIR"] = str(path)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def theme():
    import gradio as gr

    return gr.themes.Base(primary_hue="blue", neutral_hue="slate", radius_size="md",
                          font=SYSTEM_FONTS, font_mono=MONO_FONTS)


@dataclass
class Running:
    url: str
    temp_dir: Path
    demo: object
    hub: object

    def close(self, wait: float = 10.0) -> None:
        """Engines first (a running model keeps its event's stream, and so the server, open),
        then the server; never wait more than `wait` seconds. The temp dir goes regardless."""
        def stop() -> None:
            self.hub.close()
            self.demo.close()

        stopper = threading.Thread(target=stop, name="reviewer-stop", daemon=True)
        stopper.start()
        stopper.join(wait)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def start(host: str = "127.0.0.1", port: int | None = None, *, rules_only: bool = False,
          allow_remote: bool = False, open_browser: bool = False) -> Running:
    check_host(host, allow_remote)
    port = port or free_port(host)
    from reviewer import offline

    offline.enforce()
    temp_dir = private_temp_dir()
    # Uvicorn's access log would record paths and client addresses; Gradio's warnings are enough.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)

    from reviewer.review import review
    from reviewer.ui.app import build
    from reviewer.ui.hub import WARM_TEXT, EngineHub

    review(WARM_TEXT)  # compile the rule packs now (~3 s cold), not on the first user's click

    hub = EngineHub(rules_only_reason="started with --rules-only" if rules_only else None).start()
    demo = build(hub)
    demo.queue(default_concurrency_limit=8, api_open=False)
    _, url, _ = demo.launch(
        server_name=host, server_port=port, share=False, inbrowser=open_browser,
        prevent_thread_lock=True, show_error=False, quiet=True, footer_links=[],
        ssr_mode=False, mcp_server=False, pwa=False, enable_monitoring=False,
        max_file_size="40mb", theme=theme(), css=CSS_FILE.read_text(encoding="utf-8"), head=HEAD,
    )
    return Running(url=url, temp_dir=temp_dir, demo=demo, hub=hub)
