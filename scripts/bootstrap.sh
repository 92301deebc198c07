#!/usr/bin/env bash
# Install the reviewer and everything it uses into ./.venv (idempotent, safe to re-run).
#   --with-browser  also install Debian's chromium for the real-browser UI test
# CPU-only torch is installed first so no dependency can pull the multi-GB CUDA build.
# llama-cpp-python compiles from source the first time (~8 min on 2 cores; pip caches it).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0+cpu"
.venv/bin/python -m pip install -q -e ".[ml,test]"
if [ "${1:-}" = "--with-browser" ] && [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi
