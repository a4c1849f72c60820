import Allot
import Foundation

/// `--json`: exactly one JSON object on stdout, keys sorted so the output is stable.
enum JSONOutput {
    static func emit(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        Standard.output(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}

/// A JSON object of mixed values, for files that do not import the engine (the simulator's
/// commands): `sim set-total` answers its total as a number.
typealias JSONFacts = [String: JSONValue]

extension JSONValue {
    /// Compact text for a table cell: `key=value` pairs for an object.
    var summary: String {
        switch self {
        case .null: "-"
        case .bool(let value): String(value)
        case .number(let value): value == value.rounded() && abs(value) < 1e15 ? Text.count(Int(value)) : String(value)
        case .string(let value): value
        case .array(let values): values.count > 3 ? "\(values.count) items" : "[" + values.map(\.summary).joined(separator: ", ") + "]"
        case .object(let fields):
            fields.keys.sorted().map { key in
                // Engine details carry moments as seconds since 1970 in keys named `…At`.
                if key.hasSuffix("At"), case .number(let seconds)? = fields[key] { return "\(key)=\(Text.date(Int64(seconds)))" }
                if case .object? = fields[key] { return "\(key)={\(fields[key]!.summary)}" }
                return "\(key)=\(fields[key]!.summary)"
            }.joined(separator: " ")
        }
    }
}
