// SPDX-License-Identifier: Apache-2.0

/// The version of runlog's tools and libraries, shown by `runlog --version`
/// and `syncd --version`.
public enum RunLogVersion {
    public static let current = "0.1.0"
}
