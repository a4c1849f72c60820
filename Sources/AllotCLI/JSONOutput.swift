import Foundation

/// `--json`: exactly one JSON object on stdout, keys sorted so the output is stable.
enum JSONOutput {
    static func emit(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        Standard.output(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}

/// Any JSON value, to carry an engine's JSON text (an event's detail) as an object, not a string.
enum JSONValue: Codable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses JSON text; text that is not JSON is kept as a string.
    init(parsing text: String) {
        self = (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .string(text)
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if value == value.rounded(), abs(value) < 1e15 { try container.encode(Int64(value)) } else { try container.encode(value) }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

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
