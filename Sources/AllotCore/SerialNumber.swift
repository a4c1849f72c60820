/// A device serial number as Apple knows it: 8 to 14 characters of `A-Z0-9`.
/// Input is trimmed and uppercased first, so a roster typed by hand still matches.
public struct SerialNumber: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    public static let lengthMin = 8
    public static let lengthMax = 14

    public let value: String

    /// Returns nil when `raw` is not a serial number once trimmed and uppercased.
    public init?(_ raw: some StringProtocol) {
        // Fast path, the common case of a batch: 8 to 14 bytes, all ASCII letters and digits.
        // Nothing to trim then, so the result is the one the general path below would give,
        // without its Unicode whitespace checks and array (a serial fits a small string, which
        // needs no allocation).
        if let fast = raw.utf8.withContiguousStorageIfAvailable(Self.asciiAlphanumeric) ?? nil {
            value = fast
            return
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.lengthMax)
        var trimmed = Substring(raw)[...]
        while let first = trimmed.first, first.isWhitespace { trimmed = trimmed.dropFirst() }
        while let last = trimmed.last, last.isWhitespace { trimmed = trimmed.dropLast() }
        for byte in trimmed.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"): bytes.append(byte)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): bytes.append(byte - 32)
            default: return nil
            }
            if bytes.count > Self.lengthMax { return nil }
        }
        guard bytes.count >= Self.lengthMin else { return nil }
        value = String(decoding: bytes, as: UTF8.self)
    }

    /// The uppercased serial when `utf8` is 8 to 14 ASCII letters and digits; nil otherwise
    /// (including every input the general path would trim or refuse).
    @inline(__always)
    private static func asciiAlphanumeric(_ utf8: UnsafeBufferPointer<UInt8>) -> String? {
        let count = utf8.count
        guard count >= lengthMin && count <= lengthMax else { return nil }
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"): continue
            default: return nil
            }
        }
        return String(unsafeUninitializedCapacity: count) { buffer in
            for offset in 0..<count {
                let byte = utf8[offset]
                buffer[offset] = byte >= UInt8(ascii: "a") ? byte - 32 : byte
            }
            return count
        }
    }

    /// The reason a raw serial was refused, in one sentence for the person who typed it.
    public static func problem(with raw: String) -> String {
        let trimmed = raw.trimmingWhitespace()
        if trimmed.isEmpty { return "the serial number is empty" }
        if trimmed.count < lengthMin || trimmed.count > lengthMax {
            return "serial number '\(trimmed.printableExcerpt)' has \(trimmed.count) characters; it needs \(lengthMin) to \(lengthMax)"
        }
        return "serial number '\(trimmed.printableExcerpt)' may hold only letters A-Z and digits 0-9"
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
    public var description: String { value }
    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let serial = SerialNumber(raw) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: Self.problem(with: raw)))
        }
        self = serial
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

extension StringProtocol {
    public func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }

    /// At most 40 characters, control characters replaced, for quoting user input in messages.
    public var printableExcerpt: String {
        let cleaned = self.prefix(40).map { $0.isNewline || ($0.asciiValue.map { $0 < 32 } ?? false) ? "?" : $0 }
        return String(cleaned) + (self.count > 40 ? "…" : "")
    }
}
