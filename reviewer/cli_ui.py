"""`reviewer ui`: open the local page. Gradio is imported only when the command runs."""

from __future__ import annotations

import os
import signal
import sys
import time

import typer
from rich.console import Console

err = Console(stderr=True, highlight=False)


def ui(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (127.0.0.1 only, "
                             "unless --allow-remote)."),
    port: int = typer.Option(7860, "--port", help="Port to listen on (0 picks a free one)."),
    rules_only: bool = typer.Option(False, "--rules-only",
                                    help="Do not load the semantic engine or the model."),
    allow_remote: bool = typer.Option(False, "--allow-remote", help="Allow a non-loopback --host. "
                                      "Anyone who can reach this machine could then use the page."),
    open_browser: bool = typer.Option(False, "--open", help="Open the page in the default browser."),
) -> None:
    """Open the reviewer page in your browser: paste a draft, get a verdict, nothing leaves this computer."""
    from reviewer.errors import ReviewerError
    from reviewer.ui.server import LOOPBACK, RemoteRefused, start

    if host not in LOOPBACK and allow_remote:
        err.print(f"WARNING: listening on {host}: anyone who can reach this machine on port {port} "
                  "can use the page and see what is reviewed. Drafts may contain patient data.",
                  style="bold red", markup=False)
    try:
        running = start(host, port or None, rules_only=rules_only, allow_remote=allow_remote,
                        open_browser=open_browser)
    except RemoteRefused as exc:
        raise ReviewerError(str(exc)) from None
    except OSError as exc:
        why = exc.strerror or exc.__class__.__name__
        raise ReviewerError(f"cannot listen on {host}:{port} ({why})") from None
    print(f"reviewer ui: open {running.url} (Ctrl+C to stop)", flush=True)
    # SIGTERM (service managers, test harnesses) must also clean the private temp dir.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        running.close()
    # Everything of ours is cleaned up; skip interpreter teardown, which can hang or abort
    # while a background thread is still inside torch/faiss/llama native code.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
