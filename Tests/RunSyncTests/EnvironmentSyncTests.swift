// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunSync
import TestSupport
import Testing

@Suite("The environment record and the experiment kind in MLflow", .needsMLflow)
struct EnvironmentSyncTests {
    let server = MLflowServer.shared

    @Test func theEnvironmentBecomesMLflowSourceTagsAndTheRestRunlogEnvTags() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "env-tags", project: "env-kind")
        try run.append([.environment([
            Entry("program", "/home/ada/mnist/train.py"),
            Entry("cwd", "/home/ada/mnist"),
            Entry("git", [
                "commit": "0123456789abcdef0123456789abcdef01234567", "branch": "main",
                "remote": "https://ada:ghp_secret@github.com/ada/mnist.git", "dirty": true,
            ]),
            Entry("runtime", "python 3.11.2"),
            Entry("cpu", ["model": "AMD EPYC 7763", "count": 128]),
            Entry("scheduler", ["name": "slurm", "job_id": "812345", "partition": "a100"]),
            Entry("packages", ["numpy==1.26.4", "torch==2.3.0"]),
        ])])
        try run.metrics(["loss"], steps: 0..<3) { _, s in Double(s) }
        try run.end()

        let summary = try Sync.once(root: root, url: server.url)
        #expect(summary.synced == ["env-tags"])
        let state = try Sync.state(root: root, run: "env-tags")
        let runID = try #require(state.mlflowRunID), expID = try #require(state.experimentID)
        let client = server.client()
        let tags = try client.getRun(runID).tags
        #expect(tags["mlflow.source.name"] == "/home/ada/mnist/train.py")
        #expect(tags["mlflow.source.type"] == "JOB")
        #expect(tags["mlflow.source.git.commit"] == "0123456789abcdef0123456789abcdef01234567")
        #expect(tags["mlflow.source.git.branch"] == "main")
        #expect(tags["mlflow.source.git.repoURL"] == "https://github.com/ada/mnist.git")
        #expect(tags["mlflow.source.git.dirty"] == "true")
        #expect(!tags.values.contains { $0.contains("ghp_secret") })
        #expect(tags["runlog.env.cwd"] == "/home/ada/mnist" && tags["runlog.env.runtime"] == "python 3.11.2")
        #expect(tags["runlog.env.cpu.model"] == "AMD EPYC 7763" && tags["runlog.env.cpu.count"] == "128")
        #expect(tags["runlog.env.scheduler.job_id"] == "812345" && tags["runlog.env.scheduler.partition"] == "a100")
        #expect(tags["runlog.env.packages"] == nil && tags["runlog.env.git.commit"] == nil)
        let requirements = try client.getArtifact(experimentID: expID, runID: runID, path: ArtifactPath("environment/requirements.txt"))
        #expect(requirements == Array("numpy==1.26.4\ntorch==2.3.0\n".utf8))
        #expect(try client.experimentTags(expID)["mlflow.experimentKind"] == "custom_model_development")
    }

    @Test func aRunWithoutSchedulerIsLocalAndOtherRanksLeaveTheTagsToRankZero() throws {
        let root = TestRun.makeRoot()
        let r0 = try TestRun(root: root, id: "env-ranks", project: "env-kind")
        let r1 = try TestRun(root: root, id: "env-ranks", project: "env-kind", rank: 1)
        try r0.append([.environment([Entry("program", "train.py"), Entry("git", ["remote": "git@github.com:ada/mnist.git"])])])
        try r1.append([.environment([Entry("program", "other.py"), Entry("cwd", "/rank1")])])
        try r0.end()
        try r1.end()
        _ = try Sync.once(root: root, url: server.url)
        let runID = try #require(try Sync.state(root: root, run: "env-ranks").mlflowRunID)
        let tags = try server.client().getRun(runID).tags
        #expect(tags["mlflow.source.name"] == "train.py" && tags["mlflow.source.type"] == "LOCAL")
        #expect(tags["mlflow.source.git.repoURL"] == "git@github.com:ada/mnist.git")
        #expect(tags["runlog.env.cwd"] == nil)
    }
}
