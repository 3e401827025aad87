// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The user information of a URL (`http://user:password@host/`), which must
/// never be printed: syncd takes it out of the server URL when it reads its
/// settings and keeps it only as credentials (`Credentials.basic`), so that
/// no log line, status, error or state file can show it.
enum URLUserInfo {
    /// `url` without its user information, and the user and password
    /// (percent-decoded) when it has any.
    static func split(_ url: String) -> (url: String, user: String, password: String)? {
        guard let scheme = url.range(of: "://") else { return nil }
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@") else { return nil }
        let info = authority[..<at]
        let colon = info.firstIndex(of: ":")
        let user = String(info[..<(colon ?? info.endIndex)])
        let password = colon.map { String(info[info.index(after: $0)...]) } ?? ""
        let bare = String(url[..<scheme.upperBound]) + String(url[authority.index(after: at)...])
        return (bare, user.removingPercentEncoding ?? user, password.removingPercentEncoding ?? password)
    }

    /// `url` as it may be shown: without its user information.
    static func redacted(_ url: String) -> String { split(url)?.url ?? url }
}
