// SPDX-License-Identifier: Apache-2.0
extension RunDirectory {
    /// The run id its logs say (their headers' `run_id`, from the first log
    /// in reading order whose header is complete); nil while no log has a
    /// complete header. A run is what its logs say: this id, not the
    /// directory's name, is the run's identity for syncd (its state file,
    /// its MLflow run), so a run directory moved or renamed, within a root
    /// or to another root, is the same run (spec/run-directory.md §1).
    public func loggedRunID() -> String? {
        guard let segments = try? segments() else { return nil }
        for segment in segments {
            if let reader = try? LogReader(path: segment.path) { return reader.header.runID }
        }
        return nil
    }

    /// `loggedRunID()`, else the directory's name (a run whose logs have no header yet).
    public var identity: String { loggedRunID() ?? runID }
}
