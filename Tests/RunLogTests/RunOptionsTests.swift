// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

@Suite struct RunOptionsTests {
    @Test(arguments: [RunOptions.Sync.everyFrame, .never, .interval(0.01)])
    func everySyncPolicyWritesEveryRowWithinTheWriteInterval(sync: RunOptions.Sync) throws {
        let dir = TempDir()
        defer { dir.remove() }
        var options = testOptions()
        options.sync = sync
        options.frameTarget = 2048
        let run = try Run(id: "sync", root: dir.path, options: options)
        let k = run.keys("v")
        for s in 0..<5000 { run.log(k, Double(s), step: Int64(s)) }
        let deadline = Date().addingTimeInterval(10)
        var rows = 0
        while rows < 5000 && Date() < deadline {
            usleep(20_000)
            rows = try ReadLog(path: run.logPath!).rows.count
        }
        #expect(rows == 5000, "rows reach the file without flush() whatever the sync policy")
        #expect(run.finish())
        #expect(try ReadLog(path: run.logPath!).rows.map(\.values) == (0..<5000).map { ["v": Double($0)] })
    }

    @Test func keysOfAnotherRunAreLookedUpByName() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let a = try Run(id: "a", root: dir.path, options: testOptions())
        let b = try Run(id: "b", root: dir.path, options: testOptions())
        _ = b.keys("z", "y", "x")  // so that ids differ between the runs
        let k = a.keys("x", "y")
        b.log(k, 1, 2, step: 0)
        a.log(k, 3, 4, step: 0)
        a.finish()
        b.finish()
        #expect(try readRun(b.directory!)[0].rows.map(\.values) == [["x": 1, "y": 2]])
        #expect(try readRun(a.directory!)[0].rows.map(\.values) == [["x": 3, "y": 4]])
    }

    @Test func histogramsOfDegenerateInputsAreStillValid() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let run = try Run(id: "hist", root: dir.path, options: testOptions())
        run.logHistogram("empty", values: [Double](), bins: 8, step: 1)
        run.logHistogram("nan", values: [Double.nan, -Double.infinity], bins: 0, step: 2)
        run.logHistogram("same", values: [Float](repeating: 2, count: 5), bins: 3, step: 3)
        run.logHistogram("edges", values: [0, 1, 2, 3, 4, 5, 6, 7], bins: 4, step: 4)
        run.finish()
        let h = try readRun(run.directory!)[0].records.compactMap { r -> Histogram? in
            if case .histogram(let h) = r { return h } else { return nil }
        }
        #expect(h.map(\.key) == ["empty", "nan", "same", "edges"])
        #expect(h[0].counts == [UInt64](repeating: 0, count: 8) && h[0].count == 0 && h[0].nonfinite == 0)
        #expect(h[1].counts == [0] && h[1].count == 0 && h[1].nonfinite == 2)
        #expect(h[2].bins == .uniform(low: 1.5, high: 2.5) && h[2].counts == [0, 5, 0] && h[2].min == 2 && h[2].max == 2)
        #expect(h[3].bins == .uniform(low: 0, high: 7) && h[3].counts == [2, 2, 2, 2], "the last bin includes the high edge")
    }
}
