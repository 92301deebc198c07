#!/usr/bin/env bash
# The README's test command: install (incl. Debian chromium for the browser test), run pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --with-browser || { echo "install failed" >&2; exit 1; }
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 0
fi
exit "$rc"
