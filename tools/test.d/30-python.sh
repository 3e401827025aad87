# SPDX-License-Identifier: Apache-2.0
# The Python client (tools/python): installs it into the venv (what its tests
# need is installed by tools/setup.d/50-python-test-deps.sh), then runs its
# pytest suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${RUNLOG_VENV:-$PWD/.venv}"
PY="$VENV/bin/python"
"$VENV/bin/uv" pip install -q --python "$PY" --reinstall-package runlog ./tools/python
export RUNLOG_BIN="${RUNLOG_BIN:-$PWD/.build/debug/runlog}"
set +e
"$PY" -m pytest -q -p no:cacheprovider tools/python/tests
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "30-python: pytest collected no tests" >&2
    exit 1
fi
exit "$rc"
