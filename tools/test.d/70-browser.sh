# SPDX-License-Identifier: Apache-2.0
# The MLflow run page of a synced demo run in headless Chromium: its System
# metrics tab must list the system/… charts, the page syncd names must show
# the model-training tabs, and a histogram picture must load in the
# Artifacts tab (tools/browsercheck/check.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${RUNLOG_VENV:-$PWD/.venv}"
RUNLOG_VENV="$VENV" "$VENV/bin/python" tools/browsercheck/check.py --bin "$(swift build --show-bin-path)"
