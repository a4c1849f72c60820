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

    init(_ serials: [String], eventId: String) {
        self.json = Self.jsonArray(serials)
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

extension EventSerials {
    /// A JSON array of strings, written by hand: `JSONEncoder` spent more on an event's 1,000
    /// serials than SQLite spent storing them. Escapes what RFC 8259 requires (the quote, the
    /// backslash, control characters) and nothing else, so any string reads back unchanged,
    /// with `JSONDecoder` or SQLite's `json_each` alike.
    static func jsonArray(_ strings: [String]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(strings.reduce(2) { $0 + $1.utf8.count + 3 })
        bytes.append(UInt8(ascii: "["))
        for (index, string) in strings.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "\""))
            for byte in string.utf8 {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                    bytes.append(UInt8(ascii: "\\"))
                    bytes.append(byte)
                case 0x00..<0x20:
                    bytes.append(contentsOf: unicodeEscapePrefix)
                    bytes.append(hexDigits[Int(byte >> 4)])
                    bytes.append(hexDigits[Int(byte & 0x0F)])
                default:
                    bytes.append(byte)
                }
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "]"))
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let unicodeEscapePrefix = Array("\\u00".utf8)
    private static let hexDigits = Array("0123456789abcdef".utf8)
}
