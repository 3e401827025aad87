/// Where the writer thread puts frames: the attempt's log file.
///
/// It exists so that tests can put a fault injector between the writer and
/// the real file (`RunOptions.sinkWrapper`) where no small file system can be
/// mounted to fill up for real.
protocol FrameSink: AnyObject {
    /// The log's path, for messages.
    var path: String { get }
    /// Appends one encoded frame; on failure the file is as it was before.
    func appendFrame(_ frame: [UInt8]) throws
    /// Makes everything appended durable.
    func sync() throws
    /// Syncs and closes.
    func close() throws
}

/// The real sink: a `LogWriter`, which cuts a partly written frame back.
final class LogFileSink: FrameSink {
    let writer: LogWriter
    init(_ writer: LogWriter) { self.writer = writer }
    var path: String { writer.path }
    func appendFrame(_ frame: [UInt8]) throws { try writer.appendFrame(frame) }
    func sync() throws { try writer.sync() }
    func close() throws { try writer.close() }
}
