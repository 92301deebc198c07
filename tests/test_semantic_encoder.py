"""The semantic engine's fine-tuned encoder (index/semantic_encoder.npz): it belongs to the
bundled model and to the shipped calibration, it changes what the classifiers read and
not the index's own vector space, it survives a round trip, and a damaged, swapped or
foreign delta is a clear error (the fault matrix checks the engine says so)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from reviewer.errors import DataError, EngineUnavailable
from reviewer.retrieval import embedder, finetune, thresholds

SENTENCE = "The consultant on ward 7 is useless and everyone knows it."


def test_shipped_calibration_names_its_tuned_encoder():
    cal = thresholds.load()
    tuning = cal["tuning"]
    path = thresholds.encoder_path()
    assert tuning["file"] == path.name and tuning["layers"] == finetune.TRAIN_LAYERS
    assert hashlib.sha256(path.read_bytes()).hexdigest() == tuning["sha256"]
    base = embedder.load()
    assert cal["model_id"] == base.model_id  # calibrated over the bundled model
    assert cal["encoder"].model_id == embedder.tuned_id(base.model_id, tuning["sha256"])
    # only the top layers were tuned, from the dev split's writers, on each fold's and the final run
    assert tuning["final"]["layers"] == finetune.TRAIN_LAYERS and tuning["final"]["examples"] > 2000
    assert "groups of writers" in tuning["folds"]


def test_tuned_encoder_reads_differently_and_the_index_keeps_its_space():
    from reviewer.engines import create
    from reviewer.retrieval import store

    cal = thresholds.load()
    base, tuned = embedder.load(), cal["encoder"]
    assert tuned is not base and tuned._model is not base._model
    b, t = base.encode([SENTENCE])[0], tuned.encode([SENTENCE])[0]
    assert abs(float(np.linalg.norm(t)) - 1.0) < 1e-4
    assert float(b @ t) < 0.999  # the delta changed the reading...
    again = embedder.load().encode([SENTENCE])[0]
    assert np.allclose(again, b)  # ...and never the base model the index and gates use
    engine = create("semantic")
    engine.load()
    ix, state = engine._state
    assert state["encoder"] is tuned and ix.embedder is base
    assert ix.meta["model_id"] == store.load().meta["model_id"] == base.model_id


def _arrays():
    rng = np.random.default_rng(0)
    return {"encoder.layer.5.output.dense.bias": rng.normal(size=384).astype("float16"),
            "encoder.layer.5.output.LayerNorm.weight": rng.normal(size=384).astype("float16")}


def test_delta_round_trip_and_every_damage_is_named(tmp_path):
    path = tmp_path / "enc.npz"
    digest = finetune.save(_arrays(), path, "base@1")
    back = finetune.read(path, digest, "base@1")
    assert set(back) == set(_arrays()) and all(np.array_equal(back[k], v) for k, v in _arrays().items())
    with pytest.raises(EngineUnavailable, match="tuned from base@1, not other@2"):
        finetune.read(path, digest, "other@2")
    with pytest.raises(DataError, match="does not match"):
        finetune.read(path, "0" * 64, "base@1")
    garbage = b"PK\x03\x04 not really a zip"
    path.write_bytes(garbage)
    with pytest.raises(DataError, match="is corrupt"):
        finetune.read(path, hashlib.sha256(garbage).hexdigest(), "base@1")
    path.unlink()
    with pytest.raises(EngineUnavailable, match="missing"):
        finetune.read(path, digest, "base@1")


def test_a_delta_that_does_not_fit_the_model_is_refused():
    model = embedder.load()._model
    with pytest.raises(DataError, match="does not fit"):
        finetune.apply(model, {"encoder.layer.5.output.dense.bias": np.zeros(7, dtype="float16")})
    with pytest.raises(DataError, match="does not fit"):
        finetune.apply(model, {"no.such.parameter": np.zeros(3, dtype="float16")})


def test_training_moves_only_the_top_layers_and_the_delta_reproduces_it(tmp_path):
    """A few steps of the shipped recipe: the delta holds exactly the top layers, and the
    bundled model with the delta applied encodes as the trained model does."""
    from reviewer.retrieval import documents

    base = embedder.load()
    data = finetune.examples(documents.rows()[:40], [(SENTENCE, {"colleagues"}), ("Lovely sunny day.", set())])
    model, stats = finetune.train(base.model_dir, data, ["colleagues", "trust"], max_steps=2)
    assert stats["steps"] == 2 and stats["trained_parameters"] > 3_000_000
    arrays = finetune.delta(model)
    assert arrays and all(k.startswith(("encoder.layer.4.", "encoder.layer.5.")) for k in arrays)
    before = dict(base._model[0].auto_model.named_parameters())
    after = dict(model[0].auto_model.named_parameters())
    assert torch_equal(before["embeddings.word_embeddings.weight"], after["embeddings.word_embeddings.weight"])
    assert not torch_equal(before["encoder.layer.5.output.dense.weight"], after["encoder.layer.5.output.dense.weight"])
    digest = finetune.save(arrays, tmp_path / "enc.npz", base.model_id)
    loaded = embedder.load_tuned(None, tmp_path / "enc.npz", digest)
    assert loaded.model_id == embedder.tuned_id(base.model_id, digest)
    trained = embedder.wrap(model, base.model_dir, "trained")
    assert np.allclose(loaded.encode([SENTENCE]), trained.encode([SENTENCE]), atol=2e-3)  # float16 weights


def torch_equal(a, b) -> bool:
    return bool((a.detach() == b.detach()).all())


@pytest.mark.slow
def test_a_tuned_calibration_saves_loads_and_reviews(tmp_path):
    """`calibrate(tune=True)` end to end on two writers' drafts (two steps of tuning per
    fold): the encoder file is written beside the thresholds, named by digest, loaded by
    the engine; a later calibration without tuning removes it."""
    from reviewer.engines import create
    from reviewer.evaluate import load_labelled
    from reviewer.retrieval import calibrate
    from reviewer.review import review

    dev = Path(__file__).parent / "data" / "dev.jsonl"
    rows = load_labelled(dev)
    rows = [r for r in rows if r.batch == "batch1"][:25] + [r for r in rows if r.batch == "batch2"][:25]
    result = calibrate.calibrate(dev, rows=rows, tune=True, tune_steps=2)
    assert result.doc["tuning"]["final"]["steps"] == 2
    assert result.doc["tuning"]["folds"].startswith("2 groups of writers")
    out = thresholds.save(result.doc, result.kernel, tmp_path / "semantic.json", tuned=result.tuned.arrays)
    doc = json.loads(out.read_text(encoding="utf-8"))
    enc = thresholds.encoder_path(out)
    assert doc["tuning"]["sha256"] == hashlib.sha256(enc.read_bytes()).hexdigest()
    engine = create("semantic", thresholds=str(out))
    res = review(SENTENCE, engines=[engine])
    assert res.engines["semantic"] == "ok"
    assert engine._state[1]["encoder"].model_id == embedder.tuned_id(doc["model_id"], doc["tuning"]["sha256"])
    frozen = calibrate.calibrate(dev, rows=rows)
    thresholds.save(frozen.doc, frozen.kernel, out)
    assert not enc.exists() and "tuning" not in json.loads(out.read_text(encoding="utf-8"))
