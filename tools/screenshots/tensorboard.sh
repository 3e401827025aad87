#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Makes docs/tensorboard-scalars.png and docs/tensorboard-histograms.png:
# two `runlog demo` runs synced by `syncd --tensorboard`, shown by a real
# TensorBoard on 127.0.0.1 and captured by headless Chromium.
# Needs a built runlog and syncd (.build/debug), the venv's tensorboard, and chromium.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${RUNLOG_VENV:-$PWD/.venv}"
runlog="${RUNLOG_BIN:-$PWD/.build/debug/runlog}"
syncd="${SYNCD_BIN:-$PWD/.build/debug/syncd}"
work="$(mktemp -d)"
tb_pid=""
cleanup() { [ -z "$tb_pid" ] || kill "$tb_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
"$runlog" demo --steps 3000 --histograms-every 100 --project mnist --name resnet18-sgd --id shot1 --dir "$work/runs" --seed 3 >/dev/null
"$runlog" demo --steps 3000 --histograms-every 100 --project mnist --name resnet18-adam --id shot2 --dir "$work/runs" --seed 7 >/dev/null
"$syncd" --root "$work/runs" --tensorboard "$work/tb" --once 2>/dev/null
port=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$VENV/bin/tensorboard" --logdir "$work/tb" --host 127.0.0.1 --port "$port" >"$work/tb.log" 2>&1 &
tb_pid=$!
for _ in $(seq 60); do
    curl -sf "http://127.0.0.1:$port/data/plugin/scalars/tags" | grep -q loss && break
    sleep 1
done
for view in scalars histograms; do
    timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,1000 \
        --virtual-time-budget=20000 --screenshot="docs/tensorboard-$view.png" "http://127.0.0.1:$port/#$view" >/dev/null 2>&1
    echo "docs/tensorboard-$view.png"
done
