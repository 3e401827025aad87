// SPDX-License-Identifier: Apache-2.0
/// Metric keys registered once with a run, for the fastest way to log:
///
/// ```swift
/// let k = run.keys("loss", "acc", "lr", "grad_norm")
/// run.log(k, loss, acc, lr, gradNorm, step: step)
/// ```
///
/// Logging by registered keys hashes no string and allocates nothing per call.
/// Keys belong to the run that made them; given to another run they are
/// looked up by name there (slower, still correct).
public struct MetricKeys: Sendable, Hashable {
    /// The keys, in the order values are given to `Run.log(_:_:step:)`.
    public let names: [String]
    let ids: [Int32]
    let owner: ObjectIdentifier?

    init(names: [String], ids: [Int32], owner: ObjectIdentifier?) {
        self.names = names
        self.ids = ids
        self.owner = owner
    }

    public var count: Int { names.count }
}
