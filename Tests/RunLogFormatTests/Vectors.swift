// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import RunLogFormat

/// The golden vectors of spec/vectors: how each is built, deterministically.
enum Vectors {
    static let directory = TestPaths.vectors

    static let t0: Int64 = 1_764_171_652_123_456

    static func header(_ id: String) -> FileHeader {
        FileHeader(runID: id, attempt: 1, rank: 0, segment: 0, created: t0, writer: "runlog-vectors/1")
    }

    static func runStart(_ id: String) -> RunStart {
        var s = RunStart(runID: id)
        s.project = "mnist"
        s.name = "cnn"
        s.host = "node17"
        s.pid = 4242
        s.startTime = t0
        s.attempt = 1
        s.writer = "runlog-vectors/1"
        return s
    }

    /// Each vector: name, frames (each a list of records), codec.
    struct Vector {
        var name: String
        var frames: [[Record]]
        var codec: Frame.Codec
    }

    static var minimal: Vector {
        Vector(
            name: "minimal",
            frames: [[
                .runStart(runStart("r1")),
                .metrics(MetricsBlock(keys: ["loss"], steps: [1], times: [t0 + 1000], values: [[0.5]])),
                .runEnd(RunEnd(status: .finished, exitCode: 0, endTime: t0 + 2000)),
            ]],
            codec: .none)
    }

    static var allKinds: Vector {
        var start = runStart("all-kinds_1")
        start.group = "sweep-3"
        start.tags = ["ignite", "baseline"]
        start.notes = "first try\nwith a \"quote\""
        start.rank = 0
        start.worldSize = 2
        start.jobID = "812345"
        start.argv = ["train.py", "--lr", "0.01"]
        let config: [Entry] = [
            Entry("lr", 0.01), Entry("batch_size", 64), Entry("nesterov", true), Entry("scheduler", nil),
            Entry("optimizer", ["name": "sgd", "momentum": 0.9, "betas": [0.9, 0.999]]),
            Entry("eps", .double(1e-08)), Entry("big", .double(1.5e16)),
        ]
        var sparse = MetricsBlock.Builder()
        sparse.append(step: 0, time: t0 + 10, values: [("training/loss", 2.5), ("lr", 0.01)])
        sparse.append(step: 1, time: t0 + 20, values: [("training/loss", .nan)])
        sparse.append(step: 2, time: t0 + 30, values: [("training/loss", .infinity), ("validation/accuracy", 0.25)])
        sparse.append(step: 1, time: t0 + 40, values: [("training/loss", -.infinity), ("lr", -0.0)])  // step went back
        let float32 = MetricsBlock(
            keys: ["f32"], steps: [10, 11, 12], times: [t0 + 50, t0 + 60, t0 + 70], values: [[0.5, 0.25, 1e-3.roundedToFloat]])
        var uniform = Histogram(key: "grads/fc1.weight", step: 2, time: t0 + 80, bins: .uniform(low: -1, high: 1), counts: [1, 0, 5, 2])
        uniform.count = 8; uniform.min = -0.9; uniform.max = 0.99; uniform.sum = 0.5; uniform.sumSquares = 3.25; uniform.nonfinite = 1
        var edges = Histogram(key: "weights", step: 3, time: t0 + 90, bins: .edges([0, 1, 10, 100]), counts: [3, 2, 1])
        edges.count = 6; edges.min = 0; edges.max = 50; edges.sum = 70; edges.sumSquares = 2600
        var ckpt = Checkpoint(
            name: "best", step: 2, time: t0 + 100, path: "checkpoints/best/step-2.pt", size: 11,
            sha256: SHA256Hasher.hash(Array("checkpoint\n".utf8)))
        ckpt.aliases = ["best", "latest"]
        ckpt.metadata = [Entry("accuracy", 0.25), Entry("epoch", 1)]
        return Vector(
            name: "all-kinds",
            frames: [
                [.runStart(start), .config(config)],
                [.metrics(sparse.build()!), .metrics(float32)],
                [.histogram(uniform), .histogram(edges), .checkpoint(ckpt)],
                [
                    .tags(TagsUpdate(add: ["best"], remove: ["baseline"], notes: "")),
                    .tags(TagsUpdate(add: [], remove: [], notes: nil)),
                    .summary([Entry("best_acc", 0.25), Entry("best_acc", 0.5), Entry("epochs", 1)]),
                    .unknown(kind: 200, body: [0x08, 0x01]),
                    .runEnd(RunEnd(status: .failed, exitCode: -9, endTime: t0 + 200, message: "CUDA out of memory")),
                ],
            ],
            codec: .zstd)
    }

    /// Two checkpoints, the first one's file then removed on purpose (kind 9).
    static var checkpointRemoved: Vector {
        func checkpoint(_ step: Int64) -> Checkpoint {
            var c = Checkpoint(
                name: "model", step: step, time: t0 + step * 1000, path: "checkpoints/model/\(step)-model.pt", size: 11,
                sha256: SHA256Hasher.hash(Array("checkpoint\n".utf8)))
            c.aliases = ["latest"]
            return c
        }
        return Vector(
            name: "checkpoint-removed",
            frames: [
                [.runStart(runStart("ckpt-rm")), .checkpoint(checkpoint(1))],
                [.checkpoint(checkpoint(2)), .checkpointRemoved(CheckpointRemoved(path: "checkpoints/model/1-model.pt", time: t0 + 2500))],
                [.runEnd(RunEnd(status: .finished, endTime: t0 + 3000))],
            ],
            codec: .zstd)
    }

    /// Console output: both streams, a partial line continued and rewritten
    /// with `\r`, dropped bytes, non-ASCII text and an unknown stream number.
    static var console: Vector {
        var start = runStart("console")
        start.writer = "runlog-console/1"
        return Vector(
            name: "console",
            frames: [
                [.runStart(start)],
                [
                    .console(ConsoleText(stream: .stdout, time: t0 + 10, text: "epoch 1\nloss 0.5\n")),
                    .console(ConsoleText(stream: .stderr, time: t0 + 20, text: "Traceback (most recent call last):\n  \"é\"\t✓\n")),
                    .console(ConsoleText(stream: .stdout, time: t0 + 30, text: "train:  40%|████")),
                    .console(ConsoleText(stream: .stdout, time: t0 + 40, text: "\rtrain: 100%|██████████|\n", dropped: 12345)),
                    .console(ConsoleText(stream: .stdout, time: t0 + 50, text: "")),
                    .console(ConsoleText(stream: ConsoleText.Stream(rawValue: 7), time: t0 + 60, text: "x\n")),
                ],
            ],
            codec: .zstd)
    }

    /// A value nested `levels` deep (spec §4.0): maps and lists in turn around a 1.
    static func nested(levels: Int) -> Value {
        var v: Value = 1
        for level in 1..<levels { v = level % 2 == 0 ? .list([v]) : ["k": v] }
        return v
    }

    /// Config values at the depth limit: one of 64 levels (read), then in
    /// a frame of its own one of 65 (a malformed record: damage).
    static var deepConfig: Vector {
        Vector(
            name: "deep-config",
            frames: [
                [.runStart(runStart("deep")), .config([Entry("deepest", nested(levels: Value.maxDepth))])],
                [.config([Entry("too_deep", nested(levels: Value.maxDepth + 1))])],
                [.runEnd(RunEnd(status: .finished, endTime: t0 + 1000))],
            ],
            codec: .none)
    }

    /// A run start followed by the environment record (kind 11) a writer puts after it.
    static var environment: Vector {
        var start = runStart("env_1")
        start.argv = ["/home/ada/mnist/train.py", "--lr", "0.01"]
        start.jobID = "812345"
        let env: [Entry] = [
            Entry("program", "/home/ada/mnist/train.py"),
            Entry("cwd", "/home/ada/mnist"),
            Entry("git", [
                "commit": "0123456789abcdef0123456789abcdef01234567", "branch": "main",
                "remote": "https://github.com/ada/mnist.git", "dirty": true,
            ]),
            Entry("runtime", "python 3.11.2"),
            Entry("os", "Linux 6.1.0-18-amd64 x86_64"),
            Entry("cpu", ["model": "AMD EPYC 7763 64-Core Processor", "count": 128]),
            Entry("memory", .int(540_000_000_000)),
            Entry("gpu", [
                "count": 2, "names": ["NVIDIA A100-SXM4-80GB", "NVIDIA A100-SXM4-80GB"],
                "memory": [85_899_345_920, 85_899_345_920], "driver": "550.54.15", "cuda": "12.4",
            ]),
            Entry("scheduler", ["name": "slurm", "job_id": "812345", "array_task_id": "3", "nodes": "gpu[01-02]", "partition": "a100"]),
            Entry("packages", ["numpy==1.26.4", "torch==2.3.0"]),
        ]
        return Vector(
            name: "environment",
            frames: [[.runStart(start), .environment(env)], [.runEnd(RunEnd(status: .finished, endTime: t0 + 1000))]],
            codec: .zstd)
    }

    /// Several frames of metrics rows: the base of the torn and damaged vectors.
    static var multiFrame: Vector {
        var frames: [[Record]] = [[.runStart(runStart("multi"))]]
        var step: Int64 = 0
        for _ in 0..<4 {
            var b = MetricsBlock.Builder()
            for _ in 0..<25 {
                let x = Double(step)
                b.append(step: step, time: t0 + step * 1000, values: [("loss", 2.5 / (1 + x / 10)), ("accuracy", x / 100)])
                step += 1
            }
            frames.append([.metrics(b.build()!)])
        }
        frames.append([.runEnd(RunEnd(status: .finished, endTime: t0 + 200_000))])
        return Vector(name: "multi-frame", frames: frames, codec: .zstd)
    }

    static func bytes(of v: Vector) throws -> (bytes: [UInt8], frameOffsets: [Int]) {
        var out = try header(v.name == "minimal" ? "r1" : v.frames[0].first.flatMap { r -> String? in
            if case .runStart(let s) = r { return s.runID } else { return nil }
        } ?? "x").encoded()
        var offsets: [Int] = []
        for f in v.frames {
            offsets.append(out.count)
            out += try Frame.encode(records: f, codec: v.codec, compressor: ZstdCompressor(level: 1))
        }
        return (out, offsets)
    }

    static func jsonl(of v: Vector, frames: Range<Int>? = nil) throws -> String {
        let h = try bytes(of: v).bytes.withUnsafeBytes { raw -> FileHeader in
            guard case .header(let h, _) = FileHeader.decode(raw) else { fatalError() }
            return h
        }
        let chosen = frames.map { Array(v.frames[$0]) } ?? v.frames
        return CanonicalJSON.lines(header: h, records: chosen.flatMap { $0 })
    }

    /// torn-tail: multi-frame cut in the middle of its last frame.
    static func tornTail() throws -> (bytes: [UInt8], cut: Int) {
        let (b, offsets) = try bytes(of: multiFrame)
        let cut = offsets[offsets.count - 1] + 10
        return (Array(b[0..<cut]), cut)
    }

    /// damaged-middle: multi-frame with one bit flipped in the payload of frame 2.
    static func damagedMiddle() throws -> (bytes: [UInt8], damagedFrame: Range<Int>) {
        var (b, offsets) = try bytes(of: multiFrame)
        let start = offsets[2]
        b[start + Frame.headerSize + 7] ^= 0x10
        return (b, start..<offsets[3])
    }
}

extension Double {
    var roundedToFloat: Double { Double(Float(self)) }
}
