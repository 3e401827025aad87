#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# runlog as a versioned dependency: a clone of this checkout tagged 0.1.0, and
# a small package that depends on it with `from: "0.1.0"` (SwiftPM refuses
# unsafe build flags in such a dependency) and runs a logger loop; then the
# run it wrote must verify, checksums included, and hold every row. Every
# ```swift block of the README is one more executable of that package, built
# and run as written in an empty directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"
work="$(mktemp -d "${TMPDIR:-/tmp}/runlog-consumer.XXXXXX")"
trap 'rm -rf "$work"' EXIT

git clone -q --no-tags "$repo" "$work/runlog"
git -C "$work/runlog" tag 0.1.0

mkdir -p "$work/consumer/Sources/Consumer"
# The README's Swift blocks, one file each: Sources/Readme<N>/main.swift.
blocks=$(python3 - "$repo/README.md" "$work/consumer/Sources" <<'PY'
import os, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
found = re.findall(r"^```swift\n(.*?)^```$", text, re.S | re.M)
for i, block in enumerate(found, 1):
    os.makedirs(os.path.join(sys.argv[2], f"Readme{i}"))
    with open(os.path.join(sys.argv[2], f"Readme{i}", "main.swift"), "w", encoding="utf-8") as f:
        f.write(block)
print(len(found))
PY
)
if [ "$blocks" -lt 3 ]; then
    echo "20-consumer: FAILED: found $blocks \`\`\`swift blocks in README.md (the quick starts show at least 3)" >&2
    exit 1
fi
cat >"$work/consumer/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "consumer",
    dependencies: [.package(url: "file://$work/runlog", from: "0.1.0")],
    targets: [
        .executableTarget(name: "Consumer", dependencies: [.product(name: "RunLog", package: "runlog")]),
$(for i in $(seq 1 "$blocks"); do
    echo "        .executableTarget(name: \"Readme$i\", dependencies: [.product(name: \"RunLog\", package: \"runlog\"), .product(name: \"RunLogFormat\", package: \"runlog\")]),"
done)
    ]
)
SWIFT
cat >"$work/consumer/Sources/Consumer/main.swift" <<'SWIFT'
import Foundation
import RunLog

let root = CommandLine.arguments[1]
let model = root + "/model.bin"
try Data((0..<4096).map { UInt8($0 % 251) }).write(to: URL(fileURLWithPath: model))
let run = try Run(project: "consumer", name: "loop", config: ["lr": 0.01], id: "consumer1", root: root)
let k = run.keys("train/loss", "train/acc")
for step in 0..<1_000 {
    run.log(k, 1.0 / Double(step + 1), Double(step) / 1_000, step: Int64(step))
    if step % 250 == 0 { try run.saveCheckpoint(name: "latest", file: URL(fileURLWithPath: model)) }
}
run.finish(exitCode: 0)
print(root + "/consumer1")
SWIFT

echo "20-consumer: swift build of a package depending on runlog from: 0.1.0"
if ! (cd "$work/consumer" && swift build -q); then
    echo "20-consumer: FAILED: a package depending on runlog from: 0.1.0 does not build" >&2
    exit 1
fi
bin="$(cd "$work/consumer" && swift build --show-bin-path)"
mkdir -p "$work/runs"
dir="$("$bin/Consumer" "$work/runs" | tail -1)"

runlog="$repo/.build/debug/runlog"
[ -x "$runlog" ] || swift build -q --product runlog
"$runlog" verify --checksums "$dir" >/dev/null || { echo "20-consumer: FAILED: runlog verify --checksums $dir" >&2; exit 1; }
rows=$("$runlog" dump --kind metrics "$dir" | wc -l)
checkpoints=$("$runlog" dump --kind checkpoint "$dir" | wc -l)
if [ "$rows" -ne 1000 ] || [ "$checkpoints" -ne 4 ]; then
    echo "20-consumer: FAILED: $rows metrics rows (1000 logged), $checkpoints checkpoints (4 saved)" >&2
    exit 1
fi

# Each README block runs as written, in an empty directory with runs under
# ./runlogs; the quick start (the first block) leaves one finished run with
# its 1,000 steps, 10 histograms and 10 checkpoints.
for i in $(seq 1 "$blocks"); do
    mkdir -p "$work/readme$i"
    if ! (cd "$work/readme$i" && env -u RUNLOG_DIR RUNLOG_SYSTEM_METRICS_INTERVAL=0 "$bin/Readme$i" >out.txt 2>&1); then
        echo "20-consumer: FAILED: README.md's Swift block $i exits non-zero:" >&2
        sed 's/^/    /' "$work/readme$i/out.txt" >&2
        exit 1
    fi
done
quick=("$work"/readme1/runlogs/*/)
if [ "${#quick[@]}" -ne 1 ] || ! "$runlog" verify --checksums "${quick[0]}" >/dev/null; then
    echo "20-consumer: FAILED: README.md's quick start leaves ${#quick[@]} runs, or one that does not verify" >&2
    exit 1
fi
state=$("$runlog" ls --json "$work/readme1/runlogs" | python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])')
rows=$("$runlog" dump --kind metrics --key train/loss "${quick[0]}" | wc -l)
histograms=$("$runlog" dump --kind histogram "${quick[0]}" | wc -l)
checkpoints=$("$runlog" dump --kind checkpoint "${quick[0]}" | wc -l)
if [ "$rows" -ne 1000 ] || [ "$histograms" -ne 10 ] || [ "$checkpoints" -ne 10 ] || [ "$state" != finished ]; then
    echo "20-consumer: FAILED: README.md's quick start: $rows train/loss rows (1000 logged), $histograms histograms (10)," \
        "$checkpoints checkpoints (10), state ${state:-none} (finished)" >&2
    exit 1
fi
echo "20-consumer: ok: runlog builds and logs as a versioned dependency; README.md's $blocks Swift blocks run as written"
