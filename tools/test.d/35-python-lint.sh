# SPDX-License-Identifier: Apache-2.0
# The Python client (tools/python) passes ruff and mypy, with the settings in
# its pyproject.toml: its public API (runlog.init, Run, Histogram,
# runlog.ignite) is fully annotated, and mypy checks it.
set -euo pipefail
cd "$(dirname "$0")/../../tools/python"
VENV="${RUNLOG_VENV:-$PWD/../../.venv}"
passed=0
echo "35-python-lint: ruff check"
"$VENV/bin/ruff" check --no-cache .
passed=$((passed + 1))
echo "35-python-lint: mypy"
"$VENV/bin/mypy" --cache-dir /dev/null
passed=$((passed + 1))
echo "$passed passed (35-python-lint: ruff, mypy)"
