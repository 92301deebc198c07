"""Every rule and recogniser ships examples; they are run strictly, semgrep-style:
a `fire` example must produce the rule, an `ok` example must not, `todo` is a known miss."""

from __future__ import annotations

import pytest

from reviewer import rulepacks
from reviewer.engines import rules as rules_engine
from reviewer.normalise import normalise
from reviewer.recognisers import registry

RULESET = rulepacks.load()


def _cases(kind: str):
    for rule in RULESET.rules:
        for i, ex in enumerate(getattr(rule.spec.examples, kind)):
            yield pytest.param(rule.id, ex, id=f"{rule.id}-{kind}-{i}")


def _fires(rule_id: str, example) -> bool:
    return any(f.rule == rule_id for f in rules_engine.run(example.text, example.context(), RULESET))


@pytest.mark.parametrize("rule_id,example", list(_cases("fire")))
def test_rule_fires(rule_id, example):
    assert _fires(rule_id, example), f"{rule_id} should fire on: {example.text!r}"


@pytest.mark.parametrize("rule_id,example", list(_cases("ok")))
def test_rule_stays_quiet(rule_id, example):
    assert not _fires(rule_id, example), f"{rule_id} should not fire on: {example.text!r}"


@pytest.mark.parametrize("rule_id,example", list(_cases("todo")))
def test_rule_known_gap(rule_id, example):
    if not _fires(rule_id, example):
        pytest.xfail(f"known gap of {rule_id}")


def _recogniser_cases(kind: str):
    for spec in rulepacks.recogniser_specs():
        for i, ex in enumerate(getattr(spec.examples, kind)):
            yield pytest.param(spec.name, ex.text, id=f"{spec.name}-{kind}-{i}")


def _recognised(name: str, text: str) -> bool:
    view = normalise(text)
    return any(c.score >= 0.5 for c in registry.get(name).find(view.text))


@pytest.mark.parametrize("name,text", list(_recogniser_cases("fire")))
def test_recogniser_finds(name, text):
    assert _recognised(name, text), f"{name} should find something in {text!r}"


@pytest.mark.parametrize("name,text", list(_recogniser_cases("ok")))
def test_recogniser_quiet(name, text):
    assert not _recognised(name, text), f"{name} should find nothing in {text!r}"


def test_every_rule_has_examples():
    for rule in RULESET.rules:
        assert rule.spec.examples.fire and rule.spec.examples.ok, rule.id


def test_every_topic_has_rules():
    from reviewer.schema import TOPICS

    covered = {r.topic for r in RULESET.rules}
    assert covered == set(TOPICS), f"topics without rules: {set(TOPICS) - covered}"


def _exemption_cases(kind: str):
    for topic, exemptions in RULESET.exemptions.items():
        for e in exemptions:
            for i, ex in enumerate(getattr(e.spec.examples, kind)):
                yield pytest.param(topic, ex.text, id=f"exempt-{topic}-{kind}-{i}")


def _exempted(topic: str, text: str) -> bool:
    from reviewer.schema import Finding

    f = Finding(rule=f"semantic-{topic}", paragraph="sm-14", topic=topic, source="semantic",
                severity="medium", start=0, end=len(text), quote=text, message="m", suggestion="s")
    kept, dropped = rules_engine.drop_exempted(normalise(text), [f], RULESET)
    assert dropped == 1 - len(kept)
    return dropped == 1


@pytest.mark.parametrize("topic,text", list(_exemption_cases("fire")))
def test_exemption_holds(topic, text):
    assert _exempted(topic, text), f"the {topic} exemption should hold in {text!r}"


@pytest.mark.parametrize("topic,text", list(_exemption_cases("ok")))
def test_exemption_does_not_hold(topic, text):
    assert not _exempted(topic, text), f"the {topic} exemption should not hold in {text!r}"


def test_review_drops_exempted_engine_findings_and_counts_them():
    from reviewer.review import review
    from reviewer.engines.base import EngineOutput
    from reviewer.schema import Finding

    text = "Disclosure: I am paid by BrightSkin. Use my code DOC10 for 10% off their SPF."

    class Stub:
        name = "semantic"

        def review(self, draft):
            return EngineOutput(findings=[Finding(
                rule="semantic-conflicts", paragraph="sm-19", topic="conflicts", source="semantic",
                severity="medium", start=0, end=10, quote=text[:10], message="m", suggestion="s")])

    result = review(text, engines=[Stub()])
    assert not any(f.source == "semantic" and f.topic == "conflicts" for f in result.findings)
    assert result.dropped.get("semantic.exempted") == 1
