from reviewer.merge import merge
from reviewer.redact import redact
from reviewer.schema import Finding, Piece, verdict_for


def f(source, start, end, topic="confidentiality", severity="medium", kind=None, rule="r"):
    return Finding(rule=rule, paragraph="sm-14", topic=topic, source=source, severity=severity,
                   start=start, end=end, quote="x", kind=kind, message="m", suggestion="s")


def test_overlapping_spans_from_two_engines_become_one_agreed_finding():
    merged = merge([f("rules", 4, 13, severity="medium"), f("model", 6, 20, severity="high")])
    assert len(merged) == 1
    assert merged[0].source == "rules" and merged[0].severity == "high"
    assert merged[0].found_by == ["rules", "model"] and merged[0].agreement == "both"


def test_different_topics_or_disjoint_spans_stay_apart():
    merged = merge([f("rules", 0, 5), f("model", 0, 5, topic="trust"), f("semantic", 30, 40)])
    assert len(merged) == 3
    assert {m.agreement for m in merged} == {"rules only", "model only", "semantic only"}


def test_same_engine_overlaps_are_kept_unless_identical():
    jigsaw = f("rules", 0, 40, rule="jigsaw", severity="high")
    inner = f("rules", 5, 10, rule="patient-detail", kind="age")
    twin = f("rules", 5, 10, rule="other", kind="age")
    merged = merge([jigsaw, inner, twin])
    assert sorted(m.rule for m in merged) == ["jigsaw", "patient-detail"]


def test_verdict_levels():
    assert verdict_for([]) == "ok"
    assert verdict_for([f("rules", 0, 1, severity="low")]) == "revise"
    assert verdict_for([f("rules", 0, 1, severity="low"), f("rules", 2, 3, severity="high")]) == "do-not-post"


def test_redact_replaces_identifiers_and_jigsaw_pieces_only():
    text = "Saw Mrs Patel aged 82 from Leeds, rude registrar"
    findings = [
        f("rules", 4, 13, kind="person"),
        f("rules", 14, 21, kind="age"),
        f("rules", 37, 49, topic="colleagues", kind=None),
        f("rules", 0, 32, rule="jigsaw").model_copy(
            update={"pieces": [Piece(start=27, end=32, quote="Leeds", kind="location"),
                               Piece(start=0, end=3, quote="Saw", kind="event")]}),
    ]
    assert redact(text, findings) == "Saw [PATIENT] [AGE] from [PLACE], rude registrar"


def test_redact_merges_overlapping_spans():
    text = "NHS 943 476 5919"
    assert redact(text, [f("rules", 4, 16, kind="nhs_number"), f("rules", 4, 11, kind="phone")]) == "NHS [NHS NUMBER]"
