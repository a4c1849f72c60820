import Allot
import Foundation
import Yams

/// openapi.yaml, read with a YAML parser, and a checker for the part of JSON Schema it uses:
/// `$ref`, `oneOf`, `type` (one or a list, `null` included), `properties`, `required`, `items`, `enum`,
/// `const`, `additionalProperties` and `format: date-time`.
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
        if let alternatives = schema["oneOf"] as? [[String: Any]] {
            let fits = try alternatives.map { try problems(value, $0, at: location) }
            if fits.contains(where: \.isEmpty) { return [] }
            return ["\(location) fits none of the oneOf schemas: " + fits.map { $0.joined(separator: "; ") }.joined(separator: " | ")]
        }
        var found: [String] = []
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
        switch value {
        case .object(let fields):
            let properties = schema["properties"] as? [String: Any]
            for key in schema["required"] as? [String] ?? [] where fields[key] == nil {
                found.append("\(location) lacks the required field `\(key)`")
            }
            for (key, field) in fields.sorted(by: { $0.key < $1.key }) {
                if let property = properties?[key] as? [String: Any] {
                    found += try problems(field, property, at: "\(location).\(key)")
                } else if let additional = schema["additionalProperties"] as? [String: Any] {
                    found += try problems(field, additional, at: "\(location).\(key)")
                } else if properties != nil && schema["additionalProperties"] as? Bool != true {
                    found.append("\(location).\(key) is sent but not in the document")
                }
            }
        case .array(let elements):
            if let items = schema["items"] as? [String: Any] {
                for (index, element) in elements.enumerated() { found += try problems(element, items, at: "\(location)[\(index)]") }
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
