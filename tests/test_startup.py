"""The rules-only path must start fast: no torch, faiss, sentence-transformers, llama_cpp, gradio."""

import subprocess
import sys

HEAVY = ("torch", "sentence_transformers", "faiss", "llama_cpp", "gradio", "transformers")


def test_rules_only_review_imports_no_heavy_library():
    code = (
        "import sys\n"
        "from reviewer.review import review\n"
        "from reviewer.cli import app\n"
        "review('Saw Mrs Patel in bed 4 today')\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_rules_only_cli_imports_no_heavy_library():
    code = (
        "import sys, runpy\n"
        "sys.argv = ['reviewer', 'check', '--rules-only', '-']\n"
        "import io; sys.stdin = io.TextIOWrapper(io.BytesIO(b'Saw Mrs Patel today'))\n"
        "try:\n    runpy.run_module('reviewer', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in out.stdout, out.stdout[-500:] + out.stderr[-500:]


def test_offline_environment_forced_on_import():
    code = "import os, reviewer; print(os.environ['HF_HUB_OFFLINE'], os.environ['GRADIO_ANALYTICS_ENABLED'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "0"})
    assert out.stdout.split() == ["1", "False"]
