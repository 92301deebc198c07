import json
import re

import pytest

from reviewer import guidance
from reviewer.errors import DataError

DESIGN_IDS = ["gmp-36", "gmp-65", "gmp-69", "gmp-70", "conf-118", "conf-119", "sm-6", "sm-8",
              "sm-8a", "sm-8b", "sm-8c", "sm-8d", "sm-9", "sm-10", "sm-11", "sm-12", "sm-13",
              "sm-14", "sm-15", "sm-16", "sm-17", "sm-18", "sm-19"]


def _squash(text: str) -> str:
    text = re.sub(r"[\*¹²³⁴⁵⁶⁷⁸⁹⁰]", "", text)
    return re.sub(r"\s+", " ", text)


def test_every_design_id_present_with_topic():
    corpus = guidance.load()
    assert corpus.ids == DESIGN_IDS
    assert corpus.topic_of("sm-8c") == "location"
    assert corpus.topic_of("sm-13") == "confidentiality"
    assert corpus.topic_of("sm-9") == "benefits"


def test_paragraph_texts_are_verbatim_from_the_gmc_document():
    full = _squash(guidance.full_text())
    for p in guidance.load().paragraphs:
        body = p.text if p.id != "sm-9" else p.text.split(" (a)")[0]
        assert body[:60] in full, p.id


def test_attribution_kept():
    corpus = guidance.load()
    assert "General Medical Council" in corpus.attribution
    assert "© 2013 General Medical Council" in guidance.full_text()


def test_missing_corpus_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_INDEX", str(tmp_path))
    with pytest.raises(DataError, match="not found"):
        guidance.load()


def test_corrupt_corpus_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "guidance.json").write_text('{"title": 1', encoding="utf-8")
    monkeypatch.setenv("REVIEWER_INDEX", str(tmp_path))
    with pytest.raises(DataError, match="corrupt"):
        guidance.load()


def test_duplicate_ids_rejected(tmp_path, monkeypatch):
    data = json.loads(guidance.corpus_path().read_text(encoding="utf-8"))
    data["paragraphs"].append(data["paragraphs"][0])
    (tmp_path / "guidance.json").write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setenv("REVIEWER_INDEX", str(tmp_path))
    with pytest.raises(DataError, match="duplicate"):
        guidance.load()
