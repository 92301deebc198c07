"""What the page shows, from a Result: highlights, banner, details, compare, diffs, badges."""

from __future__ import annotations

import base64
from html import escape

from reviewer import guidance
from reviewer.schema import Finding, GuidanceHit, ImageReport, Piece, Remaining, Result, RewriteCheck
from reviewer.ui import render

TEXT = "Saw Mrs Patel (82) in bed 4 today. Poor woman has dementia."


def finding(start, end, paragraph="sm-14", topic="confidentiality", severity="high", source="rules",
            rule="patient-identifier", kind="person", pieces=(), found_by=None, agreement=None):
    return Finding(rule=rule, paragraph=paragraph, topic=topic, source=source, severity=severity,
                   start=start, end=end, quote=TEXT[start:end] if start is not None else None, kind=kind,
                   message="m <b>", suggestion="s", pieces=list(pieces),
                   found_by=found_by or [source], agreement=agreement or f"{source} only")


def result(findings, **kw):
    base = dict(verdict="do-not-post", engines={"rules": "ok"}, findings=findings, redacted=TEXT,
                rewrite_check=RewriteCheck(clean=True))
    base.update(kw)
    return Result(**base)


def test_highlights_cover_the_text_and_name_topic_and_paragraph():
    name = finding(4, 13)
    segments, owners = render.highlight_segments(TEXT, [name])
    assert "".join(s for s, _ in segments) == TEXT
    assert ("Mrs Patel", "confidentiality · sm-14") in segments
    assert owners[segments.index(("Mrs Patel", "confidentiality · sm-14"))] == 0
    assert all(tag in render.colour_map() for _, tag in segments if tag)


def test_jigsaw_marks_its_pieces_and_identifiers_keep_their_own_finding():
    age = finding(14, 18, severity="medium", kind="age", rule="patient-detail")
    pieces = [Piece(start=14, end=18, quote="(82)", kind="age"),
              Piece(start=40, end=45, quote="woman", kind="sex"),
              Piece(start=50, end=58, quote="dementia", kind="condition")]
    jigsaw = finding(14, 58, paragraph="sm-13", kind=None, rule="jigsaw", pieces=pieces)
    segments, owners = render.highlight_segments(TEXT, [age, jigsaw])
    tagged = {s: (tag, owners[i]) for i, (s, tag) in enumerate(segments) if tag}
    assert tagged["(82)"] == ("confidentiality · sm-14", 0)  # the identifier's own finding wins
    assert tagged["woman"] == ("confidentiality · sm-13", 1)
    assert tagged["dementia"] == ("confidentiality · sm-13", 1)
    assert " in bed 4 today. Poor " in [s for s, tag in segments if tag is None]  # gaps stay plain


def test_findings_without_a_span_are_not_highlighted_but_are_listed():
    image = Finding(rule="image-gps", paragraph="sm-8c", topic="location", source="rules",
                    severity="high", kind="gps", message="m", suggestion="s")
    segments, _ = render.highlight_segments(TEXT, [image])
    assert segments == [(TEXT, None)]
    (choice,) = render.finding_choices(result([image]))
    assert "location · sm-8c — whole post" in choice[0] and choice[1] == 0


def test_banner_says_verdict_counts_and_engines_and_escapes_text():
    r = result([finding(4, 13), finding(14, 18, topic="location", paragraph="sm-8c")])
    html = render.verdict_html(r, "rules only: model file not found <x>", "model: reviewing (3 s)…")
    assert "Do not post" in html and "2 findings" in html
    assert "confidentiality <b>1</b>" in html and "location <b>1</b>" in html
    assert "rules only: model file not found &lt;x&gt;" in html
    assert "model: reviewing (3 s)…" in html
    assert "Looks fine" in render.verdict_html(result([], verdict="ok"), "rules")


def test_engines_line():
    r = result([])
    assert render.engines_line(r, ["rules", "model"], {}, {"model": "model (SmolLM2-135M)"}) == \
        "rules + model (SmolLM2-135M)"
    assert render.engines_line(r, ["rules"], {"model": "model file not found"}, {}) == \
        "rules only: model: model file not found"
    assert render.engines_line(r, ["rules"], {"all": "started with --rules-only"}, {}) == \
        "rules only: started with --rules-only"
    assert render.engines_line(r, ["rules", "semantic"], {"model": "timeout"}, {}) == \
        "rules + semantic · model: timeout"


def test_detail_shows_message_suggestion_and_full_cited_paragraph():
    r = result([finding(4, 13)])
    html = render.detail_html(r, 0)
    para = guidance.load().get("sm-14")
    assert "m &lt;b&gt;" in html  # user-facing text is escaped
    assert "<b>Suggestion:</b> s</p>" in html
    assert escape(para.text) in html and "sm-14" in html
    assert "Select a finding" in render.detail_html(r, None)


def test_quotes_with_markup_cannot_inject_html():
    evil = "<img src=x onerror=alert(1)>"
    f = Finding(rule="r", paragraph="sm-14", topic="confidentiality", source="model",
                severity="high", start=0, end=len(evil), quote=evil, message=evil, suggestion=evil,
                evidence=evil)
    r = result([f])
    for html in (render.detail_html(r, 0), render.verdict_html(r, evil)):
        assert "<img" not in html and "&lt;img" in html


def test_compare_marks_each_engine_and_agreement():
    both = finding(4, 13, found_by=["rules", "model"], agreement="both")
    sem = finding(19, 27, source="semantic", topic="location", paragraph="sm-8c")
    rows = render.compare_rows(result([both, sem]))
    assert rows[0][4:] == ["✔ yes", "—", "✔ yes", "both"]
    assert rows[1][4:] == ["—", "✔ yes", "—", "semantic only"]
    assert render.compare_summary(result([both, sem])).endswith(
        "rules: 1, semantic: 1, model: 1; found by more than one engine: 1.")


def test_guidance_rows_are_sorted_by_score():
    r = result([], guidance=[GuidanceHit(paragraph="sm-13", score=0.41, topic="confidentiality", why="embedding"),
                             GuidanceHit(paragraph="sm-14", score=0.73, topic="confidentiality", why="cited")])
    rows = render.guidance_rows(r)
    assert [row[0] for row in rows] == ["sm-14", "sm-13"] and rows[0][2] == 0.73
    assert rows[0][4] == guidance.load().get("sm-14").summary


def test_diff_marks_removed_and_added_words():
    before, after = "Saw Mrs Patel today, NHS no 943 476 5919.", "Saw [PATIENT] today, NHS no [NHS NUMBER]."
    segs = render.diff_segments(before, after)
    assert ("Mrs Patel ", "removed") in segs and ("[PATIENT] ", "added") in segs
    assert ("943 476 5919.", "removed") in segs and ("[NHS NUMBER].", "added") in segs
    assert "".join(s for s, tag in segs if tag != "added") == before
    assert "".join(s for s, tag in segs if tag != "removed") == after


def test_badges():
    assert "passes re-check" in render.badge_html(RewriteCheck(clean=True))
    leak = RewriteCheck(clean=False, remaining=[Remaining(rule="r", paragraph="sm-14", topic="confidentiality",
                                                          kind="person", quote="Mrs Patel")])
    html = render.badge_html(leak)
    assert "still leaks" in html and "person “Mrs Patel” (sm-14)" in html
    assert "No model rewrite: too short" in render.badge_html(None, "too short")


def test_image_report_offers_an_in_page_download():
    report = ImageReport(has_location=True, gps=(53.8, -1.55), fields={"GPS": "53.8, -1.55", "Camera make": "Apple"})
    clean = b"\xff\xd8clean"
    html = render.image_html(report, clean, "jpg")
    assert "sm-8c" in html and "Camera make" in html and "Apple" in html
    assert f'href="data:image/jpeg;base64,{base64.b64encode(clean).decode()}"' in html
    assert render.image_html(None) == ""
