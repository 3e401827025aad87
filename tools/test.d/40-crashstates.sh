# SPDX-License-Identifier: Apache-2.0
# Crash-state exploration at a size that fits here (tools/crashstates/README.md):
# first the self-test that shows its checks catch unsafe writers, then a
# sample of crash points of the Swift logger, the Python client and syncd.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${RUNLOG_VENV:-$PWD/.venv}"
"$VENV/bin/python" tools/crashstates/selftest.py
tools/crashstates/run
# Fault injection: a sample of the calls of each writer fails once (tools/faultinject/README.md).
tools/faultinject/run
