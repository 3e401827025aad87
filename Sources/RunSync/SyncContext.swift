// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import RunLayout

/// What every run's syncer shares: settings, the state store, the logger
/// and how liveness is judged.
final class SyncContext: @unchecked Sendable {
    let store: StateStore
    let logger: Logger
    let liveness: LivenessCheck
    /// Seconds between liveness checks of a run whose writer seems alive.
    let recheckInterval: Double
    /// `SyncSettings.lostAfter`.
    var lostAfter: Double = 60
    /// Seconds between uploads of a growing console part (0 with `--once`: everything at once).
    var consoleInterval: Double = 1
    /// `SyncSettings.histogramRecords`.
    var histogramRecords = true
    /// The first interval between uploads of a histogram picture (`HistogramPictures`; 0 with `--once`).
    var pictureInterval: Double = 10
    private let lock = NSLock()
    private var points = 0

    /// Metric points MLflow acknowledged since the engine started.
    var pointsSent: Int { lock.withLock { points } }

    func countSent(points n: Int) { lock.withLock { points += n } }

    init(store: StateStore, logger: Logger, liveness: LivenessCheck = LivenessCheck(), recheckInterval: Double = 10) {
        self.store = store
        self.logger = logger
        self.liveness = liveness
        self.recheckInterval = recheckInterval
    }

    /// The MLflow experiment for a new run of a project: the one named
    /// `MLflowNames.experimentName(project)` now, looked up by name each
    /// time (never from memory), so that a running syncd and a fresh one
    /// agree after an experiment is renamed. A run already created stays in
    /// its experiment (its state holds the id), whatever its name becomes.
    func experimentID(project: String, client: MLflowClient) throws(SyncError) -> String {
        try client.experimentID(named: MLflowNames.experimentName(project))
    }
}
