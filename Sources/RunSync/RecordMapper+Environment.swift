// SPDX-License-Identifier: Apache-2.0
import RunLayout

/// The environment record (spec format.md §4.10) in MLflow: the tags its UI
/// shows as the run's source, and the rest as `runlog.env.*` tags.
///
/// - `program` → `mlflow.source.name`; `mlflow.source.type` is `JOB` when
///   the process ran under a batch scheduler, else `LOCAL`;
/// - `git.commit`, `git.branch`, `git.remote`, `git.dirty` →
///   `mlflow.source.git.commit`, `.branch`, `.repoURL` (any user name and
///   password removed once more), `.dirty`;
/// - every other entry → `runlog.env.<key>`, nested keys joined with `.`,
///   except `packages`, which becomes the artifact `environment/requirements.txt`
///   (one `name==version` a line).
///
/// Only rank 0's environment is mapped: the MLflow run is one for all ranks.
extension RecordMapper {
    func environmentItems(_ entries: [Entry]) -> [Item] {
        guard rank == 0 else { return [] }
        let env = Value.collapsed(entries)
        func value(_ key: String) -> Value? { env.first { $0.key == key }?.value }
        var out: [Item] = []
        if case .string(let program)? = value("program"), !program.isEmpty {
            out.append(.tag("mlflow.source.name", Self.clip(program)))
        }
        out.append(.tag("mlflow.source.type", value("scheduler") == nil ? "LOCAL" : "JOB"))
        if case .map(let git)? = value("git") {
            let names = ["commit": "commit", "branch": "branch", "remote": "repoURL", "dirty": "dirty"]
            for e in Value.collapsed(git) {
                guard let name = names[e.key] else { continue }
                var text = Self.string(e.value)
                if e.key == "remote" { text = URLUserInfo.redacted(text) }
                out.append(.tag("mlflow.source.git." + name, Self.clip(text)))
            }
        }
        for e in env where e.key != "packages" {
            let leaves = e.key == "git" ? [] : Self.flatten([e])
            out += leaves.map { .tag(MLflowNames.key("runlog.env." + $0.0), Self.clip($0.1)) }
        }
        if case .list(let packages)? = value("packages"), !packages.isEmpty {
            let text = packages.map { Self.string($0) + "\n" }.joined()
            out.append(.op(.putArtifact(ArtifactPath(["environment", "requirements.txt"]), Array(text.utf8))))
        }
        return out
    }
}
