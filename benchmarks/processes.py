"""Figures measured on real `reviewer` processes: cold start, batch memory, UI memory.

Peak RSS is the child's own high-water mark (VmHWM in /proc/<pid>/status), sampled while it
runs. Not rusage's ru_maxrss: on Linux a child's ru_maxrss starts from its parent's RSS at
fork, so every child of a large benchmark process would report the benchmark's own size.
Temporary inputs live in a TemporaryDirectory and are deleted when the part ends.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from reviewer.evaluate import Labelled

STATUS_OK = (0, 1)  # `check` exits 1 when it finds something: still a successful run


def reviewer_cmd() -> list[str]:
    """The console script as a user runs it (falls back to `python -m reviewer`)."""
    script = Path(sys.executable).with_name("reviewer")
    if script.exists():
        return [str(script)]
    found = shutil.which("reviewer")
    return [found] if found else [sys.executable, "-m", "reviewer"]


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class HighWater(threading.Thread):
    """Samples a child's VmHWM (its own peak RSS since exec) until it exits."""

    def __init__(self, pid: int, every: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.kib = pid, every, 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.kib = max(self.kib, _status_kib(self.pid, "VmHWM:"))
            self._stop_event.wait(self.every)

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return self.kib / 1024


def _run_measured(cmd: list[str], timeout: float = 3600) -> dict:
    """Run `cmd` to completion (stdout discarded); wall seconds, exit status and the peak
    RSS (MiB) of that child."""
    with tempfile.TemporaryFile() as errf:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errf)
        watcher = HighWater(proc.pid)
        watcher.start()
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            # WNOWAIT: return at exit without reaping, so the pid cannot be reused while the
            # watcher takes its last sample.
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        finally:
            killer.cancel()
        elapsed = time.perf_counter() - t0
        peak = watcher.stop()
        proc.wait()
        errf.seek(0)
        stderr = errf.read().decode("utf-8", "replace")
    return {"seconds": elapsed, "exit": proc.returncode, "peak_rss_mib": peak,
            "stderr_tail": stderr[-300:]}


def cold_start(runs: int) -> dict:
    """Median wall time of `reviewer check --rules-only FILE` in a fresh process, beside the
    bare interpreter start for scale."""
    text = "Saw Mrs Patel (84) in bed 4 at St Elsewhere today, lovely lady. Call 07700 900123."
    with tempfile.TemporaryDirectory(prefix="reviewer-bench-") as tmp:
        draft = Path(tmp) / "draft.txt"
        draft.write_text(text, encoding="utf-8")
        cmd = reviewer_cmd() + ["check", "--rules-only", str(draft)]
        _run_measured(cmd)  # page cache warm: we measure a cold *process*, not a cold disk
        rows = [_run_measured(cmd) for _ in range(runs)]
        bare = [_run_measured([sys.executable, "-c", "pass"]) for _ in range(runs)]
    bad = [r for r in rows if r["exit"] not in STATUS_OK]
    if bad:
        return {"error": f"exit {bad[0]['exit']}: {bad[0]['stderr_tail']}"}
    return {
        "runs": runs,
        "median_s": statistics.median(r["seconds"] for r in rows),
        "min_s": min(r["seconds"] for r in rows),
        "max_s": max(r["seconds"] for r in rows),
        "python_bare_median_s": statistics.median(r["seconds"] for r in bare),
        "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in rows),
        "command": "reviewer check --rules-only FILE",
    }


def _write_jsonl(path: Path, rows: list[Labelled], lines: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(lines):
            item = rows[i % len(rows)].item
            fh.write(json.dumps({"id": f"b-{i}", "text": item.text, "audience": item.audience,
                                 "as_doctor": item.as_doctor, "named": item.named}) + "\n")


def batch_memory(rows: list[Labelled], sizes: tuple[int, ...]) -> dict:
    """Peak RSS of `reviewer batch --rules-only` on JSONL files of growing line counts
    (output discarded). Streaming means the peak must not grow with the input."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="reviewer-bench-") as tmp:
        for lines in sizes:
            path = Path(tmp) / f"in-{lines}.jsonl"
            _write_jsonl(path, rows, lines)
            r = _run_measured(reviewer_cmd() + ["batch", "--rules-only", str(path)])
            path.unlink()
            if r["exit"] != 0:
                return {"error": f"{lines} lines: exit {r['exit']}: {r['stderr_tail']}"}
            out[str(lines)] = {"lines": lines, "seconds": r["seconds"],
                               "lines_per_s": lines / r["seconds"], "peak_rss_mib": r["peak_rss_mib"]}
    small, large = out[str(min(sizes))], out[str(max(sizes))]
    ratio = large["peak_rss_mib"] / small["peak_rss_mib"]
    return {"runs": out, "rss_ratio_largest_over_smallest": ratio,
            "line_ratio": max(sizes) / min(sizes), "flat": ratio < 1.15}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    """Child pids started by any thread of `pid` (the model worker is spawned off-thread)."""
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return kids


def _rss_tree_mib(pid: int) -> float:
    """Current RSS of a process and all its descendants (a UI may start worker processes)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += _status_kib(p, "VmRSS:")
        todo += _children(p)
    return total / 1024


# Loopback only, and never through a proxy that the environment may name.
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _page_answers(port: int) -> bool:
    try:
        with _LOCAL.open(f"http://127.0.0.1:{port}/", timeout=2) as resp:
            resp.read()
            return resp.status == 200
    except OSError:
        return False


def _ui_once(cmd: list[str], port: int, timeout: float, quiet: float) -> dict:
    """One start: time until the page answers, then keep sampling RSS while the UI warms its
    engines in the background, until RSS has not grown for `quiet` seconds."""
    with tempfile.TemporaryFile() as errf:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errf, start_new_session=True)
        watcher = HighWater(proc.pid, every=0.1)
        watcher.start()
        ready = settled = None
        peak = 0.0
        try:
            while time.perf_counter() - t0 < timeout and proc.poll() is None:
                peak = max(peak, _rss_tree_mib(proc.pid))
                if _page_answers(port):
                    ready = time.perf_counter() - t0
                    break
                time.sleep(0.25)
            last_growth = time.perf_counter()
            while ready is not None and proc.poll() is None and time.perf_counter() - t0 < timeout:
                rss = _rss_tree_mib(proc.pid)
                if rss > peak * 1.02:
                    last_growth = time.perf_counter()
                peak = max(peak, rss)
                if time.perf_counter() - last_growth >= quiet:
                    break
                time.sleep(0.5)
            settled = time.perf_counter() - t0
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            hwm = watcher.stop()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        errf.seek(0)
        stderr = errf.read().decode("utf-8", "replace")[-300:]
    if ready is None:
        return {"error": f"the page did not answer on 127.0.0.1 within {timeout:.0f} s: {stderr}"}
    return {"ready_s": ready, "settled_s": settled, "peak_rss_mib": max(hwm, peak)}


def ui_memory(starts: int, quiet: float, timeout: float = 300) -> dict:
    """Peak RSS of `reviewer ui` on 127.0.0.1 (a free port), with all engines (the page warms
    the semantic engine and the model in the background) and with --rules-only; each
    variant started `starts` times, medians reported."""
    base = reviewer_cmd() + ["ui"]
    try:
        helptext = subprocess.run(base + ["--help"], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return {"skipped": "`reviewer ui --help` did not answer"}
    if helptext.returncode != 0:
        return {"skipped": "`reviewer ui` does not exist yet"}
    if "--port" not in helptext.stdout:
        return {"skipped": "`reviewer ui` has no --port option to bind a free loopback port"}
    variants = {"all engines": []}
    if "--rules-only" in helptext.stdout:
        variants["--rules-only"] = ["--rules-only"]
    out = {}
    for label, extra in variants.items():
        runs = []
        for _ in range(starts):
            port = _free_port()
            cmd = base + ["--host", "127.0.0.1", "--port", str(port)] + extra
            run = _ui_once(cmd, port, timeout, quiet)
            if "error" in run:
                return {"error": f"{label}: {run['error']}"}
            runs.append(run)
        out[label] = {
            "starts": starts,
            "ready_median_s": statistics.median(r["ready_s"] for r in runs),
            "settled_median_s": statistics.median(r["settled_s"] for r in runs),
            "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in runs),
            "peak_rss_max_mib": max(r["peak_rss_mib"] for r in runs),
        }
    return {"variants": out, "quiet_s": quiet}
