// SPDX-License-Identifier: Apache-2.0
import Foundation
@testable import RunSync
import Testing

/// What syncd does about an error is decided by its type: the HTTP status,
/// MLflow's `error_code`, and where an I/O error happened; never by its text.
@Suite struct SyncErrorTests {
    static func answer(_ status: Int, _ body: String, retryAfter: Double? = nil) -> SyncError {
        MLflowClient.classify(HTTPClient.Response(status: status, body: Array(body.utf8), retryAfter: retryAfter), what: "runs/log-batch")
    }

    @Test func mlflowAnswersAreClassifiedByStatusAndErrorCode() {
        let exists = Self.answer(400, #"{"error_code": "RESOURCE_ALREADY_EXISTS", "message": "Experiment 'x' already exists."}"#)
        #expect(exists.code == .refused && exists.mlflowCode == .resourceAlreadyExists && exists.disposition == .quarantine)
        #expect(exists.message == "runs/log-batch: HTTP 400 RESOURCE_ALREADY_EXISTS: Experiment 'x' already exists.")

        let missing = Self.answer(404, #"{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no"}"#)
        #expect(missing.mlflowCode == .resourceDoesNotExist && missing.status == 404)

        let busy = Self.answer(503, "<html>Service Unavailable</html>", retryAfter: 7)
        #expect(busy.code == .unavailable && busy.disposition == .retry && busy.retryAfter == 7 && busy.mlflowCode == nil)

        // A limit MLflow reports with a 4xx status is still worth retrying.
        let limited = Self.answer(400, #"{"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}"#)
        #expect(limited.disposition == .retry && limited.mlflowCode == .requestLimitExceeded)

        #expect(Self.answer(401, "").disposition == .fatal)
        #expect(Self.answer(403, #"{"error_code": "PERMISSION_DENIED", "message": "no"}"#).disposition == .quarantine)
        #expect(Self.answer(429, "").disposition == .retry)
        #expect(Self.answer(400, "not json").mlflowCode == nil)
    }

    @Test func theDispositionFollowsTheCodeWhateverTheMessageSays() {
        // A refusal whose text names another error code is decided by its type alone.
        let e = SyncError(.refused, "HTTP 400 RESOURCE_ALREADY_EXISTS TEMPORARILY_UNAVAILABLE", status: 400)
        #expect(e.mlflowCode == nil && e.disposition == .quarantine)
        let table: [(SyncError.Code, SyncError.Disposition)] = [
            (.transport, .retry), (.unavailable, .retry), (.refused, .quarantine), (.forbidden, .quarantine),
            (.io, .quarantine), (.data, .quarantine), (.unauthenticated, .fatal), (.state, .fatal), (.config, .fatal),
            (.cancelled, .stop), (.locked, .fatal), (.unreachable, .fatal),
        ]
        for (code, disposition) in table {
            #expect(SyncError(code, "x").disposition == disposition, "\(code)")
        }
    }

    @Test func anUnreadableStateFileIsAFatalStateErrorNamingTheFile() throws {
        let dir = TestRun.makeRoot() + "/.syncd"
        let store = try StateStore(directory: dir)
        try Data("{\"version\": 1, \"run_id\": \"x\", \"status\": 3}".utf8).write(to: URL(fileURLWithPath: store.path(of: "x")))
        #expect { try store.load("x") } throws: { error in
            guard let e = error as? SyncError else { return false }
            return e.code == .state && e.disposition == .fatal && e.message.hasPrefix(store.path(of: "x") + ": unreadable state")
        }
    }
}
