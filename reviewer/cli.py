"""Command line: `reviewer check | batch | eval | guidance | rules`.

Exit codes (DESIGN.md): check 0 = nothing found, 1 = findings, 2 = usage or input error.
User errors print one line and never a traceback; unexpected errors print the exception
class only, because its message could contain draft text.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from reviewer.errors import ReviewerError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Check a social-media draft against the GMC guidance 'Doctors' use of social media', "
    "on this machine only.",
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # one error, one line


class Format(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"


class AudienceOpt(str, Enum):
    public = "public"
    friends = "friends"
    professional = "professional"
    patient = "patient"


def _tri(value: Optional[str], name: str) -> Optional[bool]:
    if value is None or value == "unknown":
        return None
    if value in ("true", "yes", "1"):
        return True
    if value in ("false", "no", "0"):
        return False
    raise typer.BadParameter(f"{name} must be true, false or unknown")


def _context(audience: AudienceOpt, as_doctor: Optional[str], named: Optional[str]):
    from reviewer.schema import ReviewContext

    return ReviewContext(audience=audience.value, as_doctor=_tri(as_doctor, "--as-doctor"),
                         named=_tri(named, "--named"))


AS_DOCTOR = typer.Option(None, "--as-doctor", help="Author presents as a doctor: true/false/unknown.")
NAMED = typer.Option(None, "--named", help="Account shows the author's real name: true/false/unknown.")
AUDIENCE = typer.Option(AudienceOpt.public, "--audience", "-a", help="Where the draft will be posted.")
MODEL = typer.Option(None, "--model", help="Local model: 'default' (bundled SmolLM2), PATH.gguf or 'none'.")
BACKEND = typer.Option(None, "--backend", help="Model backend: llama, openai or none.")
SERVER_URL = typer.Option(None, "--server-url", help="OpenAI-compatible server (on-prem) for --backend openai.")
MODEL_TIMEOUT = typer.Option(None, "--model-timeout", help="Seconds the model may spend on one draft.")
SEMANTIC = typer.Option(False, "--semantic", help="Also run the semantic engine (MiniLM embeddings, per-topic classifiers fitted on the example bank and dev).")


def _semantic_engines(wanted: bool) -> list:
    """The semantic engine only when asked for: it loads torch and the embedder (seconds)."""
    if not wanted:
        return []
    from reviewer.engines import create

    return [create("semantic")]


def _model_engines(skip: bool, **flags) -> list:
    """The model engine when asked for (a flag, REVIEWER_MODEL/_BACKEND/_SERVER_URL or the
    config file); none otherwise, so the rules path never starts a model."""
    if skip:
        return []
    from reviewer.engines.model import config as model_config

    if not model_config.requested(**flags):
        return []
    from reviewer.engines import create

    return [create("model", **flags)]


def _engines(semantic: bool, skip_model: bool, *, model, backend, server_url, timeout) -> list:
    """The optional engines a command runs, created once so models stay loaded across drafts."""
    return _semantic_engines(semantic) + _model_engines(
        skip_model, model=model, backend=backend, server_url=server_url, timeout=timeout)


@app.command()
def check(
    source: str = typer.Argument(..., help="File with the draft, or - for standard input."),
    fmt: Format = typer.Option(Format.text, "--format", "-f", help="text, json or sarif."),
    audience: AudienceOpt = AUDIENCE,
    as_doctor: Optional[str] = AS_DOCTOR,
    named: Optional[str] = NAMED,
    rules_only: bool = typer.Option(False, "--rules-only", help="Skip the semantic and model engines."),
    show_guidance: bool = typer.Option(False, "--show-guidance", help="List the relevant guidance paragraphs."),
    model: Optional[str] = MODEL,
    backend: Optional[str] = BACKEND,
    server_url: Optional[str] = SERVER_URL,
    model_timeout: Optional[float] = MODEL_TIMEOUT,
    semantic: bool = SEMANTIC,
    image: Optional[Path] = typer.Option(
        None, "--image", help="A photo to post with the draft: its GPS/place/time metadata is checked (sm-8c)."),
    strip_image: Optional[Path] = typer.Option(
        None, "--strip-image", help="With --image: write a copy without any metadata to this new file."),
) -> None:
    """Review one draft. Exit 0 when nothing is found, 1 when there are findings."""
    from reviewer.inputs import read_source
    from reviewer.review import review

    if strip_image is not None and image is None:
        raise ReviewerError("--strip-image needs --image PHOTO")
    text = read_source(source)
    photo = _read_photo(image) if image is not None else None
    engines = _engines(semantic and not rules_only, rules_only, model=model, backend=backend,
                       server_url=server_url, timeout=model_timeout)
    retriever = None
    if show_guidance and not rules_only:  # embeddings load only when asked for
        from reviewer.retrieval import Retriever

        retriever = Retriever()
    result = review(text, _context(audience, as_doctor, named), engines=engines, retriever=retriever)
    if photo is not None:
        from reviewer.image import attach, inspect_image

        result = attach(result, inspect_image(photo))
        if strip_image is not None:
            _write_stripped(photo, strip_image)
    if retriever is not None and retriever.error:
        err.print(f"reviewer: guidance retrieval unavailable ({retriever.error}); showing cited paragraphs",
                  markup=False)
    if fmt is Format.json:
        out.print_json(result.model_dump_json()) if sys.stdout.isatty() else print(result.model_dump_json())
    elif fmt is Format.sarif:
        from reviewer.present.sarif import to_sarif

        print(json.dumps(to_sarif([(result, "stdin" if source == "-" else source)]), indent=1))
    else:
        from reviewer.present.text import render

        render(result, text, out, show_guidance=show_guidance)
    raise typer.Exit(1 if result.findings else 0)


def _read_photo(path: Path) -> bytes:
    from reviewer.image import MAX_BYTES

    if path.is_dir():
        raise ReviewerError(f"{path} is a folder, not a photo")
    if not path.is_file():
        raise ReviewerError(f"photo not found: {path}")
    if path.stat().st_size > MAX_BYTES:
        raise ReviewerError(f"the photo is too large ({path.stat().st_size // 1_000_000} MB; "
                            f"limit {MAX_BYTES // 1_000_000} MB)")
    try:
        return path.read_bytes()
    except OSError as e:
        raise ReviewerError(f"cannot read the photo {path}: {e.strerror}") from None


def _write_stripped(photo: bytes, dest: Path) -> None:
    """The user names the file; never overwrite anything (the original above all)."""
    from reviewer.image import strip_metadata

    data, _ext = strip_metadata(photo)
    try:
        with dest.open("xb") as fh:
            fh.write(data)
    except FileExistsError:
        raise ReviewerError(f"{dest} already exists: choose a new file for the stripped copy") from None
    except OSError as e:
        raise ReviewerError(f"cannot write {dest}: {e.strerror}") from None
    err.print(f"reviewer: wrote a copy without metadata to {dest}", markup=False)


@app.command()
def batch(
    source: str = typer.Argument(..., help="JSONL file (id, text, audience, as_doctor, named), or -."),
    rules_only: bool = typer.Option(False, "--rules-only", help="Skip the semantic and model engines."),
    model: Optional[str] = MODEL,
    backend: Optional[str] = BACKEND,
    server_url: Optional[str] = SERVER_URL,
    model_timeout: Optional[float] = MODEL_TIMEOUT,
    semantic: bool = SEMANTIC,
) -> None:
    """Review one draft per JSONL line; write one JSON result per line, in order."""
    from reviewer import batch as batch_mod
    from reviewer.review import review

    engines = _engines(semantic and not rules_only, rules_only, model=model, backend=backend,
                       server_url=server_url, timeout=model_timeout)

    if source == "-":
        if sys.stdin is None or sys.stdin.closed:
            raise ReviewerError("no standard input to read: pass the JSONL file's path")
        stream = sys.stdin.buffer
    else:
        path = Path(source)
        if path.is_dir():
            raise ReviewerError(f"{source} is a folder, not a file")
        if not path.is_file():
            raise ReviewerError(f"file not found: {source}")
        stream = path.open("rb")
    errors = 0

    def on_error(message: str) -> None:
        nonlocal errors
        errors += 1
        err.print(f"reviewer batch: {message}")

    def review_one(item):
        return review(item.text, item.context(), id=None if item.id is None else str(item.id),
                      engines=engines)

    with stream:
        for line in batch_mod.run(stream, review_one, on_error):
            sys.stdout.write(line + "\n")
    sys.stdout.flush()
    raise typer.Exit(2 if errors else 0)


@app.command("eval")
def eval_cmd(
    data: Path = typer.Argument(..., help="Labelled JSONL (tests/data/dev.jsonl)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    show_text: bool = typer.Option(False, "--show-text", help="Print the text of missed/false-alarm drafts."),
    rules_only: bool = typer.Option(True, "--rules-only/--all-engines", help="Which engines to score."),
    model: Optional[str] = MODEL,
    backend: Optional[str] = BACKEND,
    server_url: Optional[str] = SERVER_URL,
    model_timeout: Optional[float] = MODEL_TIMEOUT,
    semantic: bool = SEMANTIC,
) -> None:
    """Precision/recall/F1 per topic, macro-F1, identifier spans, clean false-flag rate."""
    from reviewer.evaluate import evaluate, load_labelled
    from reviewer.present.report import render_eval
    from reviewer.review import review

    rows = load_labelled(data)
    flags = dict(model=model, backend=backend, server_url=server_url, timeout=model_timeout)
    # A model flag asks for the model even though eval scores rules only by default.
    engines = _engines(semantic or not rules_only,
                       rules_only and all(v is None for v in flags.values()), **flags)
    report = evaluate(rows, lambda item: review(item.text, item.context(), id=str(item.id),
                                                engines=engines),
                      engines=("rules",) + tuple(e.name for e in engines))
    report["data"] = str(data)
    if as_json:
        print(json.dumps(report, indent=1))
    else:
        render_eval(report, out, rows if show_text else None)


@app.command("guidance")
def guidance_cmd(
    paragraph: Optional[str] = typer.Argument(None, help="Paragraph id, e.g. sm-13."),
    list_ids: bool = typer.Option(False, "--list", help="List every paragraph id with its topic."),
) -> None:
    """Print a paragraph of the GMC guidance, or list the ids."""
    from reviewer import guidance

    corpus = guidance.load()
    if list_ids or paragraph is None:
        for p in corpus.paragraphs:
            out.print(f"{p.id:9} {p.topic:16} {p.summary}")
        out.print(f"\n{corpus.attribution}", style="dim")
        return
    try:
        p = corpus.get(paragraph)
    except KeyError:
        raise ReviewerError(f"unknown paragraph {paragraph!r}; see `reviewer guidance --list`") from None
    out.print(f"{p.id} ({p.topic}) — {p.source}", style="bold")
    out.print(p.text)
    out.print(f"\n{corpus.attribution}", style="dim")


@app.command("rules")
def rules_cmd() -> None:
    """List the loaded rules with their topic, paragraph and severity."""
    from reviewer import rulepacks

    for rule in rulepacks.load().rules:
        out.print(f"{rule.id:28} {rule.topic:16} {','.join(rule.paragraphs()):22} {rule.spec.severity}")


from reviewer.cli_ui import ui as _ui  # noqa: E402 - `reviewer ui` (gradio loads only when it runs)

app.command("ui")(_ui)

from reviewer.cli_doctor import doctor as _doctor  # noqa: E402 - `reviewer doctor` (model loads only when it runs)

app.command("doctor")(_doctor)

from reviewer.cli_index import index_app as _index_app  # noqa: E402 - torch/faiss load only when a command runs

app.add_typer(_index_app, name="index")


def main() -> None:
    try:
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except ReviewerError as exc:
        err.print(f"reviewer: error: {exc}", markup=False)
        sys.exit(2)
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - last resort: no traceback, no draft text
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # click/typer usage errors
            if exc.__class__.__name__ == "NoArgsIsHelpError":  # bare `reviewer`: show the help
                exc.show()
                sys.exit(exc.exit_code)
            # One line, like every other input error (click's own show() prints three).
            ctx = getattr(exc, "ctx", None)
            hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            err.print(f"reviewer: error: {exc.format_message()}{hint}", markup=False)
            sys.exit(exc.exit_code)
        if exc.__class__.__name__ == "Abort":
            sys.exit(130)
        err.print(f"reviewer: internal error ({exc.__class__.__name__}); no draft text was logged",
                  markup=False)
        sys.exit(3)
