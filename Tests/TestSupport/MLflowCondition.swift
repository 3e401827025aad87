// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

/// Whether tests that start a real MLflow server run: not when
/// `RUNLOG_TEST_MLFLOW=0`, the fast unit run (see README, "Tests").
public enum TestEnvironment {
    public static let mlflow = ProcessInfo.processInfo.environment["RUNLOG_TEST_MLFLOW"] != "0"
}

extension Trait where Self == ConditionTrait {
    /// For a suite or test that needs a real MLflow server (about 15 s to
    /// start, then seconds a test): skipped in the fast run.
    public static var needsMLflow: Self {
        .enabled(if: TestEnvironment.mlflow, "needs MLflow; RUNLOG_TEST_MLFLOW=0 (the fast run) skips it")
    }
}
