# SPDX-License-Identifier: Apache-2.0
# What the tests run in Python need, in the venv before any suite starts (the
# Swift suites run the Ignite example and TensorBoard's loader too): torch,
# from a CPU-only wheel in /opt/wheels when the machine has one (PyPI's
# default torch pulls GBs of CUDA), pytorch-ignite, scikit-learn, tqdm,
# numpy, pytest and TensorBoard. Fast when they are already there.
set -euo pipefail
PY="$RUNLOG_VENV/bin/python"
"$PY" -c 'import torch, ignite, sklearn, tqdm, numpy, pytest, tensorboard, zstandard, flit_core' >/dev/null 2>&1 && exit 0
torch=(torch)
wheel=$(ls /opt/wheels/torch-*cpu*.whl 2>/dev/null | head -n1 || true)
[ -n "$wheel" ] && torch=("$wheel")
find_links=()
[ -d /opt/wheels ] && find_links=(--find-links /opt/wheels)
export UV_COMPILE_BYTECODE=1
"$RUNLOG_VENV/bin/uv" pip install -q --python "$PY" "${find_links[@]}" \
    "${torch[@]}" pytest numpy scikit-learn tqdm pytorch-ignite "tensorboard==2.21.*" zstandard "flit_core>=3.4,<4"
