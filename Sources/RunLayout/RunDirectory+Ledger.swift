// SPDX-License-Identifier: Apache-2.0
extension RunDirectory {
    /// The checkpoint records of every log of the run, read in order, with
    /// the files retired by `checkpoint_removed` records (spec §4.11).
    /// Unreadable logs and damaged frames are skipped: this answers "was this
    /// file deleted on purpose", and a record that cannot be read says no.
    public func checkpointLedger() -> CheckpointLedger {
        var ledger = CheckpointLedger()
        for segment in (try? segments()) ?? [] {
            guard let reader = try? LogReader(path: segment.path) else { continue }
            while let frame = try? reader.next() {
                for record in frame.records { ledger.add(record) }
            }
        }
        return ledger
    }
}
