"""The kernel classifiers of the semantic engine: the stored form scores exactly as the
fitted SVM, survives a round trip, and a damaged file is a clear error (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from reviewer.errors import DataError, EngineUnavailable
from reviewer.retrieval import calibrate, classifier


def _unit(rng, n, d=8):
    v = rng.normal(size=(n, d)).astype("float32")
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def fitted():
    """An SVM fitted by sklearn on (query, draft) pairs, and the same model in stored form."""
    from sklearn.svm import SVC

    rng = np.random.default_rng(0)
    table = _unit(rng, 60)
    pairs = np.stack([np.arange(60), rng.integers(0, 60, 60)], axis=1)
    X = np.hstack([table[pairs[:, 0]], table[pairs[:, 1]]])
    y = X[:, 0] + X[:, 9] > 0
    gamma = 0.7
    svm = SVC(C=3.0, kernel="rbf", gamma=gamma).fit(X, y)
    tm = classifier.TopicModel(np.arange(len(svm.support_)), svm.dual_coef_[0].astype("float32"),
                               float(svm.intercept_[0]), (2.0, -1.0))
    kernel = classifier.KernelModel(table, pairs[svm.support_], gamma, {"trust": tm})
    return svm, kernel, rng


def test_stored_model_scores_as_the_fitted_svm(fitted):
    svm, kernel, rng = fitted
    queries, draft = _unit(rng, 5), _unit(rng, 1)[0]
    ours = kernel.decisions(queries, draft)["trust"]
    theirs = svm.decision_function(np.hstack([queries, np.repeat(draft[None], 5, 0)]))
    assert np.allclose(ours, theirs, atol=1e-4)
    p = kernel.probabilities(queries, draft)["trust"]
    assert np.allclose(p, 1 / (1 + np.exp(-(2.0 * ours - 1.0))))


def test_round_trip_keeps_the_scores(fitted, tmp_path):
    _, kernel, rng = fitted
    digest = kernel.save(tmp_path / "m.npz")
    back = classifier.load(tmp_path / "m.npz", digest)
    queries, draft = _unit(rng, 3), _unit(rng, 1)[0]
    # vectors are stored as float16: scores agree to a few thousandths
    assert np.allclose(back.decisions(queries, draft)["trust"], kernel.decisions(queries, draft)["trust"],
                       atol=5e-3)


def test_damaged_or_missing_model_is_a_clear_error(fitted, tmp_path):
    _, kernel, _ = fitted
    path = tmp_path / "m.npz"
    digest = kernel.save(path)
    with pytest.raises(DataError, match="does not match"):
        classifier.load(path, "0" * 64)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DataError, match="corrupt"):
        classifier.load(path)
    with pytest.raises(EngineUnavailable, match="missing"):
        classifier.load(tmp_path / "absent.npz", digest)


def test_folds_are_the_writers_batches():
    P = calibrate.Prepared
    drafts = [P(str(i), set(), None, None, b) for i, b in enumerate(["batch1", "batch2", "batch1", "batch3"])]
    assert sorted(map(sorted, calibrate.folds(drafts))) == [[0, 2], [1], [3]]
    single = [P(str(i), set(), None, None) for i in range(20)]
    got = calibrate.folds(single)
    assert len(got) == calibrate.CV_FOLDS and sorted(i for f in got for i in f) == list(range(20))


def test_platt_scaling_is_monotone_and_ignores_inapplicable_drafts():
    scores = [-2.0, -1.0, 0.5, 1.0, 2.0, calibrate.MISSING]
    labels = [False, False, True, False, True, True]
    a, b = calibrate.platt(scores, labels)
    assert a > 0  # higher decision, higher probability
    assert calibrate.platt([1.0, 2.0], [True, True]) == (1.0, 0.0)  # one class: identity
