# SPDX-License-Identifier: Apache-2.0
# The Python client's lint and type checker (tools/test.d/35-python-lint.sh).
set -euo pipefail
"$RUNLOG_VENV/bin/uv" pip install -q --python "$RUNLOG_VENV/bin/python" ruff mypy
