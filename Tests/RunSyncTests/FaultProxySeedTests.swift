// SPDX-License-Identifier: Apache-2.0
import TestSupport
import Testing

/// The fault proxy draws from a seed, so that a failure can be replayed, and
/// a test that fails names that seed.
@Suite(.namesSeed) struct FaultProxySeedTests {
    @Test func theSameSeedDrawsTheSameFaults() throws {
        let a = try FaultProxy(upstreamPort: 9, seed: 42)
        let b = try FaultProxy(upstreamPort: 9, seed: 42)
        let c = try FaultProxy(upstreamPort: 9, seed: 43)
        defer { a.stop(); b.stop(); c.stop() }
        let draws = (0..<200).map { _ in a.draw() }
        #expect(draws == (0..<200).map { _ in b.draw() })
        #expect(draws != (0..<200).map { _ in c.draw() })
        #expect(Set(draws).count > 3, "several kinds of fault in 200 draws at a 30 % rate")
    }

    @Test func theIssuesOfATestNameTheSeedItsProxyDrewAndHowToReplayIt() throws {
        #expect(TestSeed.comment(for: Test.current) == nil, "no seed drawn yet")
        let proxy = try FaultProxy(upstreamPort: 9)
        defer { proxy.stop() }
        // What `.namesSeed` adds to each issue this test records.
        #expect(TestSeed.comment(for: Test.current)?.rawValue == "seed \(proxy.seed): RUNLOG_TEST_SEED=\(proxy.seed) replays it")
    }
}
