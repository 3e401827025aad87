// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import RunLayout

/// Syncs the runs under some roots to their destinations (`Destination`:
/// MLflow, …), with a pool of workers that take turns: each turn of a
/// (run, destination) pair is one request, after which the pair goes to the
/// back of the queue, so a busy run does not starve the others, and a
/// destination that is slow or down holds back no other. Files are opened
/// only during a turn, so descriptors stay bounded by the number of workers
/// whatever the number of runs.
public final class SyncEngine: @unchecked Sendable {
    public let settings: SyncSettings
    private let context: SyncContext
    private let pause = Pause()
    private let logger: Logger
    /// Shared by the workers' clients; `runOnce` gives it its limit.
    private var connection: ConnectionMonitor
    /// Held from `init` until the engine is released: one syncd per state directory.
    private let stateLock: StateLock

    private let lock = NSCondition()
    /// Per run directory, its delivery to each destination (by index in `destinations`).
    private var syncers: [String: [any RunDelivery]] = [:]
    /// The run id of each run directory with a syncer.
    private var identities: [String: String] = [:]
    /// Run directories skipped because their run id is also at another.
    private var conflicts: Set<String> = []
    private var queue: [Turn] = []
    private var queueHead = 0
    private var queued: Set<Turn> = []
    private var active: Set<Turn> = []
    private var dirty: Set<Turn> = []
    /// Pairs a destination refused: left alone until their retry is due (`quarantineRetry`).
    private var quarantined: Set<Turn> = []
    private var rechecks: [Turn: Date] = [:]
    private var fatal: SyncError?
    private var stopping = false
    private var once = false
    private var runningWorkers = 0
    /// Pairs a `runOnce` pass has finished with (caught up or quarantined).
    private var settled: Set<Turn> = []
    /// Poll signatures: the sizes of each run's logs when last looked at.
    private var signatures: [String: [Int64]] = [:]

    /// A run directory and one of its destinations: what a turn is for.
    struct Turn: Hashable {
        var path: String
        var destination: Int
    }

    /// Destinations added by the module's tests, after those of the settings.
    private let extraDestinations: [any Destination]

    /// The destinations every run goes to, from the settings.
    private var destinations: [any Destination] {
        var all: [any Destination] = []
        if !settings.mlflowURL.isEmpty { all.append(MLflowDestination(settings: settings, connection: connection, logger: logger)) }
        if let root = settings.tensorboardDirectory { all.append(TensorBoardDestination(root: root)) }
        return all + extraDestinations
    }

    public convenience init(settings: SyncSettings, logger: Logger) throws(SyncError) {
        try self.init(settings: settings, logger: logger, extraDestinations: [])
    }

    init(settings: SyncSettings, logger: Logger, extraDestinations: [any Destination]) throws(SyncError) {
        self.settings = settings
        self.logger = logger
        self.extraDestinations = extraDestinations
        let store = try StateStore(directory: settings.stateDirectory)
        stateLock = try StateLock(directory: settings.stateDirectory)
        context = SyncContext(store: store, logger: logger, recheckInterval: settings.recheckInterval)
        context.lostAfter = settings.lostAfter
        context.histogramRecords = settings.histogramRecords
        connection = ConnectionMonitor(server: URLUserInfo.redacted(settings.mlflowURL), giveUpAfter: nil, logger: logger)
    }

    /// What a finished `runOnce` found.
    public struct Summary: Sendable {
        public var synced: [String] = []
        public var pending: [String] = []
        public var quarantined: [(run: String, reason: String)] = []
        /// Pending runs left on an error that may pass (a full disk): a
        /// `runOnce` that did not deliver everything it found.
        public var failing: [(run: String, reason: String)] = []
    }

    /// Uploads everything present in the logs now, then returns. Live runs are
    /// uploaded as far as they are written. Throws on a fatal error (401), and
    /// `.unreachable` when MLflow did not answer for `giveUpAfter` seconds.
    public func runOnce(giveUpAfter: Double? = nil) throws(SyncError) -> Summary {
        once = true
        context.consoleInterval = 0
        context.pictureInterval = 0
        connection = ConnectionMonitor(server: URLUserInfo.redacted(settings.mlflowURL), giveUpAfter: giveUpAfter, logger: logger)
        discover(watcher: nil)
        try work()
        return summary()
    }

    /// Runs until `stop`: follows the runs live. Calls `ready` once started.
    public func run(ready: () -> Void = {}) throws(SyncError) {
        let watcher = Watcher(usingInotify: !settings.poll)
        for root in settings.roots { watcher.watchRoot(root) }
        discover(watcher: watcher)
        adoptVanished()
        let workers = startWorkers()
        ready()
        var lastScan = Date()
        let scanEvery = settings.poll ? settings.pollInterval : 30
        while !lock.withLock({ stopping || fatal != nil }) {
            let now = Date()
            let nextRecheck = lock.withLock { rechecks.values.min() } ?? now.addingTimeInterval(3600)
            let timeout = min(nextRecheck.timeIntervalSince(now), lastScan.addingTimeInterval(scanEvery).timeIntervalSince(now), 1)
            for event in watcher.wait(timeout: max(0.005, timeout)) {
                switch event {
                case .rescan: lastScan = .distantPast
                case .run(let path):
                    watcher.watchRun(path)
                    ensure(path)
                    enqueue(path)
                }
            }
            if Date() >= lastScan.addingTimeInterval(scanEvery) {
                discover(watcher: watcher)
                lastScan = Date()
            }
            lock.withLock {
                let due = rechecks.filter { $0.value <= Date() }.map(\.key)
                for key in due { rechecks[key] = nil }
                for key in due where quarantined.remove(key) != nil { delivery(key)?.retryAfterQuarantine() }
                for key in due { enqueueLocked(key) }
            }
        }
        for t in workers { t.join() }
        if let fatal = lock.withLock({ fatal }) { throw fatal }
    }

    /// Releases the state directory's lock (also done when the engine is
    /// released): call once `run` returned, before another engine takes over.
    public func releaseStateLock() { stateLock.release() }

    /// Asks the engine to stop: no new request starts; a request in flight
    /// may finish within `grace` seconds, then it is abandoned. Cursors are
    /// saved after every acknowledged request, so nothing is lost either way.
    public func stop(grace: Double) {
        lock.withLock {
            stopping = true
            lock.broadcast()
        }
        pause.stop()
        // The grace timer: woken by the last worker's exit, or by the deadline.
        let deadline = Date().addingTimeInterval(grace)
        Thread.detachNewThread { [pause, lock] in
            let done = lock.withLock { () -> Bool in
                while self.runningWorkers > 0 {
                    if !lock.wait(until: deadline) { return self.runningWorkers == 0 }
                }
                return true
            }
            if !done { pause.stop(abandonRequests: true) }
        }
    }

    // MARK: - Discovery

    /// Lists the roots: new runs get a syncer and a turn; in poll mode, so do runs whose logs grew.
    private func discover(watcher: Watcher?) {
        for root in settings.roots {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
            for name in names where !name.hasPrefix(".") {
                let path = root + "/" + name
                watcher?.watchRun(path)
                let isNew = lock.withLock { syncers[path] == nil }
                if isNew {
                    if ensure(path) { enqueue(path) }
                } else if settings.poll || watcher?.isActive == false {
                    let sig = Self.signature(path)
                    if lock.withLock({ signatures[path] != sig }) { enqueue(path) }
                }
            }
        }
    }

    static func signature(_ path: String) -> [Int64] {
        let logs = path + "/logs"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: logs)) ?? []).sorted()
        return names.map { RunSyncer.fileSize(logs + "/" + $0) } + [Int64(names.count)]
    }

    /// Makes a syncer for the run at `path` if it is a run; false otherwise.
    ///
    /// A run is what its logs say (`RunDirectory.loggedRunID`): a run
    /// directory moved or renamed, within a root or to another root, is the
    /// same run, and its syncer at the old place gives way to one here that
    /// continues from the saved cursors. Two directories that are there at
    /// once with the same run id are a conflict: the second is skipped, and
    /// said so once.
    @discardableResult
    private func ensure(_ path: String) -> Bool {
        if lock.withLock({ syncers[path] != nil }) { return true }
        let dir = RunDirectory(path: path)
        guard dir.isRun, let runID = dir.loggedRunID(), FileHeader.isValidRunID(runID) else { return false }
        let moved: String?? = lock.withLock {
            guard let (other, _) = identities.first(where: { $0.value == runID && $0.key != path }) else { return .some(nil) }
            if FileManager.default.fileExists(atPath: RunDirectory(path: other).logsPath) {
                if conflicts.insert(path).inserted {
                    logger.error("\(path): run id \(runID) is also at \(other); skipped while both are there (a run id names one run)")
                }
                return nil
            }
            // Taken over below from the state it saved, once no turn of it runs.
            if active.contains(where: { $0.path == other }) { return nil }
            forget(other)
            return .some(other)
        }
        guard let moved else { return false }
        var states: [RunState] = []
        do {
            let file = try context.store.loadFile(runID)
            for d in destinations { states.append(file?.destinations[d.name] ?? RunState(runID: runID, destination: d.name)) }
        } catch {
            logger.error("\(error.message)")
            return false
        }
        if let moved { logger.notice("run \(runID) moved from \(moved) to \(path); continuing from its cursors") }
        return lock.withLock {
            identities[path] = runID
            conflicts.remove(path)
            syncers[path] = zip(destinations, states).map { destination, state in
                let delivery = destination.delivery(for: dir, state: state, context: context)
                // A new process tries again at once: the cause may have been fixed.
                delivery.retryAfterQuarantine()
                return delivery
            }
            return true
        }
    }

    /// Runs whose state says their MLflow run is RUNNING but whose directory
    /// is under no root at start (deleted, or moved away, while syncd was
    /// stopped): followed from a place that never exists, so that the
    /// `lost_after` rule ends them as after a deletion seen live. A run that
    /// shows up under a root meanwhile takes over from there (`ensure`).
    private func adoptVanished() {
        for file in context.store.loadAll().states where file.destinations.values.contains(where: { $0.sentStatus == "RUNNING" }) {
            let path = settings.stateDirectory + "/.vanished/" + file.runID
            let dir = RunDirectory(path: path)
            let adopted = lock.withLock { () -> Bool in
                guard !identities.values.contains(file.runID) else { return false }
                identities[path] = file.runID
                syncers[path] = destinations.map { d in
                    d.delivery(for: dir, state: file.destinations[d.name] ?? RunState(runID: file.runID, destination: d.name), context: context)
                }
                return true
            }
            if adopted { enqueue(path) }
        }
    }

    /// Drops the syncer of a run directory that is gone (called with the lock held).
    private func forget(_ path: String) {
        for key in turns(path) {
            queued.remove(key)
            dirty.remove(key)
            quarantined.remove(key)
            rechecks[key] = nil
            settled.remove(key)
        }
        syncers[path] = nil
        identities[path] = nil
        signatures[path] = nil
    }

    /// The turns of a run directory: one per destination.
    private func turns(_ path: String) -> [Turn] {
        (0..<(syncers[path]?.count ?? 0)).map { Turn(path: path, destination: $0) }
    }

    private func delivery(_ key: Turn) -> (any RunDelivery)? {
        guard let all = syncers[key.path], key.destination < all.count else { return nil }
        return all[key.destination]
    }

    /// Gives every destination of the run at `path` a turn.
    private func enqueue(_ path: String) { lock.withLock { for key in turns(path) { enqueueLocked(key) } } }

    private func enqueueLocked(_ key: Turn) {
        guard delivery(key) != nil, !quarantined.contains(key) else { return }
        if active.contains(key) {
            dirty.insert(key)
        } else if queued.insert(key).inserted {
            queue.append(key)
            lock.signal()
        }
    }

    // MARK: - Workers

    private func startWorkers() -> [JoinableThread] {
        (0..<max(1, settings.workers)).map { i in
            let t = JoinableThread { [self] in try? worker() }
            t.name = "syncd-worker-\(i)"
            t.start()
            return t
        }
    }

    /// Runs workers on this thread's behalf until the queue is drained (`once`) or stop.
    private func work() throws(SyncError) {
        let threads = startWorkers()
        for t in threads { t.join() }
        if let fatal = lock.withLock({ fatal }) { throw fatal }
    }

    private func worker() throws {
        let links = destinations.map { $0.makeLink(pause: pause) }
        lock.withLock { runningWorkers += 1 }
        defer { lock.withLock { runningWorkers -= 1; lock.broadcast() } }
        while true {
            lock.lock()
            while queueHead == queue.count && !stopping && fatal == nil && !(once && active.isEmpty) {
                lock.wait()
            }
            if stopping || fatal != nil || queueHead == queue.count {
                lock.broadcast()
                lock.unlock()
                return
            }
            let key = queue[queueHead]
            queueHead += 1
            if queueHead > 1024, queueHead * 2 > queue.count {
                queue.removeFirst(queueHead)
                queueHead = 0
            }
            queued.remove(key)
            guard let syncer = delivery(key) else {
                lock.unlock()  // forgotten while queued: its run moved
                continue
            }
            active.insert(key)
            lock.unlock()

            // Taken before the turn: a change made during it shows at the next poll.
            let signature = once ? [] : Self.signature(key.path)
            let outcome: DeliveryOutcome
            do {
                outcome = try syncer.step(links[key.destination])
            } catch {
                lock.withLock {
                    active.remove(key)
                    if error.disposition != .stop, fatal == nil {
                        fatal = error
                        // Given up: the caller says so in one line; the other workers stop waiting.
                        if error.code == .unreachable { pause.stop(abandonRequests: true) } else { logger.critical("\(error.message)") }
                    }
                    lock.broadcast()
                }
                return
            }
            lock.withLock {
                active.remove(key)
                if !once { signatures[key.path] = signature }
                switch outcome {
                case .more:
                    enqueueLocked(key)
                case .idle(let recheck):
                    if dirty.remove(key) != nil {
                        enqueueLocked(key)
                    } else if let recheck, !once {
                        rechecks[key] = Date().addingTimeInterval(recheck)
                    } else if once {
                        settled.insert(key)
                    }
                case .quarantined:
                    dirty.remove(key)
                    quarantined.insert(key)
                    if once { settled.insert(key) }
                    if !once { rechecks[key] = Date().addingTimeInterval(settings.quarantineRetry) }
                }
                lock.broadcast()
            }
        }
    }

    /// How far a `runOnce` pass is.
    public struct Progress: Sendable, Equatable {
        /// Runs found, and those finished with (caught up or quarantined).
        public var runs = 0
        public var runsDone = 0
        /// Metric points MLflow acknowledged.
        public var pointsSent = 0
    }

    /// How far the engine is; safe to read from any thread while it works.
    public var progress: Progress {
        let (runs, done) = lock.withLock {
            (syncers.count, syncers.keys.filter { path in turns(path).allSatisfy { settled.contains($0) } }.count)
        }
        return Progress(runs: runs, runsDone: done, pointsSent: context.pointsSent)
    }

    private func summary() -> Summary {
        lock.withLock {
            var s = Summary()
            for (_, deliveries) in syncers.sorted(by: { $0.key < $1.key }) {
                var file = RunStateFile(runID: deliveries.first?.state.runID ?? "")
                for d in deliveries { file.destinations[d.state.destination] = d.state }
                switch file.status {
                case .synced: s.synced.append(file.runID)
                case .pending:
                    s.pending.append(file.runID)
                    if let error = file.lastError { s.failing.append((file.runID, error)) }
                case .quarantined: s.quarantined.append((file.runID, file.lastError ?? ""))
                }
            }
            return s
        }
    }
}

/// A thread that can be waited for.
final class JoinableThread: @unchecked Sendable {
    private let body: @Sendable () -> Void
    private let done = NSCondition()
    private var finished = false
    var name = ""

    init(_ body: @escaping @Sendable () -> Void) { self.body = body }

    func start() {
        let t = Thread { [self] in
            body()
            done.withLock {
                finished = true
                done.broadcast()
            }
        }
        t.name = name
        t.stackSize = 1 << 20
        t.start()
    }

    func join() {
        done.withLock { while !finished { done.wait() } }
    }
}
