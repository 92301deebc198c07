"""The labelled splits are well-formed (the labelling guide is tests/data/README.md)."""

import json
from pathlib import Path

import pytest

from reviewer.recognisers.nhs import digits_of, valid_nhs_number
from reviewer.schema import IDENTIFIER_KINDS, TOPICS

DATA = Path(__file__).parent / "data"
SPLITS = {"dev": 150, "test": 100}
CLEAN_SHARE = {"dev": 1 / 3, "test": 0.25}  # issue 3: a third of the dev set is clean


def _rows(split):
    path = DATA / f"{split}.jsonl"
    if not path.exists():
        pytest.fail(f"{path} is missing")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("split", SPLITS)
def test_split_is_well_formed(split):
    rows = _rows(split)
    assert len(rows) >= SPLITS[split]
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    clean = 0
    for r in rows:
        assert r["audience"] in ("public", "friends", "professional", "patient"), r["id"]
        labels = r["labels"]
        assert set(labels["topics"]) <= set(TOPICS), r["id"]
        clean += not labels["topics"]
        for s in labels.get("spans", []):
            assert s["kind"] in IDENTIFIER_KINDS, r["id"]
            assert r["text"][s["start"]:s["end"]] == s["quote"], r["id"]
            if s["kind"] == "nhs_number" and len(digits_of(s["quote"])) == 10:
                assert valid_nhs_number(s["quote"]), r["id"]
    assert clean >= len(rows) * CLEAN_SHARE[split], f"{clean} clean of {len(rows)}"


def test_every_topic_in_both_splits():
    for split in SPLITS:
        topics = {t for r in _rows(split) for t in r["labels"]["topics"]}
        assert topics == set(TOPICS), (split, set(TOPICS) - topics)


def test_splits_do_not_share_drafts():
    dev = {r["text"] for r in _rows("dev")}
    test = {r["text"] for r in _rows("test")}
    assert not dev & test


def test_readme_counts_match_dev_jsonl():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(DATA / "counts.py"), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
