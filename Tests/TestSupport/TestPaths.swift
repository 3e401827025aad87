// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Where the tests find the package and what it built.
public enum TestPaths {
    /// The package's root directory: the nearest directory above the running
    /// test bundle that holds `Package.swift` (the bundle is built under
    /// `<root>/.build`), else the one above these sources.
    public static let packageRoot: URL = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
            dir.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }()

    /// The golden vectors, `spec/vectors`.
    public static var vectors: URL { packageRoot.appendingPathComponent("spec/vectors") }

    /// The directory of the built products: the test bundle's own (or the one
    /// above it), else `<root>/.build/debug`.
    public static let products: URL = {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for dir in [bundle, bundle.deletingLastPathComponent()]
        where FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("runlog").path) {
            return dir
        }
        return packageRoot.appendingPathComponent(".build/debug")
    }()

    /// A new, empty directory under the system's temporary directory, named
    /// `<prefix>-<random>`; the caller removes it.
    public static func temporaryDirectory(_ prefix: String) throws -> String {
        let path = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The path of the executable product or target `name` (which need not exist yet).
    public static func executable(_ name: String) -> String {
        products.appendingPathComponent(name).path
    }
}
