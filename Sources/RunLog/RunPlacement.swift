// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where a new attempt goes (spec/run-directory.md §1–2): the run id, the
/// directories, the attempt and rank; and claiming its log.
struct RunPlacement {
    let id: String
    let directory: RunDirectory
    let attempt: UInt64
    let rank: UInt64
    let worldSize: UInt64
    let jobID: String

    init(root: String, id: String?, resume: Run.Resume, attempt: UInt64?, rank: UInt64?, environment env: [String: String]) throws {
        try Self.makeDirectory(root)
        if let id {
            guard FileHeader.isValidRunID(id), !id.hasPrefix(".") else {
                throw RunError(.invalidArgument, "run id '\(id)' must be 1 to 64 characters of A-Z a-z 0-9 . _ - not starting with '.'")
            }
            let run = RunDirectory(path: root + "/" + id)
            let exists = FileManager.default.fileExists(atPath: run.path)
            if exists && resume == .never { throw RunError(.runExists, "\(run.path): run '\(id)' exists and resume is .never") }
            if !exists && resume == .must { throw RunError(.runNotFound, "\(run.path): run '\(id)' does not exist and resume is .must") }
            try Self.makeDirectory(run.path)
            self.id = id
            directory = run
        } else {
            guard resume != .must else { throw RunError(.runNotFound, "resume is .must but no run id was given") }
            var made: String?
            for _ in 0..<100 {
                let candidate = Self.randomID()
                if mkdir(root + "/" + candidate, 0o755) == 0 {
                    made = candidate
                    break
                }
                guard errno == EEXIST else { throw RunError(.io, "\(root)/\(candidate): cannot create the run directory: \(lastErrno())") }
            }
            guard let made else { throw RunError(.io, "\(root): no free run id found") }
            syncDirectory(root)
            self.id = made
            directory = RunDirectory(path: root + "/" + made)
        }
        try Self.makeDirectory(directory.logsPath)
        try Self.makeDirectory(directory.checkpointsPath)

        func number(_ names: String...) -> UInt64? {
            for n in names { if let v = env[n].flatMap({ UInt64($0) }) { return v } }
            return nil
        }
        let rank = rank ?? number("RUNLOG_RANK", "RANK", "SLURM_PROCID") ?? 0
        self.rank = rank
        if let a = attempt ?? number("RUNLOG_ATTEMPT") {
            guard a >= 1 else { throw RunError(.invalidArgument, "attempt must be at least 1") }
            self.attempt = a
        } else {
            let highest = (try? directory.segments())?.filter { $0.name.rank == rank }.map(\.name.attempt).max() ?? 0
            let live = directory.livePath(attempt: highest, rank: rank)
            if highest > 0, LivenessCheck.lockHeld(path: live) == true {
                throw RunError(.attemptTaken, "run '\(directory.runID)' rank \(rank) is being written by another process (attempt \(highest), its liveness file \(live) is locked); finish it first, or use another id or rank")
            }
            self.attempt = highest + 1
        }
        worldSize = number("WORLD_SIZE", "SLURM_NTASKS") ?? 0
        jobID = ["SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID", "JOB_ID"].lazy.compactMap { env[$0] }.first ?? ""
    }

    /// Creates the attempt's log (`O_EXCL`: an attempt that exists is
    /// another writer's) and its liveness file.
    func claim(heartbeatInterval: Double, compressionLevel: Int32) throws -> (LogWriter, LivenessWriter) {
        let log = try createSegment(0, compressionLevel: compressionLevel)
        do {
            let live = try LivenessWriter(path: directory.livePath(attempt: attempt, rank: rank), heartbeatInterval: heartbeatInterval)
            return (log, live)
        } catch {
            try? log.close()
            throw error
        }
    }

    /// Creates segment `segment` of this attempt and rank, with its header
    /// written and synced, and syncs the directory so that its name is durable.
    func createSegment(_ segment: UInt64, compressionLevel: Int32) throws -> LogWriter {
        let name = SegmentName(attempt: attempt, rank: rank, segment: segment)
        let path = directory.logsPath + "/" + name.fileName
        let header = FileHeader(runID: id, attempt: attempt, rank: rank, segment: segment, created: Monitor.wallMicros(), writer: Run.writer)
        let log: LogWriter
        do {
            log = try LogWriter(creating: path, header: header, options: .init(codec: .zstd, compressionLevel: compressionLevel))
        } catch let e as FormatError where e.errno == EEXIST {
            throw RunError(.attemptTaken, "\(path): attempt \(attempt) of rank \(rank) already exists: another process writes it")
        } catch {
            throw RunError(.io, "\(path): cannot create the log: \(error)")
        }
        syncDirectory(directory.logsPath)
        return log
    }

    static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw RunError(.io, "\(path): cannot create the directory: \(error.localizedDescription)")
        }
    }

    static func randomID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<8).map { _ in alphabet.randomElement()! })
    }
}
