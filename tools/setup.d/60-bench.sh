# SPDX-License-Identifier: Apache-2.0
# What tools/bench measures runlog against: wandb, tensorboardX, tensorboard
# (and numpy for the workloads). Heavy, so only when tools/bench asks for it
# (RUNLOG_BENCH_SETUP=1), not on every tools/setup; fast when already there.
set -euo pipefail
[ "${RUNLOG_BENCH_SETUP:-0}" = 1 ] || exit 0
py="$RUNLOG_VENV/bin/python"
"$py" -c 'import wandb, tensorboardX, tensorboard, numpy, zstandard' >/dev/null 2>&1 && exit 0
export UV_COMPILE_BYTECODE=1
"$RUNLOG_VENV/bin/uv" pip install -q --python "$py" \
    "wandb==0.31.*" "tensorboardX==2.6.*" "tensorboard==2.21.*" numpy zstandard
