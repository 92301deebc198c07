"""Fuzzing the model path (issue 8): whatever text a model returns — garbage, JSON of any
shape, findings with invented quotes and paragraphs, cut-off output, an injected huge
answer — the review still completes, every model finding quotes the draft exactly at its
offsets and cites a citable paragraph, and the result validates against the contract.

The model is a scripted backend replaying the fuzzed text, so this runs in the fast suite
(and under the "long" profile with benchmarks/fuzz_long.sh).
"""

from __future__ import annotations

import json

import jsonschema
from hypothesis import given
from hypothesis import strategies as st

from reviewer.engines.model import create
from reviewer.engines.model.backends import Generation
from reviewer.engines.model.output import MAX_FINDINGS, citable
from reviewer.review import review
from reviewer.schema import TOPICS, json_schema
from scripted_backend import ScriptedBackend

DRAFTS = [
    "Saw Mrs Patel (82) in bed 4 on Ward 9 at St Mary's today, NHS no 943 476 5919 - sad case",
    "Guaranteed cure for back pain, 100% success, only £99. DM me",
    "Mrs P\u0430tel on W\u0430rd 9 \u2014 \u201cdifficult\u201d patient \U0001f644",
    "Lovely day for the parkrun, proud of the team",
]
SCHEMA = json_schema()
CITABLE = citable()
PARAGRAPHS = sorted(CITABLE) + ["sm-9", "sm-99", "", "gmp-69 ", "SM-14"]


def items(draft: str):
    quotes = st.one_of(
        st.integers(0, len(draft)).flatmap(
            lambda a: st.integers(a, len(draft)).map(lambda b: draft[a:b])),  # real substrings
        st.text(max_size=30),
        st.sampled_from(["Mrs Patel", "mrs patel", "Mrs Pаtel", "NHS no 943 476 5919", "   "]),
    )
    item = st.fixed_dictionaries(
        {"quote": quotes, "paragraph": st.sampled_from(PARAGRAPHS),
         "topic": st.sampled_from(list(TOPICS) + ["privacy", ""]),
         "severity": st.sampled_from(["high", "medium", "low", "none", "HIGH"])},
        optional={"note": st.one_of(st.text(max_size=200), st.integers()),
                  "start": st.integers(-5, 10**6), "extra": st.none()},
    )
    return st.one_of(item, st.none(), st.integers(), st.text(max_size=5), st.lists(st.none(), max_size=2))


def model_answers(draft: str):
    doc = st.fixed_dictionaries(
        {"findings": st.lists(items(draft), max_size=MAX_FINDINGS + 3)},
        optional={"verdict": st.sampled_from(["ok", "revise", "do-not-post", "fine", None])},
    ).map(json.dumps)
    return st.one_of(
        doc,
        doc.flatmap(lambda d: st.integers(0, len(d)).map(lambda n: d[:n])),  # cut off
        st.text(max_size=200),
        st.sampled_from(['{"findings": {}}', '{"findings": null}', "[]", "null", '{"findings": []}',
                         "```json\n{\"findings\": []}\n```", '{"findings": [' * 3000]),
        st.just("x" * 200_000),  # an injected huge output
    )


class Replay(ScriptedBackend):
    name = "replay"

    def __init__(self, review_text: str, rewrite_text: str, finish: str):
        self.review_text, self.rewrite_text, self.finish = review_text, rewrite_text, finish

    def generate(self, messages, *, schema, max_tokens, timeout, cache_key=None,
                 static_chars=0, on_delta=None):
        text = self.rewrite_text if cache_key == "rewrite" else self.review_text
        if on_delta:
            on_delta(text[:100])
        return Generation(text=text, finish=self.finish)


@given(st.sampled_from(DRAFTS).flatmap(lambda d: st.tuples(
    st.just(d), model_answers(d), st.one_of(st.text(max_size=120), st.sampled_from(DRAFTS)),
    st.sampled_from(["stop", "length"]))))
def test_any_model_answer_leaves_a_valid_result(case):
    draft, answer, rewrite, finish = case
    engine = create(backend="none", similarity=None)
    engine.backend = Replay(answer, rewrite, finish)
    rules_only = review(draft)
    result = review(draft, engines=[engine])
    jsonschema.validate(json.loads(result.model_dump_json()), SCHEMA)
    status = result.engines["model"]
    assert status == "ok" or status.startswith(("unavailable: ", "timeout")), status
    model = [f for f in result.findings if f.source == "model"]
    assert len(model) <= MAX_FINDINGS
    for f in result.findings:
        if f.start is not None:
            assert 0 <= f.start < f.end <= len(draft) and draft[f.start:f.end] == f.quote
    for f in model:
        assert f.paragraph in CITABLE and CITABLE[f.paragraph] == f.topic
    # The model can add findings, never take the rules' away or soften the verdict.
    assert {(f.start, f.end, f.topic) for f in rules_only.findings} <= {
        (f.start, f.end, f.topic) for f in result.findings}
    rank = {"ok": 0, "revise": 1, "do-not-post": 2}
    assert rank[result.verdict] >= rank[rules_only.verdict]
    assert result.rewrite is None or result.rewrite_check.clean
