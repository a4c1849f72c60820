/// A device serial number as Apple knows it: 8 to 14 characters of `A-Z0-9`.
/// Input is trimmed and uppercased first, so a roster typed by hand still matches.
public struct SerialNumber: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    public static let lengthMin = 8
    public static let lengthMax = 14

    public let value: String
    /// The same characters packed into two words, for hashing and comparing (see `SerialKey`).
    public let key: SerialKey

    /// Returns nil when `raw` is not a serial number once trimmed and uppercased.
    public init?(_ raw: some StringProtocol) {
        // Fast path, the common case of a batch: 8 to 14 bytes, all ASCII letters and digits.
        // Nothing to trim then, so the result is the one the general path below would give,
        // without its Unicode whitespace checks and array (a serial fits a small string, which
        // needs no allocation).
        if let fast = raw.utf8.withContiguousStorageIfAvailable(Self.asciiAlphanumeric) ?? nil {
            key = fast.key
            // Already canonical (no lowercase): the caller's text is the value, with no copy
            // when it is a String.
            value = fast.lowercase ? Self.text(of: fast.key, count: fast.count) : String(raw)
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
        key = bytes.withUnsafeBufferPointer(SerialKey.init(canonical:))
    }

    /// The uppercased serial when `utf8` is 8 to 14 ASCII letters and digits; nil otherwise
    /// (including every input the general path would trim or refuse).
    @inline(__always)
    private static func asciiAlphanumeric(_ utf8: UnsafeBufferPointer<UInt8>) -> (key: SerialKey, count: Int, lowercase: Bool)? {
        let count = utf8.count
        guard count >= lengthMin && count <= lengthMax else { return nil }
        var key = SerialKey()
        var lowercase = false
        for offset in 0..<count {
            var byte = utf8[offset]
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"): break
            case UInt8(ascii: "a")...UInt8(ascii: "z"):
                byte -= 32
                lowercase = true
            default: return nil
            }
            key.set(byte, at: offset)
        }
        return (key, count, lowercase)
    }

    /// The canonical text of a key (its bytes in order).
    private static func text(of key: SerialKey, count: Int) -> String {
        String(unsafeUninitializedCapacity: count) { buffer in
            for offset in 0..<count {
                let word = offset < 8 ? key.low : key.high
                buffer[offset] = UInt8(truncatingIfNeeded: word >> (UInt64(offset % 8) * 8))
            }
            return count
        }
    }

    /// Equal serials have equal keys and the other way round (the key is the canonical text),
    /// so hashing and comparing the key alone is exact, and cheaper than the String.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.key == rhs.key }
    public func hash(into hasher: inout Hasher) { hasher.combine(key) }

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

/// A serial's canonical bytes (at most 14 of `A-Z0-9`) packed into two words, bytes 0–7 in
/// `low` and 8–13 in `high`, the rest zero. No serial holds a zero byte, so the packing is
/// one-to-one: equal keys mean equal serials. Hashing it is one word through `Hasher` instead
/// of a String's bytes, which is what the planner's and the device cache's dictionaries spend
/// their time on.
public struct SerialKey: Hashable, Sendable {
    public private(set) var low: UInt64 = 0
    public private(set) var high: UInt64 = 0

    init() {}

    /// Packs bytes already checked to be a canonical serial (uppercase `A-Z0-9`, 8 to 14).
    public init(canonical bytes: UnsafeBufferPointer<UInt8>) {
        precondition(bytes.count <= SerialNumber.lengthMax, "a serial key holds at most \(SerialNumber.lengthMax) bytes")
        for offset in 0..<bytes.count { set(bytes[offset], at: offset) }
    }

    @inline(__always)
    mutating func set(_ byte: UInt8, at offset: Int) {
        if offset < 8 {
            low |= UInt64(byte) << (UInt64(offset) * 8)
        } else {
            high |= UInt64(byte) << (UInt64(offset - 8) * 8)
        }
    }

    /// One word into the hasher: `high` holds 48 bits, so multiplying it by an odd constant
    /// and folding keeps distinct keys mostly distinct (a collision costs only speed; `==`
    /// compares both words).
    @inline(__always)
    public func hash(into hasher: inout Hasher) {
        hasher.combine(low ^ (high &* 0x9E37_79B9_7F4A_7C15))
    }
}

extension StringProtocol {
    public func trimmingWhitespace() -> String {
        // Fast path, nearly every field of a roster: the first and last bytes are printable
        // ASCII, so neither end is whitespace. (A Character's whitespace-ness is its first
        // scalar's; a cluster ending in a printable ASCII byte cannot begin with whitespace,
        // and one beginning with it is that byte.) Skips grapheme breaking at both ends.
        let bytes = Substring(self).utf8
        if let first = bytes.first, let last = bytes.last,
           first > 0x20 && first < 0x7F, last > 0x20 && last < 0x7F {
            return String(self)
        }
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
