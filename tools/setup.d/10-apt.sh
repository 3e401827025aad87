# SPDX-License-Identifier: Apache-2.0
# System packages: the C libraries runlog links, and tools its tests use
# (strace for crash states and fault injection, chromium for the MLflow page check,
# time: /usr/bin/time measures the peak memory of the CLI on hostile input).
set -euo pipefail
need=()
for p in libzstd-dev libcurl4-openssl-dev libssl-dev openssl pkg-config zstd git strace chromium fonts-dejavu-core time; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if ((${#need[@]})); then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
