"""Suite-wide guards: no network beyond loopback (pytest-socket, see pyproject addopts),
and a fresh REVIEWER_CACHE per session so tests never touch a user's cache."""

from __future__ import annotations

import os
import socket

import pytest


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    os.environ.setdefault("REVIEWER_CACHE", str(tmp_path_factory.mktemp("reviewer-cache")))
    yield


