# SPDX-License-Identifier: Apache-2.0
# The benchmark harness in quick mode, so that it never rots: every row whose
# component is there must run (small sizes; no figure is checked).
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/bench --quick
