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


def test_rule_condition_reads_findings_of_an_independent_rule():
    base = rulepacks.load()
    common = {"paragraph": "sm-18", "severity": "low", "message": "m", "suggestion": "s",
              "examples": {"fire": ["x"], "ok": ["y"]}}
    anchor = RuleSpec.model_validate({**common, "id": "t-anchor", "phrases": ["ward 9"]})
    # Listed first, but runs after the rule it depends on.
    near = RuleSpec.model_validate({**common, "id": "t-near", "phrases": ["tonight"],
                                    "requires": {"rules": ["t-anchor"], "within": 30}})
    rs = RuleSet([Rule(near, "anonymity", base.cues, Path("t.yml")),
                  Rule(anchor, "anonymity", base.cues, Path("t.yml"))], base.cues)
    fired = rules_engine.run("ward 9 tonight", ReviewContext(), rs)
    assert sorted(f.rule for f in fired) == ["t-anchor", "t-near"]
    far = "tonight " + "x" * 60 + " ward 9"
    assert [f.rule for f in rules_engine.run(far, ReviewContext(), rs)] == ["t-anchor"]
    assert rules_engine.run("tonight only", ReviewContext(), rs) == []


def test_rule_condition_must_name_an_independent_rule(tmp_path):
    import shutil

    import pytest

    from reviewer.errors import RuleError

    rules = tmp_path / "rules"
    shutil.copytree(rulepacks.paths.rules_dir(), rules)
    pack = rules / "anonymity.yml"
    pack.write_text(pack.read_text(encoding="utf-8") + """
  - id: zz-dep
    paragraph: sm-18
    severity: low
    message: m
    suggestion: s
    phrases: [tonight]
    requires: {rules: [no-such-rule]}
    examples: {fire: [x], ok: [y]}
""", encoding="utf-8")
    with pytest.raises(RuleError, match="unknown rule 'no-such-rule'"):
        rulepacks.load(rules)


def test_rule_conditions_run_in_dependency_order_and_reject_cycles():
    import pytest

    from reviewer.errors import RuleError

    base = rulepacks.load()
    common = {"paragraph": "sm-18", "severity": "low", "message": "m", "suggestion": "s",
              "examples": {"fire": ["x"], "ok": ["y"]}}

    def rule(rid, phrase, needs):
        spec = {**common, "id": rid, "phrases": [phrase]}
        if needs:
            spec["requires"] = {"rules": [needs], "within": 40}
        return Rule(RuleSpec.model_validate(spec), "anonymity", base.cues, Path("t.yml"))

    # c reads b, b reads a: listed backwards, they still run a, b, c.
    rs = RuleSet([rule("c", "gamma", "b"), rule("b", "beta", "a"), rule("a", "alpha", None)], base.cues)
    assert sorted(f.rule for f in rules_engine.run("alpha beta gamma", ReviewContext(), rs)) == ["a", "b", "c"]
    assert [f.rule for f in rules_engine.run("beta gamma", ReviewContext(), rs)] == []
    with pytest.raises(RuleError, match="depend on themselves"):
        RuleSet([rule("x", "one", "y"), rule("y", "two", "x")], base.cues)
