/// The answer to one of Apple's notifications (`POST /apple/notifications/{token}`): Apple only
/// reads the status; the body says what became of it, for people reading logs.
public struct NotificationReceiptView: Encodable, Sendable {
    /// `queued` (new, worked on after this answer) or `duplicate` (seen before, dropped).
    public let status: String
    public init(duplicate: Bool) { status = duplicate ? "duplicate" : "queued" }
}
