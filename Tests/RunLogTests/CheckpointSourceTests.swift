// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

/// A checkpoint is copied from a regular file only: a FIFO given by mistake
/// (or a device) is refused at once instead of blocking training.
@Suite struct CheckpointSourceTests {
    @Test func aFIFOGivenAsTheCheckpointIsRefusedAtOnce() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let fifo = dir.path + "/model.pt"
        #expect(mkfifo(fifo, 0o644) == 0)
        let run = try Run(id: "fifo-ckpt", root: dir.path, options: testOptions())
        let started = Date()
        do {
            try run.saveCheckpoint(name: "m", file: URL(fileURLWithPath: fifo))
            Issue.record("a FIFO was taken as a checkpoint")
        } catch let e as RunError {
            #expect(e.code == .invalidArgument)
            #expect(e.message == "\(fifo): cannot open the checkpoint: \(fifo): a FIFO, not a regular file; not read")
        }
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(run.finish())
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/fifo-ckpt/checkpoints").isEmpty)
    }
}

/// The liveness file's temporary name is predictable (the writer's PID):
/// a link planted there in a shared root must not make the writer truncate its target.
@Suite struct LivenessLinkTests {
    @Test func aLinkPlantedAtTheLivenessFilesTemporaryNameIsNeverFollowed() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let victim = dir.path + "/victim.txt"
        try "precious\n".write(toFile: victim, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir.path + "/linked/logs", withIntermediateDirectories: true)
        #expect(symlink(victim, dir.path + "/linked/logs/.tmp-\(getpid())-a0001-r0000.live") == 0)
        let run = try Run(id: "linked", root: dir.path, options: testOptions())
        #expect(run.finish())
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
    }
}
