# SPDX-License-Identifier: Apache-2.0
# The MLflow tracking server that syncd's tests and the demo run against
# (with the basic-auth app). Fast when the right version is already there.
set -euo pipefail
want="3.17"
# Package metadata only (importing mlflow takes seconds): mlflow, and Flask-WTF from the auth extra.
have="$("$RUNLOG_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("mlflow"), m.version("flask-wtf"))' 2>/dev/null || true)"
if [[ "$have" == "$want".*" "* ]]; then
    exit 0
fi
export UV_COMPILE_BYTECODE=1
"$RUNLOG_VENV/bin/uv" pip install -q --python "$RUNLOG_VENV/bin/python" "mlflow[auth]==$want.*"
