# SPDX-License-Identifier: Apache-2.0
# The Python client (tools/python) passes ruff and mypy, with the settings in
# its pyproject.toml: its public API (runlog.init, Run, Histogram,
# runlog.ignite) is fully annotated, and mypy checks it.
set -euo pipefail
cd "$(dirname "$0")/../../tools/python"
VENV="${RUNLOG_VENV:-$PWD/../../.venv}"
echo "35-python-lint: ruff check"
"$VENV/bin/ruff" check --no-cache .
echo "35-python-lint: mypy"
"$VENV/bin/mypy" --cache-dir /dev/null
echo "35-python-lint: ok"
