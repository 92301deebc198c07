"""`reviewer ui` options: loopback only unless --allow-remote (with a loud warning)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reviewer.ui.server import RemoteRefused, check_host


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reviewer", "ui", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_hosts_are_allowed(host):
    check_host(host, allow_remote=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_other_hosts_are_refused_without_the_flag(host):
    with pytest.raises(RemoteRefused, match="--allow-remote"):
        check_host(host, allow_remote=False)
    check_host(host, allow_remote=True)


def test_cli_refuses_all_interfaces_with_one_line_and_exit_2():
    out = run("--host", "0.0.0.0", "--rules-only")
    assert out.returncode == 2
    assert out.stderr.startswith("reviewer: error: refusing to listen on 0.0.0.0")
    assert "Traceback" not in out.stderr and "gradio" not in out.stderr.lower()


def test_allow_remote_warns_loudly_before_starting():
    # 192.0.2.1 is TEST-NET-1: never assigned to this machine, so binding fails after the warning.
    out = run("--host", "192.0.2.1", "--allow-remote", "--rules-only", "--port", "7999")
    assert "WARNING: listening on 192.0.2.1" in out.stderr
    assert "patient data" in out.stderr
    assert out.returncode == 2 and "cannot listen on 192.0.2.1:7999" in out.stderr, out.stderr[-800:]
