# SPDX-License-Identifier: Apache-2.0
# A Python venv with uv in it; later steps install into it with uv.
set -euo pipefail
if [ ! -x "$RUNLOG_VENV/bin/python" ]; then
    python3 -m venv "$RUNLOG_VENV"
fi
"$RUNLOG_VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
[ -x "$RUNLOG_VENV/bin/uv" ] || "$RUNLOG_VENV/bin/python" -m pip install -q uv
