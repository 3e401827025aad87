// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

/// Seeds for tests that draw at random, so that a failure can be replayed:
/// `RUNLOG_TEST_SEED=N swift test --filter <test>` draws the same numbers.
public enum TestSeed {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var seeds: [String: UInt64] = [:]

    /// `$RUNLOG_TEST_SEED` when set, else a fresh random seed; remembered for
    /// the running test, whose issues then name it (`.namesSeed`).
    public static func make() -> UInt64 {
        let seed = ProcessInfo.processInfo.environment["RUNLOG_TEST_SEED"].flatMap { UInt64($0) }
            ?? UInt64.random(in: 0...UInt64.max)
        if let test = Test.current {
            lock.withLock { seeds[key(test)] = seed }
        }
        return seed
    }

    /// The seed the running test drew with `make()`, if it did.
    public static func seed(of test: Test?) -> UInt64? {
        guard let test else { return nil }
        return lock.withLock { seeds[key(test)] }
    }

    /// What a failing test's issues say about its seed, when it drew one.
    public static func comment(for test: Test?) -> Comment? {
        seed(of: test).map { Comment(rawValue: "seed \($0): RUNLOG_TEST_SEED=\($0) replays it") }
    }

    private static func key(_ test: Test) -> String { String(describing: test.id) }
}

extension Trait where Self == IssueHandlingTrait {
    /// Adds to each issue a test records the seed it drew with `TestSeed.make()`
    /// and how to replay it.
    public static var namesSeed: Self {
        .compactMapIssues { issue in
            // On a suite it applies to the suite and again to each test: once is enough.
            guard let comment = TestSeed.comment(for: Test.current), !issue.comments.contains(comment) else { return issue }
            var named = issue
            named.comments.append(comment)
            return named
        }
    }
}
