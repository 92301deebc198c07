"""20 sessions at once against a real `reviewer ui` (rules only) on 127.0.0.1: every session
gets its own result, through Gradio's queue, with no request lost and nothing leaving the
machine. Plain HTTP to the page's own endpoints (see tests/helpers/ui_client.py); the time
limits are hang guards, not speed targets (figures: benchmarks/ui_load.py).
"""

from __future__ import annotations

import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "helpers"))
from ui_client import Session, UiServer, quotes, shown_draft, verdict_html

pytestmark = pytest.mark.slow  # starts a server (~10-20 s on a loaded 2-core machine)

SESSIONS = 20
REVIEWS_PER_SESSION = 2
HANG_GUARD_S = 300
NAMES = ["Patel", "Okafor", "Nguyen", "Kowalski", "Murphy", "Haddad", "Lindqvist", "Fernandes",
         "Abbott", "Sato", "Brennan", "Moreau", "Achebe", "Novak", "Rossi", "Kaur", "Osei", "Dubois",
         "Hughes", "Petrov"]


def drafts(i: int) -> list[str]:
    """Session i's drafts: its own patient name and ward number, nobody else's."""
    return [f"Saw Mrs {NAMES[i]} on ward {i + 1} today, she is 8{i % 10} and so frail.",
            f"Mrs {NAMES[i]} from ward {i + 1} went home today, NHS no 943 476 5919."]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = UiServer(tmp_path_factory.mktemp("ui-load"), "--rules-only")
    yield srv
    log = srv.stop()
    assert "EGRESS" not in log and "SocketBlocked" not in log, log[-2000:]
    assert not any(name in log for name in NAMES), "draft text reached the server log"
    assert srv.proc.returncode == 0


def _session(server: UiServer, i: int, start: threading.Barrier) -> dict:
    s = Session(server)
    try:
        start.wait(60)
        seen = []
        for text in drafts(i):
            out = s.review(text)
            seen.append((text, out))
        return {"i": i, "outputs": seen, "requests": s.requests}
    finally:
        s.close()


def test_twenty_concurrent_sessions_each_get_their_own_result(server):
    start = threading.Barrier(SESSIONS)
    with ThreadPoolExecutor(SESSIONS) as pool:
        futures = [pool.submit(_session, server, i, start) for i in range(SESSIONS)]
        _, pending = wait(futures, timeout=HANG_GUARD_S)
        assert not pending, f"{len(pending)} sessions still waiting after {HANG_GUARD_S} s (hang guard)"
    runs = [f.result() for f in futures]  # re-raises any session's error

    requests = sum(r["requests"] for r in runs)
    assert requests == SESSIONS * REVIEWS_PER_SESSION * 2  # one join + one event stream per review
    for run in runs:
        i = run["i"]
        others = [n for j, n in enumerate(NAMES) if j != i]
        assert len(run["outputs"]) == REVIEWS_PER_SESSION
        for text, out in run["outputs"]:
            assert shown_draft(out) == text  # the result is about this session's draft
            found = quotes(out)
            assert f"Mrs {NAMES[i]}" in found, (i, found)
            assert found and all(q.strip() in text for q in found), (i, found, text)
            assert "Do not post" in verdict_html(out)
            everything = json.dumps(out)
            leaked = [n for n in others if n in everything]
            assert leaked == [], f"session {i} was shown another session's draft: {leaked}"
        # The second review replaced the first: its NHS number is there, the age is gone.
        assert "943 476 5919" in quotes(run["outputs"][1][1])
        assert not any("she is" in q for q in quotes(run["outputs"][1][1]))
