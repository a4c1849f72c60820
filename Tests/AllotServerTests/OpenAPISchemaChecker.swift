import Allot
import Foundation
import Yams

/// openapi.yaml, read with a YAML parser, and a checker for the part of JSON Schema it uses:
/// `$ref`, `oneOf` (exactly one), `allOf`, `not`, `type` (one or a list, `null` included),
/// `properties` (a property `false` is ruled out), `required`, `items`, `enum`, `const`,
/// `additionalProperties`, the bounds (`minLength`, `maxLength`, `pattern`, `minItems`,
/// `maxItems`, `minimum`, `maximum`) and `format` `date-time` and `int64`. Lengths count
/// Unicode scalars, as JSON Schema does.
///
/// Stricter than JSON Schema on one point, on purpose: an object whose schema lists
/// `properties` may not carry others. A field the server sends but the document does not name is
/// drift, and this is what makes it fail CI.
struct OpenAPISpec {
    let root: [String: Any]

    static let file = ApplicationTests.repositoryRoot.appendingPathComponent("openapi.yaml")

    init() throws {
        let text = try String(contentsOf: Self.file, encoding: .utf8)
        guard let root = try Yams.load(yaml: text) as? [String: Any] else { throw TestFailure("openapi.yaml is not a YAML mapping") }
        self.root = root
    }

    var paths: [String: [String: Any]] { (root["paths"] as? [String: Any] ?? [:]).compactMapValues { $0 as? [String: Any] } }

    static let methods = ["get", "put", "post", "delete", "patch"]

    /// Every operation as "METHOD /path".
    var operations: Set<String> {
        Set(paths.flatMap { path, item in Self.methods.filter { item[$0] != nil }.map { "\($0.uppercased()) \(path)" } })
    }

    func operation(_ method: String, _ path: String) -> [String: Any]? {
        paths[path]?[method.lowercased()] as? [String: Any]
    }

    /// The node a local `$ref` ("#/components/schemas/Token") names, or the node itself.
    func resolve(_ node: [String: Any]) throws -> [String: Any] {
        guard let reference = node["$ref"] as? String else { return node }
        guard reference.hasPrefix("#/") else { throw TestFailure("only local references are read: \(reference)") }
        var current: Any = root
        for key in reference.dropFirst(2).split(separator: "/") {
            guard let next = (current as? [String: Any])?[String(key)] else { throw TestFailure("\(reference) names nothing") }
            current = next
        }
        guard let resolved = current as? [String: Any] else { throw TestFailure("\(reference) is not a mapping") }
        return try resolve(resolved)
    }

    /// The documented response of an operation for a status, with its JSON schema if it has one.
    func response(_ method: String, _ path: String, status: Int) throws -> (documented: Bool, jsonSchema: [String: Any]?) {
        guard let operation = operation(method, path) else { throw TestFailure("\(method) \(path) is not in openapi.yaml") }
        let responses = operation["responses"] as? [String: Any] ?? [:]
        guard let node = (responses[String(status)] ?? responses["default"]) as? [String: Any] else { return (false, nil) }
        let response = try resolve(node)
        let content = response["content"] as? [String: Any] ?? [:]
        let json = (content["application/json"] as? [String: Any])?["schema"] as? [String: Any]
        return (true, json)
    }

    /// The problems of `value` against `schema`, each naming where it is ("$.tokens[0].state").
    func problems(_ value: JSONValue, _ schema: [String: Any], at location: String = "$") throws -> [String] {
        let schema = try resolve(schema)
        var found: [String] = []
        if let alternatives = schema["oneOf"] as? [[String: Any]] {
            let fits = try alternatives.map { try problems(value, $0, at: location) }
            switch fits.count(where: \.isEmpty) {
            case 1: break
            case 0: found.append("\(location) fits none of the oneOf schemas: " + fits.map { $0.joined(separator: "; ") }.joined(separator: " | "))
            default: found.append("\(location) fits more than one of the oneOf schemas")
            }
        }
        for part in schema["allOf"] as? [[String: Any]] ?? [] {
            found += try problems(value, part, at: location)
        }
        if let excluded = schema["not"] as? [String: Any], try problems(value, excluded, at: location).isEmpty {
            found.append("\(location) fits the schema it must not (`not`)")
        }
        if let types = Self.types(schema["type"]), !types.contains(where: { Self.value(value, is: $0) }) {
            return ["\(location) is \(Self.kind(of: value)), the document says \(types.joined(separator: " or "))"]
        }
        if let options = schema["enum"] as? [Any], !options.contains(where: { Self.value(value, equals: $0) }) {
            found.append("\(location) is \(value), not one of \(options)")
        }
        if let constant = schema["const"], !Self.value(value, equals: constant) {
            found.append("\(location) is \(value), the document says \(constant)")
        }
        if schema["format"] as? String == "date-time", case .string(let text) = value,
           (try? Date(text, strategy: .iso8601)) == nil {
            found.append("\(location) '\(text)' is not an ISO 8601 date-time")
        }
        found += try Self.boundProblems(value, schema, at: location)
        switch value {
        case .object(let fields):
            let properties = schema["properties"] as? [String: Any]
            for key in schema["required"] as? [String] ?? [] where fields[key] == nil {
                found.append("\(location) lacks the required field `\(key)`")
            }
            // Strict only where the schema says what the object is: a `oneOf` alternative that
            // only adds `required` or rules a field out names no type and constrains no others.
            let strict = Self.types(schema["type"])?.contains("object") == true
            for (key, field) in fields.sorted(by: { $0.key < $1.key }) {
                if properties?[key] as? Bool == false {
                    found.append("\(location).\(key) is sent where the document rules it out")
                } else if let property = properties?[key] as? [String: Any] {
                    found += try problems(field, property, at: "\(location).\(key)")
                } else if let additional = schema["additionalProperties"] as? [String: Any] {
                    found += try problems(field, additional, at: "\(location).\(key)")
                } else if strict && properties != nil && schema["additionalProperties"] as? Bool != true {
                    found.append("\(location).\(key) is sent but not in the document")
                }
            }
        case .array(let elements):
            // An array past its `maxItems` is already wrong; its items are not read one by one
            // (100,001 of them, a pattern each, would cost seconds).
            let pastMost = (schema["maxItems"] as? Int).map { elements.count > $0 } ?? false
            if let items = schema["items"] as? [String: Any], !pastMost {
                for (index, element) in elements.enumerated() { found += try problems(element, items, at: "\(location)[\(index)]") }
            }
        default:
            break
        }
        return found
    }

    /// `minLength`, `maxLength`, `pattern`, `minItems`, `maxItems`, `minimum`, `maximum` and
    /// `format: int64` (a whole number a signed 64-bit integer holds).
    static func boundProblems(_ value: JSONValue, _ schema: [String: Any], at location: String) throws -> [String] {
        var found: [String] = []
        switch value {
        case .string(let text):
            if let least = schema["minLength"] as? Int, text.unicodeScalars.count < least { found.append("\(location) is shorter than \(least) characters") }
            if let most = schema["maxLength"] as? Int, text.unicodeScalars.count > most { found.append("\(location) is longer than \(most) characters") }
            if let pattern = schema["pattern"] as? String, try text.firstMatch(of: PatternCache.shared.regex(pattern)) == nil {
                found.append("\(location) does not match \(pattern)")
            }
        case .array(let elements):
            if let least = schema["minItems"] as? Int, elements.count < least { found.append("\(location) has fewer than \(least) items") }
            if let most = schema["maxItems"] as? Int, elements.count > most { found.append("\(location) has more than \(most) items") }
        case .number(let number):
            if let least = schema["minimum"] as? Int, number < Double(least) { found.append("\(location) is below \(least)") }
            if let most = schema["maximum"] as? Int, number > Double(most) { found.append("\(location) is above \(most)") }
            if schema["format"] as? String == "int64", !(number >= -0x1p63 && number < 0x1p63) {
                found.append("\(location) is beyond a 64-bit integer")
            }
        default:
            break
        }
        return found
    }

    static func types(_ node: Any?) -> [String]? {
        if let one = node as? String { return [one] }
        return node as? [String]
    }

    static func value(_ value: JSONValue, is type: String) -> Bool {
        switch (value, type) {
        case (.null, "null"), (.bool, "boolean"), (.string, "string"), (.array, "array"), (.object, "object"), (.number, "number"): true
        case (.number(let number), "integer"): number == number.rounded()
        default: false
        }
    }

    static func kind(of value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    static func value(_ value: JSONValue, equals expected: Any) -> Bool {
        switch value {
        case .string(let text): "\(expected)" == text
        case .number(let number): (expected as? Int).map { Double($0) == number } ?? false
        case .bool(let flag): (expected as? Bool) == flag
        default: false
        }
    }
}

/// Compiled patterns: a 100,001-item body checks the same pattern on every item.
final class PatternCache: @unchecked Sendable {
    static let shared = PatternCache()
    // Guarded by `lock`.
    private var compiled: [String: Regex<AnyRegexOutput>] = [:]
    private let lock = NSLock()

    func regex(_ pattern: String) throws -> Regex<AnyRegexOutput> {
        try lock.withLock {
            if let regex = compiled[pattern] { return regex }
            let regex = try Regex(pattern)
            compiled[pattern] = regex
            return regex
        }
    }
}
