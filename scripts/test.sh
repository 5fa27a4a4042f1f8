#!/usr/bin/env bash
# Run the test suite on a fresh machine or an old one: prepares .venv (scripts/bootstrap.sh), then runs pytest.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k sandbox -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
echo "==> lint (ruff) and types (mypy)"
.venv/bin/ruff check copilot tests benchmarks scripts
.venv/bin/mypy copilot
echo "==> running the tests"
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
