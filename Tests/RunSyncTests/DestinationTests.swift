// SPDX-License-Identifier: Apache-2.0
import Foundation
@testable import RunSync
import Testing

/// A run goes to every destination, each with its own cursors, retries and
/// quarantine: a destination that refuses a run holds back no other.
@Suite("Destinations, each on its own", .needsMLflow)
struct DestinationTests {
    let server = MLflowServer.shared

    /// A destination that refuses every run, counting its tries.
    final class Refusing: Destination, @unchecked Sendable {
        let name = "refusing"
        private let lock = NSLock()
        private var count = 0
        var tries: Int { lock.withLock { count } }

        func makeLink(pause: Pause) -> AnyObject { pause }

        func delivery(for directory: RunDirectory, state: RunState, context: SyncContext) -> any RunDelivery {
            Delivery(state: state, context: context, owner: self)
        }

        final class Delivery: RunDelivery {
            private(set) var state: RunState
            let context: SyncContext
            let owner: Refusing
            init(state: RunState, context: SyncContext, owner: Refusing) {
                self.state = state
                self.context = context
                self.owner = owner
            }

            func step(_ link: AnyObject) throws(SyncError) -> DeliveryOutcome {
                owner.lock.withLock { owner.count += 1 }
                state.status = .quarantined
                state.lastError = "the shelf is full"
                try context.store.save(&state)
                return .quarantined
            }

            func retryAfterQuarantine() {
                if state.status == .quarantined { state.status = .pending }
            }
        }
    }

    @Test func aDestinationThatRefusesARunHoldsBackNoOtherAndKeepsItsOwnState() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "two-ways", project: "destinations")
        try run.metrics(["loss"], steps: 0..<100) { _, s in Double(s) / 10 }
        try run.end()
        var settings = Sync.settings(root: root, url: server.url)
        try settings.validate()
        let refusing = Refusing()

        let summary = try SyncEngine(settings: settings, logger: Sync.logger, extraDestinations: [refusing]).runOnce()
        #expect(summary.synced.isEmpty && summary.pending.isEmpty)
        #expect(summary.quarantined.map(\.run) == ["two-ways"])
        #expect(summary.quarantined.first?.reason == "refusing: the shelf is full")
        #expect(refusing.tries == 1)

        // MLflow has it all, and its state says so, next to the other's.
        let store = try StateStore(directory: root + "/.syncd")
        let file = try #require(try store.loadFile("two-ways"))
        #expect(Set(file.destinations.keys) == ["mlflow", "refusing"])
        let mlflow = try #require(file.destinations["mlflow"])
        #expect(mlflow.status == .synced && mlflow.sentStatus == "FINISHED" && mlflow.lastError == nil)
        #expect(file.destinations["refusing"]?.status == .quarantined && file.destinations["refusing"]?.segments.isEmpty == true)
        #expect(file.status == .quarantined)
        let points = try server.client().metricHistory(runID: try #require(mlflow.mlflowRunID), key: "loss")
        #expect(points.count == 100 && Set(points.map(\.step)) == Set(0..<100))

        // A new pass tries the refusing destination again and sends MLflow nothing twice.
        _ = try SyncEngine(settings: settings, logger: Sync.logger, extraDestinations: [refusing]).runOnce()
        #expect(refusing.tries == 2)
        #expect(try store.load("two-ways") == mlflow)
        #expect(try server.client().metricHistory(runID: mlflow.mlflowRunID!, key: "loss").count == 100)

        // Without it, the run is synced; its saved state stays in the file, untouched.
        #expect(try Sync.once(root: root, url: server.url).synced == ["two-ways"])
        #expect(try store.loadFile("two-ways")?.destinations["refusing"]?.lastError == "the shelf is full")
    }
}
