// SPDX-License-Identifier: Apache-2.0
import Foundation

/// How a `Run` writes: timing, durability, memory and what happens when the disk fails.
///
/// The defaults suit a training job: a record reaches the file within 1 s,
/// the file is fsynced at least every 2 s, the logger holds at most 64 MiB,
/// and while the disk refuses writes the caller is never blocked (records
/// beyond the memory cap are counted as dropped and the count is written to
/// the log once writing resumes).
public struct RunOptions: Sendable {
    /// When the log file is fsynced. Checkpoints, `flush()` and `finish` always
    /// sync, and so does a write that would land past an unsynced one (the
    /// append rule of spec/format.md §5, which keeps a crash from leaving a
    /// hole before a later frame): with frames written every `writeInterval`,
    /// at most one more fsync per interval, on the writer thread.
    public enum Sync: Sendable, Equatable {
        /// At most this many seconds after a frame is written.
        case interval(Double)
        /// After every frame.
        case everyFrame
        /// On checkpoint, `flush()` and `finish`, and before a write past an unsynced one.
        case never
    }

    /// What a logging call does when the logger already holds `memoryCap` bytes
    /// of records not yet written.
    ///
    /// While the disk accepts writes the caller always waits until the writer
    /// has taken a batch (a slow disk slows training, it loses nothing). The
    /// policy decides what happens while writes are failing (disk full, I/O errors).
    public enum WhenDiskFails: Sendable, Equatable {
        /// Keep training: metrics rows and histograms that do not fit are
        /// dropped and counted; the counts are written to the log (summary key
        /// `runlog/dropped`) once writing resumes, and reported through
        /// `onError`. Other records (config, summary, tags, checkpoints, the
        /// run end) are never dropped: they are kept beyond the cap.
        case dropAndCount
        /// Wait until the disk accepts writes again, however long that takes
        /// (records other than rows and histograms are kept beyond the cap).
        case block
    }

    /// Whether anything is written.
    public enum Mode: Sendable, Equatable {
        case enabled
        /// Every call is a cheap no-op and nothing is created on disk.
        case disabled

        /// `RUNLOG_MODE=disabled` (or `off`) disables logging.
        public static var fromEnvironment: Mode {
            let v = ProcessInfo.processInfo.environment["RUNLOG_MODE"]?.lowercased()
            return v == "disabled" || v == "off" ? .disabled : .enabled
        }
    }

    public var mode: Mode = .fromEnvironment
    /// Seconds from the first record of a frame to the frame being written.
    public var writeInterval: Double = 1
    public var sync: Sync = .interval(2)
    /// Bytes of unwritten records the logger may hold (at least 1 MiB).
    public var memoryCap: Int = 64 << 20
    public var whenDiskFails: WhenDiskFails = .dropAndCount
    /// Seconds between heartbeats of the liveness file (spec/run-directory.md §3).
    public var heartbeatInterval: Double = 5
    /// Seconds between attempts to write again after a failure.
    public var retryInterval: Double = 1
    /// Seconds `finish` keeps retrying a failing disk before it gives up (the
    /// run then reads as crashed, its data up to the last success intact).
    public var finishTimeout: Double = 60
    /// Bytes after which a log ends and the next segment of the attempt
    /// begins (spec/run-directory.md §2), to bound the size of each file of a
    /// long run; a log may exceed it by one frame. nil: one log per attempt.
    public var segmentBytes: Int64? = nil
    /// Upper bound on a frame's content, in bytes.
    public var frameTarget: Int = Frame.defaultTarget
    /// zstd level of the frames.
    public var compressionLevel: Int32 = 1
    /// On SIGTERM (what schedulers send before killing a job), write the
    /// run end as `killed` and sync, then let the signal end the process.
    /// Only when SIGTERM has its default action at the first run's start: a
    /// program with its own SIGTERM handler keeps it. See `Run`.
    public var finishOnSIGTERM = true
    /// Record what the process (and its child processes) writes to its
    /// standard output and error, while it still reaches them unchanged, in
    /// a console log of the attempt (`Run.consoleLogPath`) written by a
    /// process of the logger's own that outlives this one, so that the last
    /// line printed before a `kill -9` or a crash is kept (`ConsoleCapture`).
    /// `finish` puts the descriptors back and waits up to 5 s for the log to
    /// be written and synced. When the capture cannot start, `onError` is
    /// told why and output goes on as before. Off by default.
    public var captureConsole = false
    /// Seconds between samples of system metrics (CPU, memory, disk,
    /// network, GPUs; logged as `system/…` metrics, step = sample index);
    /// 0 turns sampling off, values under 0.1 are taken as 0.1. nil:
    /// `$RUNLOG_SYSTEM_METRICS_INTERVAL`, else 10.
    public var systemMetricsInterval: Double? = nil
    /// Whether the attempt's environment (program, git, OS, CPU, GPUs,
    /// scheduler; spec format.md §4.10) is recorded after the run start.
    public var recordsEnvironment = true
    /// Receives one line when writing starts failing, when it resumes, and when
    /// records are dropped; nil writes the line to standard error.
    public var onError: (@Sendable (String) -> Void)? = nil

    public init() {}

    /// For tests: where the system sampler reads `/proc` files (a directory of stand-ins).
    var systemProcRoot = "/proc"

    /// For tests: wraps the sink the writer appends frames to (fault injection).
    var sinkWrapper: (@Sendable (FrameSink) -> FrameSink)? = nil

    /// Bytes of records one batch may hold: two batches (the one callers fill,
    /// the one the writer encodes), each with up to twice its size allocated,
    /// stay within the cap.
    var pendingCap: Int { max(1 << 20, memoryCap) / 4 }
}
