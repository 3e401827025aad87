# SPDX-License-Identifier: Apache-2.0
# The Python client (tools/python): installs it and what its tests need into
# the venv, then runs its pytest suite. torch comes from a CPU-only wheel in
# /opt/wheels when the machine has one (PyPI's default torch pulls GBs of CUDA).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${RUNLOG_VENV:-$PWD/.venv}"
PY="$VENV/bin/python"
torch=(torch)
wheel=$(ls /opt/wheels/torch-*cpu*.whl 2>/dev/null | head -n1 || true)
[ -n "$wheel" ] && torch=("$wheel")
find_links=()
[ -d /opt/wheels ] && find_links=(--find-links /opt/wheels)
"$VENV/bin/uv" pip install -q --python "$PY" "${find_links[@]}" \
    "${torch[@]}" pytest numpy scikit-learn tqdm pytorch-ignite
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
