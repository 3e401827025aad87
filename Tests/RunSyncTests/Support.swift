import Foundation
import Logging
import RunSync
import Testing

enum Sync {
    static let logger: Logger = {
        var l = Logger(label: "syncd-test")
        l.logLevel = ProcessInfo.processInfo.environment["SYNCD_TEST_LOG"] != nil ? .debug : .critical
        return l
    }()

    static func settings(root: String, url: String) -> SyncSettings {
        var s = SyncSettings()
        s.roots = [root]
        s.mlflowURL = url
        s.http.timeout = 20
        return s
    }

    /// One `--once` pass in this process.
    static func once(root: String, url: String, edit: (inout SyncSettings) -> Void = { _ in }) throws -> SyncEngine.Summary {
        var s = settings(root: root, url: url)
        edit(&s)
        try s.validate()
        return try SyncEngine(settings: s, logger: logger).runOnce()
    }

    static func state(root: String, run: String) throws -> RunState {
        try #require(try StateStore(directory: root + "/.syncd").load(run))
    }
}

/// The built `syncd` executable, next to the test bundle.
let syncdPath: String = {
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !url.path.hasSuffix("debug") && !url.path.hasSuffix("release") && url.path != "/" { url.deleteLastPathComponent() }
    return url.path + "/syncd"
}()
