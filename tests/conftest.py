"""Suite-wide guards: no network beyond loopback (pytest-socket, see pyproject addopts),
and a fresh REVIEWER_CACHE per session so tests never touch a user's cache."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    os.environ.setdefault("REVIEWER_CACHE", str(tmp_path_factory.mktemp("reviewer-cache")))
    yield


# Hypothesis profiles. "fast" (the default) keeps the normal suite quick and deterministic;
# "long" is the ≥100k-example fuzz run: `bash benchmarks/fuzz_long.sh` or
# `python -m pytest tests/test_fuzz.py --hypothesis-profile=long`. No example database:
# generated drafts are not written to .hypothesis/ (and runs stay reproducible).
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("fast", max_examples=60, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=20_000, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck), print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))
