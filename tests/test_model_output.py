"""The gate on model findings: crafted model outputs in, only verifiable findings out."""

from __future__ import annotations

import json

import jsonschema
import pytest

from reviewer import guidance
from reviewer.engines.base import Draft
from reviewer.engines.model import output
from reviewer.normalise import normalise
from reviewer.schema import TOPICS, Finding, ReviewContext

TEXT = "Lovely chat with Mr Okafor in bed 6 today. Our new clinic is the best in London, guaranteed!"


def draft(text: str = TEXT) -> Draft:
    return Draft(text, normalise(text), ReviewContext(), [], text)


def item(**kw) -> dict:
    base = {"quote": "Mr Okafor in bed 6", "paragraph": "sm-14", "topic": "confidentiality",
            "severity": "high", "note": "names a patient"}
    return {**base, **kw}


def run(items, verdict="revise", text=TEXT) -> output.Checked:
    return output.check(json.dumps({"findings": items, "verdict": verdict}), draft(text))


def test_schema_is_valid_json_schema_with_legal_values_only():
    schema = output.review_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    props = schema["properties"]["findings"]["items"]["properties"]
    assert set(props["topic"]["enum"]) == set(TOPICS)
    ids = set(props["paragraph"]["enum"])
    assert ids <= set(guidance.load().ids)
    assert "sm-9" not in ids  # the benefits paragraph is never a breach
    assert {"sm-14", "sm-13", "gmp-70", "sm-19"} <= ids
    jsonschema.validate({"findings": [item()], "verdict": "revise"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"findings": [item(paragraph="sm-99")], "verdict": "revise"}, schema)


def test_valid_item_becomes_model_finding_with_offsets():
    checked = run([item()])
    assert checked.parsed and not checked.dropped
    [f] = checked.findings
    assert isinstance(f, Finding) and f.source == "model" and f.paragraph == "sm-14"
    assert TEXT[f.start:f.end] == "Mr Okafor in bed 6" == f.quote
    assert f.evidence == "model's note: names a patient"
    assert "sm-14" in f.message  # message from the guidance, not model prose


@pytest.mark.parametrize("bad, reason", [
    (item(quote="Mrs Jones in bed 9"), "quote_not_found"),
    (item(paragraph="sm-99"), "unknown_paragraph"),
    (item(paragraph="sm-9", topic="confidentiality"), "not_a_breach_paragraph"),
    (item(topic="gossip"), "bad_topic"),
    (item(topic="advertising"), "topic_mismatch"),
    (item(severity="critical"), "bad_severity"),
    (item(quote=" a "), "quote_too_short"),
    (item(quote=7), "schema"),
    ("just a string", "schema"),
])
def test_invalid_items_are_dropped_and_counted(bad, reason):
    checked = run([bad, item(quote="best in London", paragraph="gmp-70", topic="advertising",
                             severity="medium")])
    assert checked.dropped == {reason: 1}
    assert [f.paragraph for f in checked.findings] == ["gmp-70"]


def test_duplicates_and_too_many_are_dropped():
    checked = run([item()] * 2)
    assert len(checked.findings) == 1 and checked.dropped == {"duplicate": 1}
    words = ["Lovely chat", "with Mr", "bed 6 today", "Our new clinic", "best in London", "guaranteed"]
    checked = run([item(quote=w) for w in words])
    assert len(checked.findings) == output.MAX_FINDINGS
    assert checked.dropped == {"too_many": len(words) - output.MAX_FINDINGS}


def test_unparsable_and_wrong_shape():
    d = draft()
    assert output.check('{"findings": [', d).dropped == {"unparsable": 1}
    assert not output.check('{"findings": [', d).parsed
    assert output.check('[1, 2]', d).dropped == {"schema": 1}
    assert output.check('{"verdict": "ok"}', d).dropped == {"schema": 1}


def test_verdict_without_valid_findings_changes_nothing():
    checked = run([item(quote="not in the draft")], verdict="do-not-post")
    assert checked.findings == []
    assert checked.dropped == {"quote_not_found": 1, "verdict_without_findings": 1}
    assert run([], verdict="ok").dropped == {}


def test_quote_found_through_the_normalised_view():
    # Curly apostrophe and a Cyrillic 'о' in the draft; the model echoes plain ASCII.
    text = "Met Mr O\u2019Brien at St Jud\u0435\u2019s today"
    checked = run([item(quote="Mr O'Brien at St Jude's")], text=text)
    [f] = checked.findings
    assert text[f.start:f.end] == "Mr O\u2019Brien at St Jud\u0435\u2019s"
    assert f.quote == text[f.start:f.end]


def test_first_item_closed_detects_the_first_finding_in_a_stream():
    from reviewer.engines.model.engine import first_item_closed

    assert not first_item_closed('{"findings": [{"quote": "a}b", "note": "x')
    assert first_item_closed('{"findings": [{"quote": "a}b", "note": "x"}')
    assert not first_item_closed('{"findings": [], "verdict": "ok"}')


def test_output_cut_at_the_token_limit_keeps_its_complete_findings():
    full = json.dumps({"findings": [item(), item(quote="best in London", paragraph="gmp-70",
                                                  topic="advertising")], "verdict": "revise"})
    cut = full[: full.index("best in London") + 5]
    assert not output.check(cut, draft()).parsed
    checked = output.check(cut, draft(), truncated=True)
    assert checked.parsed and [f.quote for f in checked.findings] == ["Mr Okafor in bed 6"]
    assert checked.dropped == {"truncated": 1}
    assert output.salvage('{"findings": [{"quote": "x') is None
