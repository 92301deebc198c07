"""The semantic engine: example-bank similarity as a second opinion beside the rules."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from reviewer.engines import create
from reviewer.engines.base import Draft
from reviewer.errors import InputError
from reviewer.normalise import normalise
from reviewer.review import review
from reviewer.schema import ReviewContext


def draft(text: str, **ctx) -> Draft:
    return Draft(text, normalise(text), ReviewContext(**ctx), [], text)


@pytest.fixture(scope="module")
def engine():
    e = create("semantic")
    e.load()
    assert e.status == "ok", e.status
    return e


def topics(out) -> set[str]:
    return {f.topic for f in out.findings}


# --- no model needed -------------------------------------------------------------

def test_importing_the_engine_loads_no_heavy_library():
    code = ("import sys\nimport reviewer.engines.semantic as s\ne = s.create()\n"
            "print([m for m in ('torch', 'sentence_transformers', 'faiss', 'numpy') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr[-500:]


def test_missing_model_is_reported_not_raised():
    e = create("semantic", model="/nonexistent/model")
    out = e.review(draft("Guaranteed results!"))
    assert out.status.startswith("unavailable: ") and "not a sentence-transformers" in out.status
    assert out.findings == []
    result = review("Guaranteed results!", engines=[e])
    assert result.engines["semantic"].startswith("unavailable: ")


def test_thresholds_are_never_calibrated_on_the_test_split(tmp_path):
    from reviewer.retrieval.calibrate import calibrate

    with pytest.raises(InputError, match="dev split only"):
        calibrate(tmp_path / "test.jsonl")


def test_stored_calibration_came_from_dev_with_its_classifiers():
    from reviewer.retrieval import thresholds

    cal = thresholds.load()
    assert cal["calibrated_on"] == "dev.jsonl"
    assert len(cal["batches"]) >= 7  # thresholds were cross-validated by writer
    assert set(cal["threshold"]) >= {"advertising", "conflicts", "trust", "anonymity"}
    # one classifier per topic decided by words; anonymity is decided by context, as for the rules
    kernel = cal["classifier"]
    assert set(kernel.topics) >= {"trust", "defamation", "colleagues", "records", "conflicts", "boundaries"}
    assert "anonymity" not in kernel.topics
    assert kernel.vectors.shape[1] == 384 and len(kernel.pairs) == cal["support_rows"]


def test_threshold_keeps_its_margin_above_every_clean_draft():
    from reviewer.retrieval.calibrate import choose

    scores = [0.9, 0.8, 0.7, 0.65, 0.6, 0.2, 0.1]
    labels = [True, True, True, False, True, False, False]
    clean = [False, False, False, True, False, True, True]
    at_zero, _ = choose(scores, labels, clean)
    assert 0.65 < at_zero < 0.7  # best F1 that flags no clean draft
    with_margin, stats = choose(scores, labels, clean, margin=0.1)
    assert 0.75 <= with_margin < 0.8 and stats["tp"] == 2
    never, stats = choose(scores, labels, clean, margin=1.0)  # nothing qualifies: the topic never fires
    assert never > max(scores) and stats == {}


def test_roc_auc_matches_a_hand_count():
    from reviewer.retrieval.calibrate import roc_auc

    assert roc_auc([0.9, 0.8, 0.1, 0.3], [True, True, False, False]) == 1.0
    assert roc_auc([0.5, 0.5], [True, False]) == 0.5
    assert roc_auc([0.2, 0.9, 0.4], [True, False, False]) == 0.0


# --- with the embedding model ----------------------------------------------------

@pytest.mark.slow
def test_advertising_breach_is_found_with_a_span_evidence_and_confidence(engine):
    text = "New clinic open! Guaranteed results or your money back. Book before Friday, only two slots left!"
    out = engine.review(draft(text))
    assert out.status == "ok"
    ads = [f for f in out.findings if f.topic == "advertising"]
    assert ads, [f.topic for f in out.findings]
    for f in ads:
        assert f.source == "semantic" and f.paragraph == "gmp-70" and f.rule == "semantic-advertising"
        assert f.quote == text[f.start:f.end] and f.quote.strip() == f.quote
        assert f.evidence.startswith("close to the example") and 0.5 <= f.confidence <= 1.0


@pytest.mark.slow
def test_spans_point_into_the_original_text_after_normalisation(engine):
    text = "Hi all\u200b! \uff27uaranteed results or your money back at my cl\u0456nic. Book now before it's too late!"
    out = engine.review(draft(text))
    assert out.findings
    for f in out.findings:
        assert f.quote == text[f.start:f.end]


@pytest.mark.slow
def test_clean_public_health_post_has_no_findings(engine):
    out = engine.review(draft("Flu jab clinics are open every Saturday in October. Book through the surgery.",
                              as_doctor=True, named=True))
    assert out.status == "ok" and out.findings == []


@pytest.mark.slow
def test_anonymity_follows_the_context_like_the_rules(engine):
    text = "GP here. Flu jab clinics are open this Saturday, please come along."
    public = engine.review(draft(text, audience="public", as_doctor=True, named=False))
    assert "anonymity" in topics(public)
    f = next(f for f in public.findings if f.topic == "anonymity")
    assert f.paragraph == "sm-17" and f.start is None
    for ctx in ({"audience": "friends", "as_doctor": True, "named": False},
                {"audience": "professional", "as_doctor": True, "named": False},
                {"audience": "public", "as_doctor": True, "named": True}):
        assert "anonymity" not in topics(engine.review(draft(text, **ctx))), ctx


@pytest.mark.slow
def test_boundaries_never_on_a_professional_forum(engine):
    text = "Yes I remember you! Your blood results were fine, just take two of the tablets instead of one."
    patient = engine.scores(draft(text, audience="patient", as_doctor=True, named=True))
    forum = engine.scores(draft(text, audience="professional", as_doctor=True, named=True))
    assert patient.topic["boundaries"] > 0.4  # scored, and close to the bank's sm-11 phrasings
    assert "boundaries" not in forum.topic
    assert "boundaries" not in topics(engine.review(draft(text, audience="professional", as_doctor=True,
                                                          named=True)))


@pytest.mark.slow
def test_redirecting_a_patient_is_not_a_boundary_breach(engine):
    text = ("Thanks for your message. I can't discuss your care on here, please call the surgery "
            "and book an appointment.")
    assert "boundaries" not in topics(engine.review(draft(text, audience="patient", as_doctor=True, named=True)))


@pytest.mark.slow
def test_semantic_findings_merge_through_review(engine):
    text = "Snapped the clinic list on my screen, look how packed today is!"
    result = review(text, ReviewContext(as_doctor=True, named=True), engines=[engine])
    assert result.engines["semantic"] == "ok"
    records = [f for f in result.findings if f.topic == "records"]
    assert records and any("semantic" in f.found_by for f in records)
    json.loads(result.model_dump_json())  # the contract still serialises


@pytest.mark.slow
def test_concurrent_first_reviews_load_once():
    from reviewer.retrieval import embedder, store

    e = create("semantic")
    outs = []
    threads = [threading.Thread(target=lambda: outs.append(e.review(draft("Guaranteed results!"))))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [o.status for o in outs] == ["ok"] * 4
    assert len(embedder._loaded) == 1 and len({id(ix) for ix in store._memo.values()}) == len(store._memo)


@pytest.mark.slow
def test_cli_check_semantic_reports_the_engine():
    proc = subprocess.run([sys.executable, "-m", "reviewer", "check", "-", "--semantic", "-f", "json"],
                          input="Guaranteed results or your money back, book before Friday!",
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-800:]
    result = json.loads(proc.stdout)
    assert result["engines"]["semantic"] == "ok"
    assert any("semantic" in f["found_by"] and f["topic"] == "advertising" for f in result["findings"])


# Obvious breaches the classifiers rank first and above their thresholds; safe near-misses
# stay below every threshold. The thresholds sit just above the highest-scoring clean dev
# draft of a writer the classifier was not fitted on, so only clear cases fire.
OBVIOUS = [
    ("trust", "Turned up to my night shift still drunk from the pub, nobody noticed lol"),
    ("defamation", "The medical director at our trust is cooking the mortality figures and everyone knows it"),
    ("colleagues", "Our new registrar is an absolute moron, no idea how she ever passed her exams"),
    ("conflicts", "Honestly the best protein powder I have ever used, my code DOCMAX gets you 25% off"),
    ("records", "Snapped a pic of the handover sheet so I can finish my jobs at home, names and bed numbers all on it"),
    # a known miss of the frozen encoder (ranked first, below the threshold); caught since
    # the encoder's top layers were fine-tuned (2026-12-03)
    ("records", "Here's a photo of today's theatre list on the whiteboard, look how packed it is!"),
    # a known miss until the twenty-batch calibration (trust threshold 0.758; it scores 0.83)
    ("trust", "Still hungover from the leaving do and about to start my morning clinic, pray for my patients"),
]
SAFE = [
    (("A composite case, not a real patient: a man in his fifties with tiredness turns out to have "
     "diabetes. Check sugars early."), {}),
    (("Disclosure: I am paid by the manufacturer for talks. Here is the published trial of their new "
     "inhaler so you can judge it yourself."), {}),
    (("The inspection report published today rated the maternity unit inadequate; please read the full "
     "report before commenting."), {}),
    (("Thank you for your message. I can't give advice about your care here, please ring the practice "
     "to book an appointment."), {"audience": "patient"}),
    (("Night shift survival kit: three coffees, one cold toast and a rota that makes no sense. "
     "Love this job really."), {}),
]


def _limits(engine) -> dict[str, float]:
    return engine._state[1]["threshold"]


@pytest.mark.slow
@pytest.mark.parametrize("topic,text", OBVIOUS)
def test_obvious_breaches_score_highest_on_their_topic(engine, topic, text):
    scores = engine.scores(draft(text, audience="public", as_doctor=True, named=True)).topic
    assert max(scores, key=scores.get) == topic, scores
    assert scores[topic] >= _limits(engine)[topic]  # and it passes its calibrated threshold


@pytest.mark.slow
@pytest.mark.parametrize("topic,text", [
    ("records", "Snapped a pic of the handover sheet so I can finish my jobs at home, names and bed numbers all on it"),
    # a known miss of the frozen encoder (ranked first, below the threshold); caught since
    # the encoder's top layers were fine-tuned (2026-12-03)
    ("records", "Here's a photo of today's theatre list on the whiteboard, look how packed it is!"),
    ("advertising", "Miracle anti-ageing drip, guaranteed results in one session, only three slots left!"),
])
def test_clear_breaches_fire(engine, topic, text):
    out = engine.review(draft(text, audience="public", as_doctor=True, named=True))
    assert topic in topics(out), sorted(topics(out))


@pytest.mark.slow
@pytest.mark.parametrize("text,ctx", SAFE)
def test_safe_near_misses_score_low_and_do_not_fire(engine, text, ctx):
    d = draft(text, **{"audience": "public", "as_doctor": True, "named": True, **ctx})
    limits = _limits(engine)
    assert all(v < limits[t] for t, v in engine.scores(d).topic.items()), engine.scores(d).topic
    out = engine.review(d)
    assert out.status == "ok" and out.findings == [], [(f.topic, f.quote) for f in out.findings]


@pytest.mark.slow
def test_finding_names_the_nearest_bank_example(engine):
    from reviewer.retrieval import bank

    text = "Snapped a pic of the handover sheet so I can finish my jobs at home, names and bed numbers all on it"
    out = engine.review(draft(text, as_doctor=True, named=True))
    f = next(f for f in out.findings if f.topic == "records")
    breaches = {ex.text for e in bank.load().entries if e.paragraph == "conf-119" for ex in e.breach}
    assert f.evidence.split('"')[1] in breaches and f.paragraph == "conf-119"


def test_clean_budget_lets_the_top_share_of_clean_drafts_sit_above_the_threshold():
    from reviewer.retrieval.calibrate import choose

    scores = [0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]
    labels = [True, False, True, True, False, False, False, False, False, False]
    clean = [False, True, False, False, True, True, True, True, True, True]
    strict, _ = choose(scores, labels, clean)
    assert strict > 0.9  # above every clean draft: only the top breach fires
    loose, stats = choose(scores, labels, clean, budget=1 / 7)  # one of 7 clean drafts may sit above
    assert 0.7 < loose < 0.8 and stats["tp"] == 3 and stats["fp"] == 1
