"""Engine semantics that the rule examples alone do not pin down."""

from pathlib import Path

from reviewer import rulepacks
from reviewer.engines import rules as rules_engine
from reviewer.rulepacks import Rule, RuleSet, RuleSpec
from reviewer.schema import ReviewContext


def _one_rule(**spec) -> RuleSet:
    base = rulepacks.load()
    full = {"id": "t-rule", "paragraph": "sm-18", "severity": "low", "message": "m",
            "suggestion": "s", "examples": {"fire": ["x"], "ok": ["y"]}, **spec}
    return RuleSet([Rule(RuleSpec.model_validate(full), "anonymity", base.cues, Path("t.yml"))], base.cues)


def test_context_only_rule_needs_one_cue_and_honours_unless():
    rs = _one_rule(context_only=True, requires={"phrases": ["anon account"]},
                   unless={"phrases": ["only joking"]})
    fired = rules_engine.run("posting from my anon account today", ReviewContext(), rs)
    assert [f.quote for f in fired] == ["anon account"]
    assert rules_engine.run("my anon account, only joking", ReviewContext(), rs) == []
    assert rules_engine.run("nothing to see", ReviewContext(), rs) == []


def test_cue_inside_the_match_is_not_evidence():
    rs = _one_rule(phrases=["ward 9"], requires={"phrases": ["ward"], "within": 50})
    assert rules_engine.run("won the ward 9 bake-off", ReviewContext(), rs) == []
    assert rules_engine.run("back on the ward: ward 9 again", ReviewContext(), rs)


def test_when_audience_and_inferred_doctor():
    rs = _one_rule(context_only=True, when={"audience": ["public"], "as_doctor": True, "named": False})
    text = "As a GP I think this policy is wrong"
    assert rules_engine.run(text, ReviewContext(named=False), rs)  # as_doctor inferred from "As a GP"
    assert not rules_engine.run(text, ReviewContext(named=False, audience="friends"), rs)
    assert not rules_engine.run(text, ReviewContext(named=True), rs)
    assert not rules_engine.run("Lovely walk today", ReviewContext(named=False), rs)
