"""The Gradio page: inputs on the left, verdict first, then highlights, compare and rewrite.

Per-session data lives in gr.State (Gradio keeps one copy per browser session), never in
module globals; the only shared object is the EngineHub, whose engines run under locks.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import gradio as gr
import yaml

from reviewer.errors import ReviewerError
from reviewer.image import inspect_image, strip_metadata
from reviewer.schema import Result, ReviewContext
from reviewer.ui import render
from reviewer.ui.hub import EngineHub, Run
from reviewer.ui.session import stages
from reviewer.verify import recheck

log = logging.getLogger("reviewer.ui")

AUDIENCES = [("Public post", "public"), ("Friends-only profile", "friends"),
             ("Closed professional forum", "professional"), ("Reply to a patient", "patient")]
TRI = [("Yes", "yes"), ("No", "no"), ("Not sure", "unknown")]
_TRI_VALUE = {"yes": True, "no": False, "unknown": None}
EXAMPLES_FILE = Path(__file__).with_name("examples.yml")
STOP_SETTLE_S = 0.5  # after Stop, how long a progress frame already on its way may take to land
EMPTY = Result(verdict="ok", engines={}, findings=[], redacted="", rewrite_check={"clean": True})


def load_examples() -> list[dict]:
    return yaml.safe_load(EXAMPLES_FILE.read_text(encoding="utf-8"))


def _context(audience: str, as_doctor: str, named: str) -> ReviewContext:
    return ReviewContext(audience=audience, as_doctor=_TRI_VALUE[as_doctor], named=_TRI_VALUE[named])


def _labels(hub: EngineHub) -> dict[str, str]:
    return {n: s.label or n for n, s in hub.states.items()}


def _safe_error(exc: Exception) -> str:
    """User errors carry a message written for them; anything else shows its class only,
    because an exception message could quote the draft."""
    if isinstance(exc, ReviewerError):
        return str(exc)
    log.warning("review failed: %s", exc.__class__.__name__)
    return f"internal error ({exc.__class__.__name__}); nothing was saved"


def read_upload(path: str | None) -> bytes | None:
    """Read an uploaded photo into memory and delete Gradio's copy at once."""
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    finally:
        _remove_upload(path)


def _remove_upload(path: str) -> None:
    p = Path(path)
    try:
        p.unlink(missing_ok=True)
        if p.parent != Path(os.environ.get("GRADIO_TEMP_DIR", "/nonexistent")):
            p.parent.rmdir()  # Gradio puts each upload in its own folder
    except OSError:
        pass


def _rewrite_column(title: str, note: str, key: str, label: str):
    """One safer version: its re-check badge, the text (copyable) and its diff from the draft."""
    with gr.Column():
        gr.Markdown(f"### {title}\n{note}")
        badge = gr.HTML(label=f"{title} re-check", elem_id=f"rv-{key}-badge")
        box = gr.Textbox(label=label, lines=5, interactive=False, buttons=["copy"], elem_id=f"rv-{key}")
        diff = gr.HighlightedText(label=f"Changes from your draft ({title.lower()})",
                                  color_map=render.DIFF_COLOURS, show_legend=True, interactive=False)
    return badge, box, diff


def build(hub: EngineHub) -> gr.Blocks:
    examples = load_examples()
    colour_map = render.colour_map()

    with gr.Blocks(title="Draft reviewer — GMC guidance on social media", analytics_enabled=False,
                   delete_cache=(60, 120)) as demo:
        session = gr.State(None)  # {"result": Result, "text": str, "ctx": ReviewContext, "owners": [...]}
        photo = gr.State(None)  # the uploaded photo's bytes, in memory only
        # Which review of this session is current. Only ever mutated in place (never an
        # output), so every handler of the session sees the same dict: a newer review or
        # Stop retires the older run at its next progress tick, whatever Gradio's cancel does.
        # "active" is that review's Run: cancelling it stops the model mid-generation.
        runs = gr.State({"current": 0}, delete_callback=lambda r: hub.cancel(r.get("active")))
        live: dict[str, Run] = {}  # session hash -> its running review, for the page closing

        with gr.Row(elem_classes="rv-header"):
            gr.HTML(label="About this page", value=(
                "<header><h1>Check a post before you share it</h1><p>Paste your draft, say where it "
                "will go, and get a verdict against the GMC guidance <i>Doctors’ use of social "
                "media</i>. Everything runs on this computer.</p></header>"))
        engines_status = gr.HTML(render.status_html(hub.summary()), label="Engines",
                                 elem_id="rv-engines-status")

        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=340):
                draft = gr.Textbox(label="Your draft", lines=9, max_lines=30, elem_id="rv-draft",
                                   placeholder="Paste the post, comment or reply you are about to send…")
                audience = gr.Radio(AUDIENCES, value="public", label="Where will it be posted?",
                                    elem_id="rv-audience")
                with gr.Row():
                    as_doctor = gr.Radio(TRI, value="unknown", label="I present as a doctor on this account",
                                         elem_id="rv-as-doctor")
                    named = gr.Radio(TRI, value="unknown", label="My real name is on the account",
                                     elem_id="rv-named")
                upload = gr.File(label="Photo to post with it (optional; checked for hidden location data)",
                                 file_types=["image"], type="filepath", elem_id="rv-photo", height=150)
                photo_info = gr.HTML(label="Photo check", elem_id="rv-photo-report")
                with gr.Row():
                    review_btn = gr.Button("Review", variant="primary", elem_id="rv-review", scale=3,
                                           min_width=100)
                    stop_btn = gr.Button("Stop", variant="secondary", elem_id="rv-stop", scale=1,
                                         min_width=70)
                    clear_btn = gr.Button("Clear", variant="secondary", elem_id="rv-clear", scale=1,
                                          min_width=70)
                gr.Markdown("**Try an example** (fills the form and reviews it):")
                with gr.Row(elem_classes="rv-examples"):
                    example_btns = [gr.Button(e["label"], size="sm", variant="secondary",
                                              elem_classes="rv-example") for e in examples]

            with gr.Column(scale=7, min_width=420):
                banner = gr.HTML(render.idle_html(hub.summary()), label="Verdict", elem_id="rv-verdict")
                with gr.Tabs():
                    with gr.Tab("Findings", id="findings"):
                        highlights = gr.HighlightedText(
                            label="Your draft with the findings marked (topic · guidance paragraph)",
                            color_map=colour_map, show_legend=False, show_inline_category=True,
                            combine_adjacent=False, interactive=False, elem_id="rv-highlights")
                        choose = gr.Radio([], label="Findings — choose one to see the details",
                                          elem_id="rv-findings", type="value")
                        detail = gr.HTML(render.detail_html(EMPTY, None), label="Finding details",
                                         elem_id="rv-detail")
                    with gr.Tab("Compare engines", id="compare"):
                        compare_note = gr.Markdown("Run a review to compare the engines.")
                        compare = gr.HTML(label="Findings by engine", elem_id="rv-compare")
                        guidance_tbl = gr.HTML(label="Retrieved guidance", elem_id="rv-guidance")
                    with gr.Tab("Safer version", id="rewrite"):
                        with gr.Row(equal_height=False):
                            redacted_badge, redacted_box, redacted_diff = _rewrite_column(
                                "Redaction", "Identifiers replaced by placeholders (deterministic).",
                                "redacted", "Redacted draft")
                            rewrite_badge, rewrite_box, rewrite_diff = _rewrite_column(
                                "Model rewrite", "Shown only when it passes the rules re-check.",
                                "rewrite", "Model rewrite")
                        gr.Markdown("### Edit and re-check\n"
                                    "Start from the safer version, make it yours, and check again.")
                        edit_box = gr.Textbox(label="Your edited version", lines=5, interactive=True,
                                              buttons=["copy"], elem_id="rv-edit")
                        recheck_btn = gr.Button("Re-check my version", elem_id="rv-recheck")
                        edit_badge = gr.HTML(label="Your version's re-check", elem_id="rv-edit-badge")
                        edit_diff = gr.HighlightedText(label="Changes from your draft (your version)",
                                                       color_map=render.DIFF_COLOURS, show_legend=True,
                                                       interactive=False)

        result_outputs = [banner, highlights, choose, detail, compare_note, compare, guidance_tbl,
                          redacted_badge, redacted_box, redacted_diff, rewrite_badge, rewrite_box,
                          rewrite_diff, edit_box, edit_badge, edit_diff, session]
        skip_all = tuple(gr.skip() for _ in result_outputs)

        def full(result: Result, text: str, ctx: ReviewContext, engines_text: str, progress: str,
                 keep_edit: bool):
            segments, owners = render.highlight_segments(text, result.findings)
            redacted_check = recheck(result.redacted, ctx, "redacted")
            if result.rewrite is not None and result.rewrite_check.target == "rewrite":
                rw_check = result.rewrite_check
                rw_text, rw_diff = result.rewrite, render.diff_segments(text, result.rewrite)
            else:
                rw_check, rw_text, rw_diff = None, "", []
            best = rw_text if rw_check is not None and rw_check.clean else result.redacted
            state = {"result": result, "text": text, "ctx": ctx, "owners": owners}
            return (
                render.verdict_html(result, engines_text, progress),
                segments,
                gr.update(choices=render.finding_choices(result), value=None),
                render.detail_html(result, 0 if result.findings else None),
                render.compare_summary(result),
                render.compare_html(result),
                render.guidance_html(result),
                render.badge_html(redacted_check),
                result.redacted,
                render.diff_segments(text, result.redacted),
                render.badge_html(rw_check, result.rewrite_check.withheld or _model_note(result)),
                rw_text,
                rw_diff,
                gr.skip() if keep_edit else best,
                gr.skip() if keep_edit else "",
                gr.skip() if keep_edit else [],
                state,
            )

        def on_review(text, audience_v, as_doctor_v, named_v, photo_bytes, run, request: gr.Request):
            hub.cancel(run.get("active"))  # a newer review stops the older one's engines now
            token = run["active"] = Run()
            session_id = getattr(request, "session_hash", None)
            if session_id:
                live[session_id] = token
            run["current"] += 1
            mine = run["current"]
            try:
                ctx = _context(audience_v, as_doctor_v, named_v)
                labels = _labels(hub)
                first = True
                for stage in stages(text or "", ctx, hub, photo_bytes, run=token):
                    if run["current"] != mine:  # superseded by a newer review or stopped
                        return
                    engines_text = render.engines_line(stage.result, stage.ran, stage.notes, labels)
                    if stage.phase == "progress":  # same result: only the banner's progress line
                        yield (render.verdict_html(stage.result, engines_text, stage.progress),
                               *skip_all[1:])
                        continue
                    progress = "" if stage.final else stage.progress
                    yield full(stage.result, text, ctx, engines_text, progress, keep_edit=not first)
                    first = False
            except Exception as exc:  # noqa: BLE001 - shown to the user without draft text
                yield (render.error_html(_safe_error(exc)), *skip_all[1:])
            finally:
                hub.cancel(token)  # superseded, stopped or closed: nothing of it may keep running
                if session_id and live.get(session_id) is token:
                    del live[session_id]

        def on_choose(index, state):
            if not state:
                return gr.skip()
            return render.detail_html(state["result"], index)

        def on_select_span(state, evt: gr.SelectData):
            if not state or evt.index is None:
                return gr.skip(), gr.skip()
            idx = evt.index if isinstance(evt.index, int) else evt.index[0]
            owners = state["owners"]
            finding = owners[idx] if 0 <= idx < len(owners) else None
            if finding is None:
                return gr.skip(), gr.skip()
            return render.detail_html(state["result"], finding), finding

        def on_recheck(edited, state):
            if not state:
                return render.error_html("Review a draft first."), []
            if not (edited or "").strip():
                return render.error_html("Your edited version is empty."), []
            check = recheck(edited, state["ctx"], "rewrite")
            return render.badge_html(check), render.diff_segments(state["text"], edited)

        def stopped_banner(state):
            if not state:
                return render.idle_html(hub.summary())
            return render.verdict_html(state["result"], "stopped: showing the result so far", "")

        def on_stop(state, run):
            run["current"] += 1
            run["stopped"] = run["current"]
            hub.cancel(run.get("active"))  # the model stops generating, not just the page
            return stopped_banner(state)

        def after_stop(state, run):
            # A progress frame the review had already sent can reach the page after Stop's
            # answer and bring the spinner back for good: say "stopped" once more after it,
            # unless a newer review has started since.
            time.sleep(STOP_SETTLE_S)
            return stopped_banner(state) if run.get("stopped") == run["current"] else gr.skip()

        def on_upload(path):
            try:
                data = read_upload(path)
                if data is None:
                    return None, ""
                report = inspect_image(data)
                clean, ext = strip_metadata(data)
                return data, render.image_html(report, clean, ext)
            except Exception as exc:  # noqa: BLE001
                return None, render.error_html(_safe_error(exc))

        def on_clear():
            return ("", None, "", render.idle_html(hub.summary()), [], gr.update(choices=[], value=None),
                    render.detail_html(EMPTY, None), None)

        inputs = [draft, audience, as_doctor, named, photo, runs]
        # Progress is in the banner; Gradio's own overlay would hide the rules answer meanwhile.
        # "multiple": a click while an older review is still pending is never dropped (the
        # older run retires itself, see `runs`).
        review_opts = {"concurrency_id": "review", "show_progress": "hidden", "trigger_mode": "multiple"}
        review_event = review_btn.click(on_review, inputs, result_outputs, **review_opts)
        submit_event = draft.submit(on_review, inputs, result_outputs, **review_opts)
        stop_btn.click(on_stop, [session, runs], [banner], cancels=[review_event, submit_event],
                       queue=False).then(after_stop, [session, runs], [banner], queue=False)
        example_events = []
        for btn, ex in zip(example_btns, examples, strict=True):
            ev = btn.click(
                lambda e=ex: (e["text"], e["audience"], _tri_key(e.get("as_doctor")),
                              _tri_key(e.get("named"))),
                None, [draft, audience, as_doctor, named], queue=False,
            ).then(on_review, inputs, result_outputs, **review_opts)
            example_events.append(ev)
        stop_btn.click(None, None, None, cancels=example_events, queue=False)
        choose.change(on_choose, [choose, session], [detail], queue=False)
        highlights.select(on_select_span, [session], [detail, choose], queue=False)
        recheck_btn.click(on_recheck, [edit_box, session], [edit_badge, edit_diff])
        upload.upload(on_upload, [upload], [photo, photo_info])
        upload.clear(lambda: (None, ""), None, [photo, photo_info], queue=False)
        clear_btn.click(on_clear, None, [draft, upload, photo_info, banner, highlights, choose, detail,
                                          photo], queue=False)

        # Engine warm-up state, refreshed until every engine has settled.
        timer = gr.Timer(1.0, active=not hub.settled())

        def on_tick():
            return render.status_html(hub.summary()), gr.Timer(active=not hub.settled())

        timer.tick(on_tick, None, [engines_status, timer], queue=False, show_progress="hidden")

        def on_unload(request: gr.Request):  # the page was closed: stop its review's engines
            hub.cancel(live.pop(getattr(request, "session_hash", None) or "", None))

        demo.unload(on_unload)
    return demo


def _model_note(result: Result) -> str:
    status = result.engines.get("model", "")
    return "" if status == "ok" else status.removeprefix("unavailable: ")


def _tri_key(value) -> str:
    return {True: "yes", False: "no"}.get(value, "unknown")
