import AppleAppsAndBooks

/// The exchange with Apple failed before Apple could answer with an error number: a timeout, a
/// broken connection, an answer that is not Apple's JSON. The outbox treats these as "try again
/// later". Never carries the token, the request's headers or the answer's values.
/// A struct over a private enum so cases can be added without breaking callers.
public struct AppleHTTPClientError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Kind: Hashable {
        case timeout
        case transport
        case unexpectedStatus
        case malformedAnswer
        case encoding
    }

    private let kind: Kind
    /// The call's path under the base URL, e.g. `/assets`.
    public let path: String
    /// The HTTP status, when an answer arrived (0 when none did).
    public let httpStatus: Int
    public let description: String

    private init(_ kind: Kind, path: String, httpStatus: Int = 0, _ description: String) {
        self.kind = kind
        self.path = path
        self.httpStatus = httpStatus
        self.description = description
    }

    static func timeout(path: String, seconds: Duration) -> Self {
        .init(.timeout, path: path, "Apple did not answer \(path) within \(seconds)")
    }
    static func transport(path: String, reason: String) -> Self {
        .init(.transport, path: path, "the exchange with Apple for \(path) failed: \(reason)")
    }
    static func unexpectedStatus(path: String, httpStatus: Int) -> Self {
        .init(.unexpectedStatus, path: path, httpStatus: httpStatus, "Apple answered \(path) with HTTP \(httpStatus) and no error number")
    }
    static func malformedAnswer(path: String, httpStatus: Int, reason: String) -> Self {
        .init(.malformedAnswer, path: path, httpStatus: httpStatus, "Apple's answer to \(path) is not the JSON expected: \(reason)")
    }
    static func encoding(path: String, reason: String) -> Self {
        .init(.encoding, path: path, "the request for \(path) could not be encoded: \(reason)")
    }

    public var isTimeout: Bool { kind == .timeout }
    public var isMalformedAnswer: Bool { kind == .malformedAnswer }
    public var isTransport: Bool { kind == .transport }
    public var isUnexpectedStatus: Bool { kind == .unexpectedStatus }
}

extension AppleHTTPClientError: AppleReachabilityFailure {
    /// A timeout or a failed exchange got no answer; any HTTP status, even a malformed answer,
    /// came from the other side. An encoding failure never left, but is this client's bug,
    /// not the network's.
    public var reachedApple: Bool { !(kind == .timeout || kind == .transport) }
}
