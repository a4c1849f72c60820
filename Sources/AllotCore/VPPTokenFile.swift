import Foundation

/// A `.vpptoken` file as an organisation downloads it (APPLE.md, "The .vpptoken file"): one
/// Base64 string which decodes to JSON with `token`, `expDate` and `orgName`. What is sent to
/// Apple is the whole Base64 string as found in the file, trimmed; the JSON is read only for
/// metadata. The secret never appears in a message.
public struct VPPTokenFile: Sendable {
    /// The Bearer credential: the file's Base64 string, trimmed. A secret.
    public let bearer: String
    public let orgName: String
    public let expiresAt: Date

    /// Files are small; anything larger is not a token file.
    public static let bytesMax = 16_384

    public init(contents: String, now: Date) throws(TokenFileError) {
        let trimmed = contents.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw TokenFileError("is empty; download the token again from Apple Business Manager or Apple School Manager") }
        guard trimmed.utf8.count <= Self.bytesMax else { throw TokenFileError("is larger than \(Self.bytesMax) bytes, so it is not a .vpptoken file") }
        guard let decoded = Data(base64Encoded: trimmed) else {
            throw TokenFileError("is not Base64; a .vpptoken file holds one Base64 string (was it opened and saved by an editor?)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: decoded), let json = object as? [String: Any] else {
            throw TokenFileError("decodes from Base64 but not to a JSON object; it is not a content token")
        }
        let missing = ["token", "expDate", "orgName"].filter { json[$0] == nil }
        guard missing.isEmpty else {
            throw TokenFileError("lacks the key\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", ")); download the token again")
        }
        guard let secret = json["token"] as? String, !secret.isEmpty else { throw TokenFileError("has an empty or non-text token") }
        guard let orgName = json["orgName"] as? String else { throw TokenFileError("has an orgName that is not text") }
        guard let expText = json["expDate"] as? String, let expiresAt = Self.parseExpiry(expText) else {
            // Show what was found, cut to an excerpt: the file is a secret, but its expDate is not.
            let found = (json["expDate"] as? String).map { "'\($0.printableExcerpt)'" } ?? "a value that is not text"
            throw TokenFileError("has an expDate that is not a real date like 2027-06-30T22:33:22+0000 (found \(found))")
        }
        guard expiresAt > now else {
            throw TokenFileError("expired on \(Self.display(expiresAt)); download a fresh token from Apple Business Manager or Apple School Manager")
        }
        bearer = trimmed
        self.orgName = orgName
        self.expiresAt = expiresAt
    }

    /// Apple writes `2027-06-30T22:33:22+0000` (numeric offset, no colon); the colon form and
    /// `Z` are accepted too, since Apple's client config answers use them.
    public static func parseExpiry(_ text: String) -> Date? {
        let formats = ["yyyy-MM-dd'T'HH:mm:ssZ", "yyyy-MM-dd'T'HH:mm:ssXXXXX", "yyyy-MM-dd'T'HH:mm:ss.SSSZ", "yyyy-MM-dd'T'HH:mm:ss.SSSXXXXX"]
        for format in formats {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(secondsFromGMT: 0)
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    public static func display(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: date)
    }
}

/// What is wrong with a token file, as the end of a sentence that starts with the file's name.
public struct TokenFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public let problem: String
    init(_ problem: String) { self.problem = problem }
    public var description: String { "the token file \(problem)" }
}
