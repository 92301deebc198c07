"""Retrieval: the offline embedder, the cached FAISS index and the query side.

Tests that load torch are marked slow; they share one embedder per process (it is
memoised), and each index test gets its own cache directory.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reviewer import guidance
from reviewer.retrieval import Retriever, bank, retrieve, sentences, store
from reviewer.schema import Finding

REPO_INDEX = Path(__file__).resolve().parent.parent / "index"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    where = tmp_path / "cache"
    monkeypatch.setenv("REVIEWER_CACHE", str(where))
    store.forget()
    yield where / "retrieval"
    store.forget()


@pytest.fixture
def index_copy(tmp_path, monkeypatch):
    """A private copy of index/ (corpus, bank, thresholds) that a test may edit."""
    dst = tmp_path / "index"
    shutil.copytree(REPO_INDEX, dst, ignore=shutil.ignore_patterns("cache"))
    monkeypatch.setenv("REVIEWER_INDEX", str(dst))
    yield dst
    guidance._load.cache_clear()
    bank._load.cache_clear()


def _finding(pid: str) -> Finding:
    return Finding(rule="t", paragraph=pid, topic=guidance.load().topic_of(pid), source="rules",
                   severity="high", message="m", suggestion="s")


# --- no model needed -------------------------------------------------------------

def test_sentence_spans_point_into_the_text():
    text = "Dr. Shah saw him.  Guaranteed results!\nBook now… before Friday?"
    got = [text[a:b] for a, b in sentences.spans(text)]
    assert got == ["Dr. Shah saw him.", "Guaranteed results!", "Book now…", "before Friday?"]


def test_long_sentence_is_cut_into_overlapping_windows():
    text = " ".join(f"w{i}" for i in range(150))
    spans = sentences.spans(text)
    assert len(spans) > 1 and spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(b > a for a, b in spans)


def test_bank_is_valid_and_covers_every_breach_topic():
    b = bank.load()
    topics = {guidance.load().topic_of(e.paragraph) for e in b.entries if e.breach}
    assert {"advertising", "conflicts", "prescribing", "records", "location", "boundaries",
            "colleagues", "defamation", "trust", "anonymity", "confidentiality"} <= topics
    assert all(ex.note for e in b.entries for ex in e.breach + e.near_miss)


def test_bank_with_unknown_paragraph_is_refused(index_copy):
    (index_copy / "examples.yml").write_text(
        "examples:\n  - paragraph: sm-99\n    describe: x\n    breach: [{text: abc, note: nn}]\n")
    bank._load.cache_clear()
    from reviewer.errors import DataError

    with pytest.raises(DataError, match="sm-99"):
        bank.load()


def test_retriever_without_a_model_falls_back_to_cited_paragraphs(cache):
    r = Retriever(model="/nonexistent/model")
    hits = r("anything", [_finding("sm-19")])
    assert [h.paragraph for h in hits] == ["sm-19"]
    assert r.error and "not a sentence-transformers model directory" in r.error


def test_index_info_reads_metadata_without_heavy_imports(tmp_path):
    code = (
        "import sys, runpy\n"
        "sys.argv = ['reviewer', 'index', 'info', '--json']\n"
        "try:\n    runpy.run_module('reviewer', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('HEAVY', [m for m in ('torch', 'sentence_transformers', 'faiss') if m in sys.modules])\n"
    )
    env = {"PATH": "/usr/bin:/bin", "REVIEWER_CACHE": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert "HEAVY []" in out.stdout, out.stderr[-500:]
    report = json.loads(out.stdout.split("HEAVY")[0])
    assert report["state"] == "missing" and report["index"] is None
    assert report["thresholds"]["calibrated_on"] == "dev.jsonl"
    assert report["thresholds"]["encoder"].startswith("top 2 layers fine-tuned (semantic_encoder.npz")


# --- with the embedding model ----------------------------------------------------

@pytest.mark.slow
def test_build_writes_a_checksummed_cache(cache):
    ix = store.load()
    assert ix.origin == "built" and ix.saved is None
    meta = json.loads((cache / "meta.json").read_text())
    assert meta["model_id"].startswith("all-MiniLM-L6-v2@")
    assert meta["dim"] == 384 and meta["paragraphs"] == len(guidance.load().paragraphs)
    assert meta["index_sha256"] and (cache / "index.faiss").stat().st_size == meta["index_bytes"]
    assert ix.faiss_index.ntotal == len(meta["rows"])


@pytest.mark.slow
def test_valid_cache_is_reused(cache):
    first = store.load()
    store.forget()  # a new process: nothing in memory
    again = store.load()
    assert again.origin == "cache" and again.meta["key"] == first.meta["key"]
    assert again.faiss_index.ntotal == first.faiss_index.ntotal
    assert store.load() is again  # and once per process after that


@pytest.mark.slow
def test_corpus_change_invalidates_the_cache(cache, index_copy):
    before = store.load()
    corpus = json.loads((index_copy / "guidance.json").read_text())
    corpus["paragraphs"][0]["text"] += " Amended."
    (index_copy / "guidance.json").write_text(json.dumps(corpus))
    guidance._load.cache_clear()
    store.forget()
    after = store.load()
    assert after.origin == "built" and after.meta["key"] != before.meta["key"]
    assert "Amended." in after.rows[0].text


@pytest.mark.slow
def test_bank_change_invalidates_the_cache(cache, index_copy):
    before = store.load()
    path = index_copy / "examples.yml"
    path.write_text(path.read_text() + "      - {text: \"One more clean post\", note: \"test\"}\n")
    bank._load.cache_clear()
    store.forget()
    after = store.load()
    assert after.origin == "built" and after.meta["examples"] == before.meta["examples"] + 1


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncated-index", "bad-meta", "forged-key"])
def test_corrupt_cache_is_rebuilt_not_trusted(cache, damage):
    store.load()
    store.forget()
    index_file, meta_file = cache / "index.faiss", cache / "meta.json"
    if damage == "truncated-index":
        index_file.write_bytes(index_file.read_bytes()[:1000])
    elif damage == "bad-meta":
        meta_file.write_text("{not json")
    else:
        meta = json.loads(meta_file.read_text())
        meta["key"] = "0" * 64
        meta_file.write_text(json.dumps(meta))
    ix = store.load()
    assert ix.origin == "built"
    store.forget()
    assert store.load().origin == "cache"  # the rebuilt cache is valid again


@pytest.mark.slow
def test_unwritable_cache_keeps_the_index_in_memory(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("REVIEWER_CACHE", str(blocker / "cache"))  # mkdir fails, even as root
    store.forget()
    ix = store.load()
    assert ix.saved and "cache not written" in ix.saved
    hits = retrieve("Guaranteed results, book now!", ix=ix).hits
    assert hits[0].paragraph == "gmp-70"
    assert store.load() is ix
    store.forget()


@pytest.mark.slow
def test_embedder_loads_offline_with_the_network_blocked(tmp_path):
    code = (
        "import socket\n"
        "def blocked(*a, **k):\n    raise OSError('network blocked by test')\n"
        "socket.socket.connect = blocked\nsocket.socket.connect_ex = blocked\n"
        "socket.create_connection = blocked\nsocket.getaddrinfo = blocked\n"
        "from reviewer.retrieval import embedder\n"
        "e = embedder.load()\n"
        "print('DIM', e.encode(['offline check']).shape[1], e.model_id)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HF_HOME": str(tmp_path / "hf"),
           "HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0"}  # the package must force offline itself
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-1500:]
    assert "DIM 384 all-MiniLM-L6-v2@" in out.stdout
    assert not (tmp_path / "hf").exists() or not any((tmp_path / "hf").rglob("*.safetensors"))


@pytest.mark.slow
def test_post_naming_a_patient_retrieves_sm14(cache):
    text = "Just saw my patient Tom Hughes in clinic, his cancer is back and he is devastated."
    hits = retrieve(text).hits
    assert "sm-14" in [h.paragraph for h in hits[:3]]
    assert all(h.why == "embedding" for h in hits)


@pytest.mark.slow
def test_guaranteed_results_advert_retrieves_gmp70(cache):
    hits = retrieve("New skin clinic now open: guaranteed results for every client!").hits
    assert hits[0].paragraph == "gmp-70" and hits[0].score > 0.4


@pytest.mark.slow
def test_cited_paragraphs_always_go_in_and_benefits_stay_out(cache):
    got = retrieve("Flu jabs protect you and the people around you: book yours this week.",
                   [_finding("sm-16")], k=3)
    ids = [h.paragraph for h in got.hits]
    assert ids[0] == "sm-16" and got.hits[0].why.startswith("cited")
    assert len(ids) == 4 and "sm-9" not in ids
    assert got.benefits is not None and got.benefits.paragraph == "sm-9"


@pytest.mark.slow
def test_check_show_guidance_fills_the_json_guidance_field():
    proc = subprocess.run(  # the session's REVIEWER_CACHE (conftest) is inherited
        [sys.executable, "-m", "reviewer", "check", "-", "--show-guidance", "-f", "json"],
        input="Miracle cure for back pain, guaranteed results, only two slots left!",
        capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-800:]
    result = json.loads(proc.stdout)
    ids = [g["paragraph"] for g in result["guidance"]]
    assert "gmp-70" in ids[:2] and "sm-9" not in ids
    assert any(g["why"] and "embedding" in g["why"] for g in result["guidance"])


def test_rules_only_check_never_retrieves():
    proc = subprocess.run(
        [sys.executable, "-m", "reviewer", "check", "-", "--show-guidance", "--rules-only", "-f", "json"],
        input="Miracle cure for back pain, guaranteed results!", capture_output=True, text=True, timeout=120)
    result = json.loads(proc.stdout)
    assert all(g["why"] == "cited by a finding" for g in result["guidance"])
