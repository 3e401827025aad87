// swift-tools-version:6.0
// SPDX-License-Identifier: Apache-2.0
//
// Modules are layered one way:
//   RunLogFormat  ←  RunLayout  ←  RunLog (logger)     ←  runlog (CLI)
//                              ←  RunSync (sync engine) ←  syncd
//   RunLogFormat  ←  TensorBoardEvents (event files)  ←  runlog (CLI), RunSync
//   CChecksums, CZstd  ←  CConsoleCapture (the console's capture processes)  ←  RunLog
// The format module does no policy: it encodes, decodes, frames and checks.
// RunLayout knows where things are on disk and what they say: run
// directories, segment names, liveness, run status and syncd's state files;
// it reads, never writes logs. The sync engine does not link the logger.
//
// Linux only: the code uses inotify, /proc and Glibc, and is built and tested
// on Linux alone. The C targets use no unsafe flags, so that a package can
// depend on a tagged runlog (`from:`); they are written to be fast at
// SwiftPM's own release level (-O2).
import PackageDescription

let package = Package(
    name: "runlog",
    products: [
        .library(name: "RunLogFormat", targets: ["RunLogFormat"]),
        .library(name: "RunLayout", targets: ["RunLayout"]),
        .library(name: "RunLog", targets: ["RunLog"]),
        .library(name: "RunSync", targets: ["RunSync"]),
        .executable(name: "runlog", targets: ["RunLogCLI"]),
        .executable(name: "syncd", targets: ["SyncDaemon"]),
        .executable(name: "runlog-bench", targets: ["RunLogBench"]),
        .executable(name: "runlog-fuzz", targets: ["RunLogFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // TOML 1.0 for syncd's config file (toml++ underneath).
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // C libraries, linked from the system (Debian: libzstd-dev, libcurl4-openssl-dev, libssl-dev).
        .systemLibrary(
            name: "CZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(
            name: "CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        // SHA-256 of checkpoints, from libcrypto (OpenSSL), which uses the CPU's SHA instructions.
        .systemLibrary(
            name: "CCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]),
        // CRC32C (SSE4.2 / ARMv8 CRC with a static-table fallback).
        .target(name: "CChecksums"),
        // The logger's console capture: processes made by fork that run only C (no Swift, no allocation).
        .target(name: "CConsoleCapture", dependencies: ["CChecksums", "CZstd"]),
        // The shortest round-trip decimal form of a double (Schubfach), for canonical JSON.
        .target(name: "CDecimal"),

        // A seeded generator for synthetic runs, benchmarks, fuzzing and tests.
        .target(name: "SeededRandom"),

        .target(name: "RunLogFormat", dependencies: ["CZstd", "CChecksums", "CCrypto", "CDecimal"]),
        .target(name: "RunLayout", dependencies: ["RunLogFormat"]),
        .target(name: "RunLog", dependencies: ["RunLayout", "CConsoleCapture"]),
        .target(name: "TensorBoardEvents", dependencies: ["RunLogFormat"]),
        .target(
            name: "RunSync",
            dependencies: [
                "RunLayout", "TensorBoardEvents", "CCurl",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]),

        .executableTarget(
            name: "RunLogCLI",
            dependencies: ["RunLog", "RunLayout", "TensorBoardEvents", "SeededRandom", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "SyncDaemon",
            dependencies: [
                "RunSync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(name: "RunLogBench", dependencies: ["RunLog", "CChecksums", "SeededRandom"]),
        // Built normally it replays a corpus and random inputs; built with
        // `-Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING` it is a libFuzzer target.
        .executableTarget(name: "RunLogFuzz", dependencies: ["RunLogFormat", "SeededRandom"]),
        // A process for crash tests to SIGKILL: writes logs until killed.
        .executableTarget(name: "RunLogTestWriter", dependencies: ["RunLog"]),

        // What the test targets share: paths of the package and its products,
        // seeds that a failing test names, the condition of the MLflow suites.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "RunLogFormatTests", dependencies: ["RunLogFormat", "SeededRandom", "TestSupport"]),
        .testTarget(name: "RunLogTests", dependencies: ["RunLog", "SeededRandom", "TestSupport"]),
        .testTarget(name: "TensorBoardEventsTests", dependencies: ["TensorBoardEvents", "TestSupport"]),
        .testTarget(name: "RunSyncTests", dependencies: ["RunSync", "RunLog", "SeededRandom", "TestSupport"]),
        .testTarget(name: "RunLogCLITests", dependencies: ["RunLog", "TestSupport"]),
    ]
)
