# The MLflow tracking server that syncd's tests and the demo run against
# (with the basic-auth app). Fast when the right version is already there.
set -euo pipefail
want="3.17"
have="$("$RUNLOG_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("mlflow"))' 2>/dev/null || true)"
auth_ok=0
"$RUNLOG_VENV/bin/python" -c 'import flask_wtf, mlflow.server.auth' >/dev/null 2>&1 && auth_ok=1
if [[ "$have" == "$want".* && "$auth_ok" == 1 ]]; then
    exit 0
fi
export UV_COMPILE_BYTECODE=1
"$RUNLOG_VENV/bin/uv" pip install -q --python "$RUNLOG_VENV/bin/python" "mlflow[auth]==$want.*"
