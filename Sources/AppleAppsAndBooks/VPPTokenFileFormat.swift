import Foundation

/// Apple's `.vpptoken` file, for WRITING one: what Apple (or the simulator standing in for it)
/// hands an admin. One Base64 string; decoded, JSON with exactly `token`, `expDate`, `orgName`.
///
/// Parsing and validating token files is deliberately not here: the engine has its own parser
/// and the simulator its own minimal reading, so that a mistake made by one side cannot hide
/// behind the same mistake made by the other.
public enum VPPTokenFileFormat {
    /// The three keys of the decoded JSON, in Apple's spelling.
    public static let keys: Set<String> = ["token", "expDate", "orgName"]

    /// The file's whole content: Base64 of `{"token":…,"expDate":…,"orgName":…}`.
    public static func contents(secret: String, expirationDate: Date, orgName: String) -> String {
        let body = Body(token: secret, expDate: formatExpirationDate(expirationDate), orgName: orgName)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding three strings cannot fail; a failure here is a bug in Foundation or in us.
        guard let json = try? encoder.encode(body) else {
            preconditionFailure("encoding a token body of three strings failed")
        }
        return json.base64EncodedString()
    }

    /// Apple's date form in token files and in `tokenExpirationDate`: ISO-8601 with a numeric
    /// offset without colon, always written in UTC here: `2027-06-30T22:33:22+0000`.
    public static func formatExpirationDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d+0000",
            parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!, parts.second!
        )
    }

    private struct Body: Encodable {
        var token: String
        var expDate: String
        var orgName: String
    }
}
