#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# runlog as a versioned dependency: a clone of this checkout tagged 0.1.0, and
# a small package that depends on it with `from: "0.1.0"` (SwiftPM refuses
# unsafe build flags in such a dependency) and runs a logger loop; then the
# run it wrote must verify, checksums included, and hold every row.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"
work="$(mktemp -d "${TMPDIR:-/tmp}/runlog-consumer.XXXXXX")"
trap 'rm -rf "$work"' EXIT

git clone -q --no-tags "$repo" "$work/runlog"
git -C "$work/runlog" tag 0.1.0

mkdir -p "$work/consumer/Sources/Consumer"
cat >"$work/consumer/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "consumer",
    dependencies: [.package(url: "file://$work/runlog", from: "0.1.0")],
    targets: [
        .executableTarget(name: "Consumer", dependencies: [.product(name: "RunLog", package: "runlog")]),
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
echo "20-consumer: ok: runlog builds and logs as a versioned dependency"
