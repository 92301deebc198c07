"""`reviewer doctor`: which model would run, is it intact, does it load, is the process offline."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import typer


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def inspect(settings, load: bool = True) -> dict:
    """Facts about the configured model (no draft involved). `ok` is False when it cannot run."""
    from reviewer import offline
    from reviewer.engines.model import config, prompts
    from reviewer.engines.model.backends import BackendError
    from reviewer.engines.model.engine import ModelEngine

    report: dict = {"backend": settings.backend, "timeout_s": settings.timeout,
                    "config_file": str(config.config_path()),
                    "config_file_found": config.config_path().is_file(),
                    "prompts": prompts.versions(), "offline_env": offline.report()}
    if settings.backend == "llama":
        path = settings.model_path()
        report["model"] = str(path)
        report["threads"] = settings.effective_threads()
        report["physical_cores"] = config.physical_cores()
        report["n_ctx"] = settings.n_ctx
        if path.is_file():
            report["size_bytes"] = path.stat().st_size
            report["sha256"] = _sha256(path)
    elif settings.backend == "openai":
        report["server_url"] = settings.server_url
    engine = ModelEngine(settings, similarity=None)
    try:
        from reviewer.engines.model.engine import embedding_similarity

        report["meaning_gate"] = "on" if embedding_similarity() else "off (no embedder installed)"
        if settings.backend == "none":
            report.update(ok=True, loads="model disabled (backend none)")
        elif settings.backend == "llama" and "size_bytes" not in report:
            report.update(ok=False, loads=f"unavailable: model file not found: {report['model']}")
        elif engine.setup_error:
            report.update(ok=False, loads=engine.setup_error)
        elif not load:
            report.update(ok=True, loads="not tried (--no-load)")
        else:
            try:
                info = engine.load()
                report.update(ok=True, loads="yes", **{f"load_{k}" if k in ("n_ctx",) else k: v
                                                        for k, v in info.items()})
            except BackendError as exc:
                report.update(ok=False, loads=exc.status)
    finally:
        engine.close()
    return report


def _size(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n < 1e9 else f"{n / 1e9:,.2f} GB"


def doctor(
    model: str | None = typer.Option(None, "--model", help="'default', PATH.gguf or 'none'."),
    backend: str | None = typer.Option(None, "--backend", help="llama, openai or none."),
    server_url: str | None = typer.Option(None, "--server-url", help="OpenAI-compatible server URL."),
    load: bool = typer.Option(True, "--load/--no-load", help="Try loading the model (or reaching the server)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check the model setup: file, size, checksum, context, threads, whether it loads, offline mode.
    Exit 0 when the model can run (or is disabled), 1 when it cannot."""
    from rich.console import Console

    from reviewer.engines.model.config import resolve

    settings = resolve(model=model, backend=backend, server_url=server_url)
    report = inspect(settings, load=load)
    if as_json:
        print(json.dumps(report, indent=1))
        raise typer.Exit(0 if report["ok"] else 1)
    out = Console(highlight=False, soft_wrap=True)
    rows = [("backend", report["backend"])]
    if "model" in report:
        rows.append(("model file", report["model"]))
        if "size_bytes" in report:
            rows += [("size", _size(report["size_bytes"])), ("sha256", report["sha256"])]
        else:
            rows.append(("size", "file not found"))
        trained = f" (trained {report['n_ctx_train']})" if "n_ctx_train" in report else ""
        rows.append(("context", f"{report.get('load_n_ctx', report['n_ctx'])} tokens{trained}"))
        rows.append(("threads", f"{report['threads']} (physical cores: {report['physical_cores']})"))
    if "server_url" in report:
        rows.append(("server", report["server_url"]))
    loads = report["loads"]
    if loads == "yes":
        details = [f"in {report['load_s']:.2f} s"]
        if report.get("model_name"):
            details.append(str(report["model_name"]))
        if report.get("n_params"):
            details.append(f"{report['n_params'] / 1e6:,.0f}M parameters")
        if report.get("chat_template"):
            details.append(f"chat template: {report['chat_template']}")
        if report.get("peak_rss_mb"):
            details.append(f"worker RSS {report['peak_rss_mb']:.0f} MB")
        loads = "yes, " + ", ".join(details)
    rows += [("loads", loads), ("timeout", f"{report['timeout_s']:g} s per draft"),
             ("prompts", ", ".join(f"{k} v{v}" for k, v in report["prompts"].items())),
             ("rewrite meaning gate", report["meaning_gate"]),
             ("config file", report["config_file"] + ("" if report["config_file_found"] else " (none)")),
             ("offline env", " ".join(f"{k}={v or '(unset)'}" for k, v in report["offline_env"].items()))]
    for key, value in rows:
        out.print(f"{key:22} {value}", markup=False)
    raise typer.Exit(0 if report["ok"] else 1)
