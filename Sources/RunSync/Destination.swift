// SPDX-License-Identifier: Apache-2.0
import Logging
import RunLayout

/// A place syncd delivers runs to: an MLflow tracking server
/// (`MLflowDestination`), a TensorBoard log directory, …. A run goes to
/// every configured destination, each on its own: its own cursors in the
/// run's state file (`RunStateFile.destinations[name]`), its own retries,
/// its own quarantine. A destination that is down or refuses a run holds
/// back no other.
///
/// ## What a destination must do for exactly-once delivery
///
/// The engine gives each (run, destination) pair turns; in a turn the
/// pair's `RunDelivery.step` does **one** request: it reads the logs from
/// its state's cursors, sends what follows them, and saves the state
/// (`StateStore.save`) before it returns. For the run to arrive exactly
/// once after a `kill -9` at any instant, a delivery must:
///
/// 1. **Acknowledge only what is durable.** Move a cursor (and save) only
///    after the destination holds the data for good: MLflow answered 2xx;
///    a local file was written and `fsync`ed. A crash before the save then
///    re-sends the same request; a crash after it sends the next.
/// 2. **Resend idempotently.** The one request that may be in flight at a
///    crash is sent again from the same cursors, so it must be built the
///    same way (the same record always maps to the same items, in the same
///    order: the cursor's `item` counts them) and must leave the destination
///    as one send would: MLflow stores an identical metric point once; a
///    file writer cuts what follows its last acknowledged length before
///    appending (or starts a new file), and records that length in its state.
/// 3. **Never lose the way back.** Whatever identifies the run at the
///    destination (the MLflow run id, an event file's name and length) goes
///    into the state in the same save as the first data that depends on it,
///    or is found again from the destination (MLflow: the run tagged
///    `runlog.run_id`) so that a lost state re-finds, never duplicates.
/// 4. **Say what an error means by its type.** Throw `SyncError`s whose
///    `code` gives the right `disposition`: `.retry` is retried inside the
///    step (with `Backoff`, cut short by `Pause`), `.quarantine` sets the
///    pair's state to quarantined with the reason and stops its turns until
///    the quarantine retry, `.fatal` stops the daemon, `.stop` ends the turn
///    at shutdown. Never decide by message text.
/// 5. **Keep a turn bounded**: one request, and return (`.more` when more
///    is ready) so other runs have their turn; no thread of its own.
///
/// The status the destination was last given for the run goes in the
/// state's `sentStatus` and `sentAttempt` (`syncd clean` removes a run only
/// once every destination has a final one, not `RUNNING`).
protocol Destination: Sendable {
    /// The destination's name: the key of its part of each run's state file
    /// and the name in messages. Stable across releases ("mlflow", "tensorboard").
    var name: String { get }

    /// What one worker thread uses for this destination (a connection, open
    /// files); used by that thread alone, and given to every `step` it makes.
    func makeLink(pause: Pause) -> AnyObject

    /// The delivery of the run at `directory`, whose run id is `state.runID`,
    /// starting from `state` (this destination's saved state, or a new one).
    /// Made once per run directory; one worker at a time steps it.
    func delivery(for directory: RunDirectory, state: RunState, context: SyncContext) -> any RunDelivery
}

/// One run's delivery to one destination (see `Destination` for the contract).
protocol RunDelivery: AnyObject {
    /// The state as last saved or about to be saved.
    var state: RunState { get }

    /// Does one unit of work with `link` (made by the same destination's
    /// `makeLink`). An error whose disposition is `.quarantine` quarantines
    /// the pair and returns `.quarantined`; only `.fatal` and `.stop` errors are thrown.
    func step(_ link: AnyObject) throws(SyncError) -> DeliveryOutcome

    /// Makes a quarantined pair pending again, for its next turn to try anew.
    func retryAfterQuarantine()
}

/// What a turn of a (run, destination) pair found.
enum DeliveryOutcome: Equatable {
    /// More work is ready: step again (after other runs had their turn).
    case more
    /// Caught up; check again after `recheck` seconds (a live writer that may crash), or on a change.
    case idle(recheck: Double?)
    /// The destination refused this run's data for good; see `state.lastError`.
    case quarantined
}

/// MLflow as a destination: each run becomes one MLflow run (found again by
/// its `runlog.run_id` tag), delivered by `RunSyncer` through one
/// `MLflowClient` per worker.
struct MLflowDestination: Destination {
    static let name = RunState.firstDestination
    var name: String { Self.name }
    let settings: SyncSettings
    let connection: ConnectionMonitor
    let logger: Logger

    func makeLink(pause: Pause) -> AnyObject {
        MLflowClient(baseURL: settings.mlflowURL, options: settings.http, pause: pause, logger: logger, connection: connection)
    }

    func delivery(for directory: RunDirectory, state: RunState, context: SyncContext) -> any RunDelivery {
        RunSyncer(directory: directory, state: state, context: context)
    }
}
