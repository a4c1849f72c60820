import Foundation

/// A refusal as published: the same object for an HTTP error answer and for the CLI's `--json`
/// error on stdout, so a client handles one shape whichever face it speaks to.
///
/// The shape is the HTTP API's, `{code, message}` at the top: its clients are services that
/// cannot be told to change, and it is what openapi.yaml documents. The CLI used to print
/// `{"error": {code, message}}`; that object stays beside the fields (in both faces) through the
/// 0.x releases and goes in 1.0 (docs/cli.md), so a script reading `.error.code` keeps working
/// while it moves to `.code`.
public struct ErrorView: Encodable, Sendable {
    /// The former CLI shape's inner object.
    public struct Former: Encodable, Sendable {
        public let code: String
        public let message: String
    }

    /// Stable, as in the HTTP API (`not_found`, `invalid_input`, `unknown_app`, …).
    public let code: String
    /// One sentence for people, on one line.
    public let message: String
    /// How the command is used, for a command line the CLI could not parse; null otherwise
    /// (always over HTTP, whose usage is openapi.yaml).
    @AlwaysPresent public var usage: String?
    /// Deprecated alias of `code` and `message`: the CLI's former `{"error": {…}}`.
    public let error: Former

    public init(code: String, message: String, usage: String? = nil) {
        self.code = code
        self.message = message
        self.usage = usage
        error = Former(code: code, message: message)
    }

    /// The object as JSON, keys sorted: the bytes both faces send.
    public var json: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings and null only: encoding cannot fail.
        return try! encoder.encode(self)
    }
}
