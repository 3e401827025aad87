# SPDX-License-Identifier: Apache-2.0
# Crash-state exploration at a size that fits here (tools/crashstates/README.md):
# first the self-test that shows its checks catch unsafe writers, then a
# sample of crash points of the Swift logger (its console capture too) and the
# Python client under both file-system models (one trace each), and of syncd
# under the ordered one.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${RUNLOG_VENV:-$PWD/.venv}"
"$VENV/bin/python" tools/crashstates/selftest.py
tools/crashstates/run --model ordered,weak --workload swift,swift-frames,swift-console,python --points 25 --cli-limit 40
tools/crashstates/run --workload syncd
# Fault injection: a sample of the calls of each writer fails once (tools/faultinject/README.md).
tools/faultinject/run
