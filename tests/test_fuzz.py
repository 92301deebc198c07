"""Property fuzzing of everything that sees pasted text: normalisation, every recogniser, the
rules engine, the whole review, JSON/SARIF/text output and the batch reader.

Invariants: nothing crashes (bad input is an InputError, nothing else), every offset lies
inside the text as given and `quote == text[start:end]`, and every result validates against
the JSON schema of reviewer.schema.Result.

The normal suite runs the "fast" hypothesis profile (tests/conftest.py); the long run is
`bash benchmarks/fuzz_long.sh` (profile "long", ≥100k examples in all).
"""

from __future__ import annotations

import io
import json

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from reviewer import batch, guidance
from reviewer.engines import rules as rules_engine
from reviewer.errors import InputError
from reviewer.inputs import vet
from reviewer.normalise import normalise
from reviewer.present.sarif import to_sarif
from reviewer.present.text import render
from reviewer.recognisers import registry
from reviewer.review import review
from reviewer.schema import TOPICS, BatchInput, Result, ReviewContext, json_schema, verdict_for

# Pieces that make recognisers and rules fire, so the fuzzer explores findings, not only noise.
FRAGMENTS = [
    "Mrs Patel", "Mr O'Neil", "Dr Jones", "aged 82", "82yo", "an 82-year-old", "82 y/o", "bed 4",
    "Ward 9", "St Mary's", "NHS no 943 476 5919", "9434765919", "943.476.5919", "9 4 3 4 7 6 5 9 1 9",
    "N H S n o", "MRN 1234567", "hospital no: RX12345", "07700 900123", "+44 20 7946 0958",
    "(020) 7946 0958", "jo@example.com", "https://x.co/a?b=c", "www.example.org", "@drjones",
    "12/03/2024", "3rd March", "at 3pm", "yesterday", "51.5074, -0.1278", "51°30'N 0°7'W",
    "LS29 8AB", "Ilkley", "my patient", "the patient", "as a GP", "on call", "rare", "lupus",
    "teacher", "car crash", "her son", "woman", "guaranteed cure", "100% success", "only £99",
    "DM me for a prescription", "useless consultant", "drunk on shift", "password is",
    " ", "  ", "\n", "\t", ".", ",", "-", "'", '"', "(", ")", "%s", "[bold]", "[/]", "\\",
]
# Characters normalisation rewrites or deletes: zero-width and bidi controls, homoglyphs,
# fullwidth forms, ligatures and other NFKC expansions, combining marks, emoji sequences.
ODD = (
    "\u200b\u200c\u200d\u2060\ufeff\u00ad\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    "\u0430\u0435\u043e\u0440\u0441\u0445\u0391\u039d\u039f\u03bf\u0456\u04cf"
    "\uff10\uff14\uff19\uff21\uff4e\u2019\u201c\u201d\u2013\u2014\u2212\u00a0\u2007\u3000"
    "\ufb01\u3392\u2153\u00bd\u00b9\u2168\u0130\u0131\u00df\u1e9e\u2126\u212a"
    "\u0301\u0308\u0336\ufe0f\ufe0e\U000e0001\U0001f600\U0001f3e5\U0001f1ec\U0001f1e7"
    "\u0627\u05d0\u4e2d\uac00\u0e01\u1100"
)

junk_text = st.text(alphabet=st.one_of(st.sampled_from(ODD), st.characters()), max_size=24)
drafts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), junk_text), max_size=24).map("".join)
contexts = st.builds(
    ReviewContext,
    audience=st.sampled_from(["public", "friends", "professional", "patient"]),
    as_doctor=st.sampled_from([None, True, False]),
    named=st.sampled_from([None, True, False]),
)

SCHEMA = json_schema()
PARAGRAPHS = set(guidance.load().ids)

# The parts of SARIF 2.1.0 (sarif-schema-2.1.0.json) this tool emits, with their required
# properties and value constraints; the full schema is not shipped offline.
SARIF_SCHEMA = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["tool", "results"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {
                    "driver": {"type": "object", "required": ["name", "rules"], "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "rules": {"type": "array", "items": {
                            "type": "object", "required": ["id"],
                            "properties": {"id": {"type": "string"},
                                           "shortDescription": {"type": "object",
                                                                "required": ["text"]}}}},
                    }},
                }},
                "results": {"type": "array", "items": {
                    "type": "object",
                    "required": ["ruleId", "message", "level", "locations"],
                    "properties": {
                        "ruleId": {"type": "string"},
                        "level": {"enum": ["none", "note", "warning", "error"]},
                        "message": {"type": "object", "required": ["text"],
                                    "properties": {"text": {"type": "string"}}},
                        "locations": {"type": "array", "items": {
                            "type": "object", "required": ["physicalLocation"],
                            "properties": {"physicalLocation": {
                                "type": "object", "required": ["artifactLocation"],
                                "properties": {
                                    "artifactLocation": {"type": "object", "required": ["uri"]},
                                    "region": {"type": "object",
                                               "required": ["charOffset", "charLength"],
                                               "properties": {
                                                   "charOffset": {"type": "integer", "minimum": 0},
                                                   "charLength": {"type": "integer",
                                                                  "minimum": 0}}},
                                }}}}},
                    }}},
            }}},
    },
}


def assert_findings_point_into(text: str, findings) -> None:
    for f in findings:
        assert (f.start is None) == (f.end is None) == (f.quote is None), f
        if f.start is not None:
            assert 0 <= f.start < f.end <= len(text), (f.rule, f.start, f.end, len(text))
            assert text[f.start:f.end] == f.quote, f.rule
        for p in f.pieces:
            assert 0 <= p.start < p.end <= len(text), (f.rule, p)
            assert text[p.start:p.end] == p.quote
        assert f.paragraph in PARAGRAPHS and f.topic in TOPICS


def assert_valid_result(text: str, result: Result) -> dict:
    data = json.loads(result.model_dump_json())
    jsonschema.validate(data, SCHEMA)
    assert Result.model_validate(data) == result  # round-trips through JSON unchanged
    assert result.verdict == verdict_for(result.findings)
    assert_findings_point_into(text, result.findings)
    return data


def assert_valid_sarif(text: str, result: Result) -> None:
    sarif = json.loads(json.dumps(to_sarif([(result, "draft.txt")])))
    jsonschema.validate(sarif, SARIF_SCHEMA)
    run = sarif["runs"][0]
    assert len(run["results"]) == len(result.findings)
    ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
    for r in run["results"]:
        assert r["ruleId"] in ids
        region = r["locations"][0]["physicalLocation"].get("region")
        if region:
            assert region["charOffset"] + region["charLength"] <= len(text)


@given(st.one_of(drafts, st.text()))
def test_normalised_view_maps_every_char_back_inside_the_original(text):
    view = normalise(text)
    prev = 0
    for i in range(len(view.text)):
        start, end = view.span(i, i + 1)
        assert prev <= start < end <= len(text)  # inside, non-empty, in order
        prev = start
    assert view.span(0, len(view.text))[1] <= len(text)
    assert view.span(len(view.text), len(view.text)) == (len(text), len(text))


@given(drafts)
def test_every_recogniser_returns_spans_inside_the_text(text):
    view = normalise(text)
    for name in registry.names():
        for c in registry.get(name).find(view.text):
            assert 0 <= c.start < c.end <= len(view.text), (name, c)
            assert 0.0 <= c.score <= 1.0 and c.kind and c.recogniser == name
            start, end = view.span(c.start, c.end)
            assert 0 <= start < end <= len(text), (name, c)


@given(drafts, contexts)
def test_rules_findings_quote_the_original_text(text, ctx):
    findings = rules_engine.run(text, ctx)
    assert_findings_point_into(text, findings)


@given(drafts, contexts)
def test_review_output_is_valid_json_sarif_and_text(text, ctx):
    try:
        vet(text)
    except InputError:
        with pytest.raises(InputError):  # the only way a review may refuse text
            review(text, ctx)
        return
    result = review(text, ctx, id="fuzz")
    assert_valid_result(text, result)
    assert_valid_sarif(text, result)
    console = Console(file=io.StringIO(), width=100, color_system=None, soft_wrap=True)
    render(result, text, console, show_guidance=True)  # Rich markup in a draft must not break it
    shown = console.file.getvalue()
    for f in result.findings:  # printable quotes appear verbatim (marked >>like this<<)
        if f.quote and f.quote.isprintable():
            assert f">>{f.quote}<<" in shown


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), drafts),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)
good_lines = st.fixed_dictionaries(
    {"text": drafts},
    optional={"id": st.one_of(st.text(max_size=10), st.integers()),
              "audience": st.sampled_from(["public", "friends", "professional", "patient", "mars"]),
              "as_doctor": st.sampled_from([True, False, None, "yes"]),
              "named": st.sampled_from([True, False, None]),
              "labels": json_values},
).map(lambda d: json.dumps(d).encode())
bad_lines = st.one_of(
    st.binary(max_size=60),
    json_values.map(lambda v: json.dumps(v).encode()),
    good_lines.map(lambda b: b[: max(1, len(b) // 2)]),  # truncated JSON
    st.just(b"[" * 5000 + b"]" * 5000),
)
batch_inputs = st.lists(st.one_of(good_lines, good_lines, bad_lines), max_size=8)


@given(batch_inputs, st.sampled_from([b"\n", b"\r\n"]))
def test_batch_answers_every_line_in_order(lines, newline):
    lines = [b.replace(b"\n", b" ").replace(b"\r", b" ") for b in lines]
    stream = io.BytesIO(newline.join(lines) + newline)
    errors: list[str] = []

    def review_one(item: BatchInput) -> Result:
        return review(item.text, item.context(), id=None if item.id is None else str(item.id))

    out = list(batch.run(stream, review_one, errors.append))
    expected = [(n, raw) for n, raw in enumerate(lines, 1) if raw.strip()]
    assert len(out) == len(expected)
    for (lineno, raw), line in zip(expected, out):
        data = json.loads(line)
        if "error" in data and data.get("verdict") is None:
            assert data["line"] == lineno and data["error"].startswith(f"line {lineno}: ")
            assert "\n" not in data["error"]
            continue
        item = json.loads(raw.decode("utf-8"))
        jsonschema.validate(data, SCHEMA)
        assert_findings_point_into(item["text"], Result.model_validate(data).findings)
        if item.get("id") is not None:
            assert data["id"] == str(item["id"])
    assert len(errors) == sum(1 for line in out if json.loads(line).get("verdict") is None)
