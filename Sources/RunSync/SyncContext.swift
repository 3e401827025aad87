// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import RunLayout

/// What every run's syncer shares: settings, the state store, the logger,
/// and the experiments already looked up.
final class SyncContext: @unchecked Sendable {
    let store: StateStore
    let logger: Logger
    let liveness: LivenessCheck
    /// Seconds between liveness checks of a run whose writer seems alive.
    let recheckInterval: Double
    /// Seconds between uploads of a growing console part (0 with `--once`: everything at once).
    var consoleInterval: Double = 1
    private let lock = NSLock()
    private var experiments: [String: String] = [:]
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

    /// The MLflow experiment for a project (`MLflowNames.experimentName`), looked up or created once.
    func experimentID(project: String, client: MLflowClient) throws(SyncError) -> String {
        let name = MLflowNames.experimentName(project)
        if let id = lock.withLock({ experiments[name] }) { return id }
        let id = try client.experimentID(named: name)
        lock.withLock { experiments[name] = id }
        return id
    }
}
