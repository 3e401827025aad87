// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif
import RunLogFormat

/// Writes frames of 50 metrics rows each, forever, printing each frame's end
/// offset once `write` has returned. Rows are a pure function of the step so
/// that a test can check every value it reads back.
func runFormatWriter(path: String) -> Never {
    do {
        let writer = try LogWriter(
            creating: path, header: FileHeader(runID: "killme", created: 0, writer: "runlog-testwriter"))
        var start = RunStart(runID: "killme")
        start.project = "crash"
        try writer.append([.runStart(start)])
        say("\(writer.size)")
        var step: Int64 = 0
        while true {
            var b = MetricsBlock.Builder()
            for _ in 0..<50 {
                b.append(step: step, time: step, values: [("a", Double(step)), ("b", Double(step) * 0.5)])
                step += 1
            }
            try writer.append([.metrics(b.build()!)])
            say("\(writer.size)")
        }
    } catch {
        fail("runlog-testwriter: \(error)", code: 1)
    }
}
