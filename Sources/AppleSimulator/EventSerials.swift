import Foundation

/// An event's serial numbers as they are stored: a JSON array of strings, kept as that text from
/// the request to the row and back. They are decoded only where a call needs the strings one by
/// one (a notification's list, an associate short of licences, a disassociate, a revoke, a
/// forced failure): the common associate inserts its rows straight from the text with SQLite's
/// `json_each`, so a 1,000-serial event is never decoded in Swift (decoding it was the largest
/// cost of a status poll).
struct EventSerials: Sendable, Equatable {
    let json: String
    let count: Int
    /// The event that owns them, to name it if the stored text turns out unreadable.
    private let eventId: String

    init(_ serials: [String], eventId: String) throws {
        self.json = try SimulatorStore.encode(serials)
        self.count = serials.count
        self.eventId = eventId
    }

    init(storedJSON: String, count: Int, eventId: String) {
        self.json = storedJSON
        self.count = count
        self.eventId = eventId
    }

    func decoded() throws -> [String] {
        let serials = try SimulatorStore.decode([String].self, json, what: "serials of event \(eventId)")
        // Checked where it is read back: the count was written beside the text.
        guard serials.count == count else {
            throw AppleSimulatorError.stateFile("the stored serials of event \(eventId) do not match their count; re-run `allot sim init`")
        }
        return serials
    }
}
