import Allot
import AllotCore
import Foundation

/// Random choices from a fixed seed (the core's SplitMix64), so every run sends the same requests.
struct SeededRandom: Sendable {
    private var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { generator.next() }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// Letters, digits, punctuation, a space, an accent and an emoji: the characters that
    /// trip parsers.
    static let alphabet = Array("abcXYZ019:-_ .,!/%é😀\\\"")

    mutating func text(lengthMax: Int) -> String {
        String((0..<below(lengthMax + 1)).map { _ in Self.alphabet[below(Self.alphabet.count)] })
    }

    /// A JSON value of any kind, shallow.
    mutating func value() -> JSONValue {
        switch below(6) {
        case 0: .string(text(lengthMax: 16))
        case 1: .number(Double(Int64(bitPattern: next()) % 1_000_000))
        case 2: .bool(below(2) == 0)
        case 3: .array((0..<below(3)).map { _ in .string(text(lengthMax: 14)) })
        case 4: .object(["x": .string(text(lengthMax: 4))])
        default: .string(String(below(1_000_000_000)))
        }
    }
}

extension JSONValue {
    /// A value as Yams loaded it from the document's examples.
    init(yaml: Any) {
        switch yaml {
        case let flag as Bool: self = .bool(flag)
        case let number as Int: self = .number(Double(number))
        case let number as Double: self = .number(number)
        case let text as String: self = .string(text)
        case let list as [Any]: self = .array(list.map(JSONValue.init(yaml:)))
        case let map as [String: Any]: self = .object(map.mapValues(JSONValue.init(yaml:)))
        default: self = .null
        }
    }

    /// A short rendering for a label.
    var excerpt: String {
        let text = (try? String(decoding: OpenAPIRequestGenerator.encoder.encode(self), as: UTF8.self)) ?? "?"
        return text.count > 24 ? String(text.prefix(24)) + "…" : text
    }
}

extension Data {
    var asBytes: [UInt8] { Array(self) }
}
