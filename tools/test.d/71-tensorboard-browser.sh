# SPDX-License-Identifier: Apache-2.0
# TensorBoard's dashboards of runs synced by syncd --tensorboard, in headless
# Chromium: Scalars, Histograms and Distributions must list the runs' tags
# and draw their charts, Text must show the console and the config
# (tools/browsercheck/tensorboard.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${RUNLOG_VENV:-$PWD/.venv}"
RUNLOG_VENV="$VENV" "$VENV/bin/python" tools/browsercheck/tensorboard.py --bin "$(swift build --show-bin-path)"
