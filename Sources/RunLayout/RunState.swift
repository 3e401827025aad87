// SPDX-License-Identifier: Apache-2.0
import Foundation

/// What syncd knows of one run at one destination: where it is in each
/// log, and what the destination holds. Saved, with the run's other
/// destinations, in the run's state file (`RunStateFile`, spec/sync-state.md);
/// a cursor moves only after the destination acknowledged everything before it.
public struct RunState: Codable, Sendable, Equatable {
    /// The version of the state file format this build writes.
    public static let currentVersion = RunStateFile.currentVersion
    /// The destination a version 1 state file (which had one) was for.
    public static let firstDestination = "mlflow"

    public enum Status: String, Codable, Sendable {
        /// Everything in the logs is in MLflow (a live run may write more).
        case synced
        /// Data or a status change is waiting to be sent.
        case pending
        /// MLflow refused something of this run for good; see `lastError`.
        case quarantined
    }

    /// A position in one log: the frame starting at `offset` (a frame
    /// boundary), of which the first `record` records are done, and of record
    /// number `record` the first `item` items (metric points, params, tags, uploads).
    public struct Cursor: Codable, Sendable, Equatable, Comparable {
        public var offset: Int64
        public var record: Int
        public var item: Int

        public init(offset: Int64, record: Int = 0, item: Int = 0) {
            self.offset = offset
            self.record = record
            self.item = item
        }

        public static func < (a: Cursor, b: Cursor) -> Bool { (a.offset, a.record, a.item) < (b.offset, b.record, b.item) }
    }

    /// Where a console part starts in a log: record `record` of the frame at
    /// `offset`. Parts before `part` are uploaded whole and never change.
    public struct ConsoleCursor: Codable, Sendable, Equatable {
        public var part: Int
        public var offset: Int64
        public var record: Int

        public init(part: Int = 0, offset: Int64 = 0, record: Int = 0) {
            self.part = part
            self.offset = offset
            self.record = record
        }
    }

    /// A version of a run file: its size, modification time (ns) and SHA-256 (hex).
    public struct FileVersion: Codable, Sendable, Equatable {
        public var size: Int64
        public var mtime: Int64
        public var sha256: String

        public init(size: Int64, mtime: Int64, sha256: String) {
            self.size = size
            self.mtime = mtime
            self.sha256 = sha256
        }
    }

    /// A TensorBoard destination's event file of one rank: where it is under
    /// the log directory, how many bytes of it are acknowledged (whole events,
    /// synced), and what the mapping of the next records depends on.
    public struct EventFile: Codable, Sendable, Equatable {
        /// The TensorBoard run's directory, relative to the log directory.
        public var directory: String
        public var file: String
        public var length: Int64
        /// The step and time (µs) of the last record that had them.
        public var step: Int64
        public var time: Int64
        /// Keys seen as metrics and as histograms (a key logged as both gets a suffix).
        public var metricKeys: [String]
        public var histogramKeys: [String]

        public init(
            directory: String, file: String, length: Int64, step: Int64, time: Int64, metricKeys: [String],
            histogramKeys: [String]
        ) {
            self.directory = directory
            self.file = file
            self.length = length
            self.step = step
            self.time = time
            self.metricKeys = metricKeys
            self.histogramKeys = histogramKeys
        }

        enum CodingKeys: String, CodingKey {
            case directory, file, length, step, time
            case metricKeys = "metric_keys"
            case histogramKeys = "histogram_keys"
        }
    }

    /// How an attempt and rank ended, as its run end record says.
    public struct End: Codable, Sendable, Equatable {
        /// "finished", "failed" or "killed".
        public var status: String
        /// Microseconds since the epoch.
        public var endTime: Int64
        public init(status: String, endTime: Int64) {
            self.status = status
            self.endTime = endTime
        }
        enum CodingKeys: String, CodingKey {
            case status
            case endTime = "end_time"
        }
    }

    public var version: Int = RunState.currentVersion
    public var runID: String
    /// The destination this state is for (the key of its part of the state
    /// file): "mlflow", "tensorboard".
    public var destination: String = RunState.firstDestination
    public var mlflowRunID: String?
    public var experimentID: String?
    /// The MLflow tracking server the run goes to, as configured but without
    /// credentials (`http://mlflow.internal:5000`); nil in states written
    /// before syncd recorded it.
    public var mlflowURL: String?
    public var status: Status = .pending
    /// Bytes of the logs not yet read and acknowledged, when last saved.
    public var pendingBytes: Int64 = 0
    public var lastError: String?
    /// When this state was last saved (ISO 8601, UTC).
    public var updated: String = ""
    /// Cursor per log file name (`a0001-r0000-s0000.rlog`).
    public var segments: [String: Cursor] = [:]
    /// Run ends seen, by `"<attempt>/<rank>"`.
    public var ends: [String: End] = [:]
    /// Per `"<log file name>/<stream>"`, the console part being uploaded and where it starts.
    public var consoles: [String: ConsoleCursor] = [:]
    /// Per log file name, the byte offset (a frame boundary) up to which all
    /// its console records are in MLflow; absent until syncd read it to there.
    public var consolesUploaded: [String: Int64] = [:]
    /// The status last set on the MLflow run ("RUNNING", "FINISHED", "FAILED", "KILLED"), and for which attempt.
    public var sentStatus: String?
    public var sentAttempt: UInt64 = 0
    /// Files of the run left out of MLflow (a checkpoint whose SHA-256 is not
    /// its record's, or that is not a regular file inside the run directory):
    /// artifact path → why. The rest of the run is synced as usual.
    public var fileErrors: [String: String] = [:]
    /// Run files uploaded (`files/<path>` in MLflow), by their path in the run directory: the version sent.
    public var files: [String: FileVersion] = [:]
    /// Destination `tensorboard`: its event file per rank (`"0"`, `"1"`, …).
    public var eventFiles: [String: EventFile] = [:]
    /// Per log file name, the size it had when the histogram pictures in
    /// MLflow last showed every histogram in it (all logs of the run read to
    /// those sizes, every picture uploaded since); empty until then.
    public var histogramPictures: [String: Int64] = [:]

    public init(runID: String, destination: String = RunState.firstDestination) {
        self.runID = runID
        self.destination = destination
    }

    /// The MLflow run's page, `<server>/#/experiments/<experiment>/runs/<run>?workflowType=machine_learning`,
    /// once syncd knows the server, the experiment and the run.
    public var mlflowRunURL: String? {
        guard let server = mlflowURL, let experiment = experimentID, let run = mlflowRunID else { return nil }
        return Self.runPage(server: server, experimentID: experiment, runID: run)
    }

    /// The page of an MLflow run on `server` (a tracking URI without a trailing `/`).
    ///
    /// MLflow 3's UI lays a run page out as model training or as GenAI by a
    /// workflow type of the browser's (`workflowType` in the page's address,
    /// else what the user last chose, else GenAI), not by the experiment's
    /// `mlflow.experimentKind` tag; the address asks for model training.
    public static func runPage(server: String, experimentID: String, runID: String) -> String {
        "\(server)/#/experiments/\(experimentID)/runs/\(runID)?workflowType=machine_learning"
    }

    /// Thrown by the decoder for a `version` it does not know.
    public struct VersionError: Error, Sendable {
        public var version: Int
    }

    enum CodingKeys: String, CodingKey {
        case version, status, updated, segments, ends, consoles
        case runID = "run_id"
        case mlflowRunID = "mlflow_run_id"
        case experimentID = "experiment_id"
        case mlflowURL = "mlflow_url"
        case pendingBytes = "pending_bytes"
        case lastError = "last_error"
        case sentStatus = "sent_status"
        case sentAttempt = "sent_attempt"
        case fileErrors = "file_errors"
        case files
        case eventFiles = "event_files"
        case histogramPictures = "histogram_pictures"
        case consolesUploaded = "consoles_uploaded"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(mlflowRunID, forKey: .mlflowRunID)
        try c.encode(experimentID, forKey: .experimentID)
        try c.encode(mlflowURL, forKey: .mlflowURL)
        try c.encode(status, forKey: .status)
        try c.encode(pendingBytes, forKey: .pendingBytes)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(updated, forKey: .updated)
        try c.encode(segments, forKey: .segments)
        try c.encode(ends, forKey: .ends)
        if !consoles.isEmpty { try c.encode(consoles, forKey: .consoles) }
        if !consolesUploaded.isEmpty { try c.encode(consolesUploaded, forKey: .consolesUploaded) }
        try c.encode(sentStatus, forKey: .sentStatus)
        try c.encode(sentAttempt, forKey: .sentAttempt)
        if !fileErrors.isEmpty { try c.encode(fileErrors, forKey: .fileErrors) }
        if !files.isEmpty { try c.encode(files, forKey: .files) }
        if !eventFiles.isEmpty { try c.encode(eventFiles, forKey: .eventFiles) }
        if !histogramPictures.isEmpty { try c.encode(histogramPictures, forKey: .histogramPictures) }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // Inside a version 2 file the run id and version are the file's;
        // a version 1 file is one state with both at its top.
        if let nested = decoder.userInfo[RunStateFile.runIDKey] as? String {
            runID = nested
        } else {
            version = try c.decode(Int.self, forKey: .version)
            guard version == 1 else { throw VersionError(version: version) }
            runID = try c.decode(String.self, forKey: .runID)
            version = Self.currentVersion
        }
        mlflowRunID = try c.decodeIfPresent(String.self, forKey: .mlflowRunID)
        experimentID = try c.decodeIfPresent(String.self, forKey: .experimentID)
        mlflowURL = try c.decodeIfPresent(String.self, forKey: .mlflowURL)
        status = try c.decode(Status.self, forKey: .status)
        pendingBytes = try c.decodeIfPresent(Int64.self, forKey: .pendingBytes) ?? 0
        lastError = try c.decodeIfPresent(String.self, forKey: .lastError)
        updated = try c.decodeIfPresent(String.self, forKey: .updated) ?? ""
        segments = try c.decodeIfPresent([String: Cursor].self, forKey: .segments) ?? [:]
        ends = try c.decodeIfPresent([String: End].self, forKey: .ends) ?? [:]
        consoles = try c.decodeIfPresent([String: ConsoleCursor].self, forKey: .consoles) ?? [:]
        consolesUploaded = try c.decodeIfPresent([String: Int64].self, forKey: .consolesUploaded) ?? [:]
        sentStatus = try c.decodeIfPresent(String.self, forKey: .sentStatus)
        sentAttempt = try c.decodeIfPresent(UInt64.self, forKey: .sentAttempt) ?? 0
        fileErrors = try c.decodeIfPresent([String: String].self, forKey: .fileErrors) ?? [:]
        files = try c.decodeIfPresent([String: FileVersion].self, forKey: .files) ?? [:]
        eventFiles = try c.decodeIfPresent([String: EventFile].self, forKey: .eventFiles) ?? [:]
        histogramPictures = try c.decodeIfPresent([String: Int64].self, forKey: .histogramPictures) ?? [:]
    }
}
