#!/usr/bin/env bash
# The long fuzz run (issue 8): the "long" hypothesis profile (20,000 examples per property,
# ≥100k in all) over tests/test_fuzz*.py, with per-test statistics. Not part of the normal
# suite, which runs the same properties under the fast profile.
#   bash benchmarks/fuzz_long.sh            # ~100k examples
#   bash benchmarks/fuzz_long.sh -k batch   # extra pytest arguments pass through
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m pytest tests/test_fuzz*.py -p no:cacheprovider -q --no-header \
  --hypothesis-profile=long --hypothesis-show-statistics --hypothesis-seed="${FUZZ_SEED:-0}" \
  --timeout=0 "$@" </dev/null
