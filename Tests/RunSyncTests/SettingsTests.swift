// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunSync
import Testing

@Suite struct SettingsTests {
    func write(_ text: String) throws -> String {
        let path = TestRun.makeRoot() + "/syncd.toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func configFileSetsEverySettingAndDefaultsFillTheRest() throws {
        let root = TestRun.makeRoot()
        var s = SyncSettings()
        try s.apply(configFile: try write("""
            # syncd
            roots = ["\(root)"]   # where runs are
            mlflow = "http://127.0.0.1:5000"
            poll = true
            poll_interval = 2.5
            workers = 8
            timeout = 30
            recheck_interval = 5
            quarantine_retry = 600
            shutdown_grace = 3
            histogram_records = false
            """))
        try s.validate()
        #expect(s.recheckInterval == 5 && s.quarantineRetry == 600 && s.shutdownGrace == 3 && !s.histogramRecords)
        #expect(s.roots == [root] && s.mlflowURL == "http://127.0.0.1:5000" && s.poll && s.pollInterval == 2.5)
        #expect(s.workers == 8 && s.http.timeout == 30 && s.stateDirectory == root + "/.syncd")
    }

    /// The duration settings take a number of seconds, or a duration as
    /// `syncd clean --older-than` and `--give-up-after` take it.
    @Test func durationSettingsTakeSecondsOrDurations() throws {
        var s = SyncSettings()
        try s.apply(configFile: try write("""
            quarantine_retry = "1h"
            lost_after = '2m'
            shutdown_grace = "3s"
            poll_interval = "0.5"
            recheck_interval = 7
            timeout = "1.5m"
            """))
        #expect(s.quarantineRetry == 3600 && s.lostAfter == 120 && s.shutdownGrace == 3)
        #expect(s.pollInterval == 0.5 && s.recheckInterval == 7 && s.http.timeout == 90)
        for (text, expected) in [
            ("timeout = \"soon\"", ":1: timeout: 'soon' is not a duration like 90s, 45m, 12h or 7d"),
            ("\nlost_after = \"-1m\"", ":2: lost_after: '-1m' is not a duration like 90s, 45m, 12h or 7d"),
            ("quarantine_retry = true", ":1: quarantine_retry: wrong type"),
            ("shutdown_grace = [\"3s\"]", ":1: shutdown_grace: wrong type"),
        ] {
            var bad = SyncSettings()
            let path = try write(text)
            do {
                try bad.apply(configFile: path)
                Issue.record("\(text): accepted")
            } catch {
                #expect(error.message == path + expected, "\(text)")
            }
        }
    }

    @Test func badConfigLinesAreOneLineErrorsNamingFileLineAndSetting() throws {
        for (text, expected) in [
            ("workers = \"four\"", ":1: workers: wrong type"), ("\nspeed = 3", ":2: speed: unknown setting"),
            ("roots = [\"a\", 3]", ":1: roots: wrong type"), ("mlflow", ":1: not valid TOML: "),
            ("# comment\nworkers = 4.5", ":2: workers: wrong type"), ("poll = \"yes\"", ":1: poll: wrong type"),
            ("histogram_records = 0", ":1: histogram_records: wrong type"),
            ("mlflow = 'http://a'\n\nroots = \"/x\"", ":3: roots: wrong type"), ("timeout = 1979-05-27", ":1: timeout: wrong type"),
            ("roots = [\n  \"/a\",\n  \"/b\"\n", ":3: not valid TOML: "), ("mlflow = \"x\"\nmlflow = \"y\"", ":2: not valid TOML: "),
            ("[server]\nmlflow = \"x\"", ":1: server: unknown setting"), ("x = \"unterminated", ":1: not valid TOML: "),
        ] {
            var s = SyncSettings()
            let path = try write(text)
            #expect(throws: SyncError.self, "\(text)") { try s.apply(configFile: path) }
            do { try s.apply(configFile: path) } catch {
                #expect(error.message.hasPrefix(path + expected), "\(text): \(error.message)")
                #expect(!error.message.contains("\n"), "one line: \(error.message)")
            }
        }
    }

    @Test func configFilesAreTOMLWithCommasInStringsLiteralStringsCommentsAndMultiLineArrays() throws {
        let root = TestRun.makeRoot()
        let odd = root + "/a,b"
        let quoted = root + "/it is \"here\""
        for dir in [odd, quoted] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        var s = SyncSettings()
        try s.apply(configFile: try write("""
            # roots, one a line; a comma inside a string is part of it
            roots = [
              "\(odd)",   # a comma in a path
              '\(root)/it is "here"',  # a literal string: no escapes, quotes as they are
            ]
            mlflow = 'http://127.0.0.1:5000'   # literal
            state = "\(root)/state\\u0021"
            workers = 1_6
            poll_interval = 5e-1
            """))
        #expect(s.roots == [odd, quoted])
        #expect(s.mlflowURL == "http://127.0.0.1:5000" && s.stateDirectory == root + "/state!")
        #expect(s.workers == 16 && s.pollInterval == 0.5)
        try s.validate()
        // The same keys quoted, and an empty array.
        var t = SyncSettings()
        try t.apply(configFile: try write("\"roots\" = []\n'mlflow' = \"\"\"\nhttp://x\"\"\"\n"))
        #expect(t.roots.isEmpty && t.mlflowURL == "http://x")
    }

    @Test func validationNamesTheBadSetting() throws {
        let root = TestRun.makeRoot()
        var s = SyncSettings()
        s.roots = [root]
        s.mlflowURL = "ftp://x"
        #expect { try s.validate() } throws: { ($0 as? SyncError)?.message.hasPrefix("mlflow:") == true }
        s.mlflowURL = "http://127.0.0.1:1"
        s.roots = [root + "/missing"]
        #expect { try s.validate() } throws: { ($0 as? SyncError)?.message.hasPrefix("root:") == true }
    }

    @Test func credentialsComeFromTheEnvironmentOrAPrivateFileOnly() throws {
        #expect("\(try Credentials.load(file: nil, environment: ["MLFLOW_TRACKING_TOKEN": "secret"]))" == "bearer token")
        #expect("\(try Credentials.load(file: nil, environment: ["MLFLOW_TRACKING_USERNAME": "u", "MLFLOW_TRACKING_PASSWORD": "pw"]))" == "basic auth as u")
        let file = try write("token = \"s3cret\"\n")
        chmod(file, 0o640)
        #expect { try Credentials.load(file: file, environment: [:]) } throws: { ($0 as? SyncError)?.message.contains("chmod 600") == true }
        chmod(file, 0o600)
        let c = try Credentials.load(file: file, environment: [:])
        #expect("\(c)" == "bearer token" && !"\(c)".contains("s3cret"))
    }

    @Test func backoffGrowsWithFullJitterUpToTheCapAndHonoursRetryAfter() {
        var b = Backoff(base: 0.5, cap: 4)
        let waits = (0..<40).map { _ in b.next() }
        #expect(waits.allSatisfy { $0 >= 0 && $0 <= 4 })
        #expect(waits.prefix(1).allSatisfy { $0 <= 0.5 })
        #expect(Set(waits.map { ($0 * 1000).rounded() }).count > 20, "jittered")
        var r = Backoff(base: 0.1, cap: 1)
        #expect(r.next(retryAfter: 7) == 7)
        #expect(r.next(retryAfter: 10_000) == r.maxRetryAfter)
    }
}

@Suite struct MLflowNamesTests {
    @Test func acceptedKeysAreUnchangedAndRefusedCharactersBecomeUnderscores() {
        for k in ["loss", "train/loss", "val acc", "lr:group0", "größe", "损失", "a-b_c.d"] { #expect(MLflowNames.key(k) == k) }
        #expect(MLflowNames.key("acc@1") == "acc_1")
        #expect(MLflowNames.key("f(x)[0]") == "f_x__0_")
        #expect(MLflowNames.key("a#b+c,d=e%'\"\\") == "a_b_c_d_e____")
        #expect(MLflowNames.key("/a//b/") == "a/b")
        #expect(MLflowNames.key("a/../b/./c") == "a/__/b/_/c")
        #expect(MLflowNames.key("") == "_" && MLflowNames.key("..") == "__")
        #expect(MLflowNames.key("emoji🔥") == "emoji_")
    }

    @Test func longKeysKeepAPrefixAndAHashSoThatTheyStayDistinct() {
        let a = String(repeating: "k", count: 300) + "a", b = String(repeating: "k", count: 300) + "b"
        #expect(MLflowNames.key(a).count == 250 && MLflowNames.key(b).count == 250)
        #expect(MLflowNames.key(a) != MLflowNames.key(b))
        // The first 241 code points, "_", and the first 8 hex digits of the key's SHA-256
        // (computed apart: hashlib.sha256(("k" * 300 + "a").encode()).hexdigest()).
        #expect(MLflowNames.key(a) == String(repeating: "k", count: 241) + "_9d9d3780")
        #expect(MLflowNames.key(b) == String(repeating: "k", count: 241) + "_be55b8e1")
    }

    @Test func artifactPathsCannotLeaveTheRunsDirectory() {
        #expect(ArtifactPath(["histograms", "../../etc/passwd"]).description == "histograms/_../_../etc/passwd")
        #expect(ArtifactPath("a//b/./c").description == "a/_/b/_./c")
        #expect(ArtifactPath(["x", "we ird?#name"]).description == "x/we_ird__name")
        #expect(!ArtifactPath(["..", ".", ""]).components.contains { $0 == ".." || $0 == "." || $0.isEmpty })
    }
}
