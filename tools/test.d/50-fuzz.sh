# SPDX-License-Identifier: Apache-2.0
# The reader's libFuzzer target (Sources/RunLogFuzz), built with ASan and run
# for a short fixed time on the golden vectors as its corpus: it must build,
# and find no crash, leak-free or not, in that time.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${RUNLOG_FUZZ_SECONDS:-45}"
swift build -c release --scratch-path .build-fuzz --product runlog-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld
corpus="$(mktemp -d)"
trap 'rm -rf "$corpus"' EXIT
cp spec/vectors/*.rlog "$corpus/"
SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 .build-fuzz/release/runlog-fuzz "$corpus" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 2>&1 | tail -n 12
status=${PIPESTATUS[0]}
echo "fuzz: reader ran ${seconds} s, exit ${status}"
exit "$status"
