import Allot
import Foundation

/// Requests derived from openapi.yaml, in the manner of a schema fuzzer (schemathesis): for each
/// operation, its documented examples, then mutations of them (a field left out, null, the wrong
/// type, empty, one past a bound, random values from a fixed seed), wrong query values, unknown
/// path values, and no key or the wrong kind of key. Whether a request fits the document is not
/// the generator's guess: `OpenAPISpec.problems` decides it from the schema, so a mutation that
/// happens to stay valid is checked as valid.
struct OpenAPIRequestGenerator {
    /// Which key a request carries; the tenant's is read when it is sent (a rotation changes it).
    enum Credential: Sendable, Equatable, CustomStringConvertible {
        case none, garbage, tenant, admin
        var description: String {
            switch self {
            case .none: "no key"
            case .garbage: "an unknown key"
            case .tenant: "the tenant's key"
            case .admin: "the admin key"
            }
        }
    }

    struct Request: Sendable {
        let method: String
        let template: String
        let path: String
        let credential: Credential
        /// Whether it carries the key its operation takes (the tenant's, or the admin key).
        let properKey: Bool
        let headers: [(String, String)]
        let contentType: String?
        let body: [UInt8]?
        /// Why the request does not fit the document, or empty when it does.
        let schemaProblems: [String]
        /// A body whose content is a file format the schema cannot describe (a token file, a
        /// CSV roster): refusing its content is not refusing a valid request.
        let opaqueBody: Bool
        let label: String

        var fitsDocument: Bool { schemaProblems.isEmpty }
    }

    /// Values the world the requests run in provides.
    struct Fixtures {
        var pathValues: [String: String]
        /// Bodies of the operations whose body is a file, by operationId.
        var fileBodies: [String: [UInt8]]
    }

    let spec: OpenAPISpec
    let fixtures: Fixtures
    var random: SeededRandom

    /// Random values per mutated field: enough to wander, few enough to stay fast.
    static let randomValuesPerField = 2
    /// Where mutation stops descending (`items[0].app` is depth 2).
    static let mutationDepthMax = 2

    init(spec: OpenAPISpec, fixtures: Fixtures, seed: UInt64) {
        self.spec = spec
        self.fixtures = fixtures
        self.random = SeededRandom(seed: seed)
    }

    /// Every request, operation by operation in a fixed order; the operations that remove what
    /// others use (DELETE) come last.
    mutating func requests() throws -> [Request] {
        let operations = spec.operations.sorted { ($0.hasPrefix("DELETE") ? 1 : 0, $0) < ($1.hasPrefix("DELETE") ? 1 : 0, $1) }
        var all: [Request] = []
        for operation in operations {
            let parts = operation.split(separator: " ", maxSplits: 1).map(String.init)
            all += try requests(method: parts[0], template: parts[1])
        }
        return all
    }

    private mutating func requests(method: String, template: String) throws -> [Request] {
        guard let node = spec.operation(method, template) else { return [] }
        let parameters = try (node["parameters"] as? [[String: Any]] ?? []).map(spec.resolve)
        let secured = (node["security"] as? [Any])?.isEmpty != true
        // Tenant management (the list, creating one, rotating a key) takes the admin key.
        let adminOnly = secured && (!template.contains("{slug}") || template.hasSuffix("/api-key"))
        let credential: Credential = !secured ? .none : adminOnly ? .admin : .tenant
        let path = try fill(template, parameters)
        let validQuery = parameters.filter { $0["in"] as? String == "query" }.compactMap { parameter -> (String, String)? in
            guard let name = parameter["name"] as? String, let example = parameter["example"] else { return nil }
            return (name, "\(example)")
        }
        let bodies = try self.bodies(node, method: method, template: template)
        // The first example carries the auth, path and query variants.
        let base = bodies.first
        var made: [Request] = []
        let operationCredential = credential
        func add(_ label: String, path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
                 credential: Credential = credential, body: Body? = base, queryProblems: [String] = []) {
            made.append(Request(method: method, template: template, path: path + Self.encode(query), credential: credential,
                                properKey: secured && credential == operationCredential, headers: headers, contentType: body?.contentType, body: body?.bytes, schemaProblems: queryProblems + (body?.problems ?? []),
                                opaqueBody: body?.opaque ?? false, label: label))
        }

        if secured {
            add("no key", path: path, credential: .none)
            add("an unknown key", path: path, credential: .garbage)
            add(adminOnly ? "a tenant's key on an admin route" : "the admin key on a tenant route", path: path, credential: adminOnly ? .tenant : .admin)
        }
        for parameter in parameters where parameter["in"] as? String == "path" {
            guard let name = parameter["name"] as? String else { continue }
            for wrong in ["999999", "nobody-here", "%C3%A9t%C3%A9"] {
                add("path \(name)=\(wrong)", path: try fill(template, parameters, overriding: [name: wrong]))
            }
        }
        for parameter in parameters where parameter["in"] as? String == "query" {
            guard let name = parameter["name"] as? String else { continue }
            let schema = try spec.resolve(parameter["schema"] as? [String: Any] ?? [:])
            for value in queryValues(schema, example: parameter["example"]) {
                let problems = try spec.problems(Self.queryValue(value, schema), schema, at: "query \(name)")
                add("query \(name)=\(value)", path: path, query: [(name, value)], queryProblems: problems)
            }
        }
        for parameter in parameters where parameter["in"] as? String == "header" {
            guard let name = parameter["name"] as? String else { continue }
            let schema = try spec.resolve(parameter["schema"] as? [String: Any] ?? [:])
            for value in headerValues(schema) {
                let problems = try spec.problems(.string(value), schema, at: "header \(name)")
                add("header \(name) of \(value.count) characters", path: path, headers: [(name, value)], queryProblems: problems)
            }
        }
        for (index, body) in bodies.enumerated() {
            add(index == 0 ? "example" : body.label, path: path, query: index == 0 ? validQuery : [], body: body)
        }
        if base == nil { add("as documented", path: path, query: validQuery, body: nil) }
        return made
    }

    // MARK: Bodies

    struct Body {
        let label: String
        let contentType: String
        let bytes: [UInt8]
        let problems: [String]
        let opaque: Bool
    }

    /// The documented examples first, then their mutations, each judged by the schema.
    private mutating func bodies(_ node: [String: Any], method: String, template: String) throws -> [Body] {
        guard let reference = node["requestBody"] as? [String: Any] else { return [] }
        let requestBody = try spec.resolve(reference)
        let content = requestBody["content"] as? [String: Any] ?? [:]
        guard let (contentType, mediaAny) = content.sorted(by: { $0.key < $1.key }).first,
              let media = mediaAny as? [String: Any] else { return [] }
        let schema = media["schema"] as? [String: Any] ?? [:]
        let operationId = node["operationId"] as? String ?? "\(method) \(template)"
        if contentType != "application/json" {
            return try fileBodies(operationId: operationId, contentType: contentType, schema: schema)
        }
        let examples = (media["examples"] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }.compactMap { name, example -> (String, JSONValue)? in
            guard let value = (example as? [String: Any])?["value"] else { return nil }
            return (name, JSONValue(yaml: value))
        }
        precondition(!examples.isEmpty, "\(operationId): a JSON request body needs an example in openapi.yaml")
        var made: [Body] = []
        func judge(_ label: String, _ value: JSONValue?, raw: [UInt8]? = nil) throws {
            let bytes = try raw ?? value.map { try Self.encoder.encode($0).asBytes } ?? []
            let problems: [String]
            if let value { problems = try spec.problems(value, schema, at: "body") }
            else { problems = ["body is not a JSON value"] }
            made.append(Body(label: label, contentType: contentType, bytes: bytes, problems: problems, opaque: false))
        }
        for (name, example) in examples { try judge("example \(name)", example) }
        for (name, raw) in [("empty", ""), ("null", "null"), ("an array", "[]"), ("cut short", "{"), ("a number", "7"), ("an empty object", "{}")] {
            try judge("body \(name)", raw.isEmpty || raw == "{" ? nil : try JSONDecoder().decode(JSONValue.self, from: Data(raw.utf8)), raw: Array(raw.utf8))
        }
        // Fields that other examples of the operation have: adding one mixes the documented shapes.
        var fieldsSeen: [String: JSONValue] = [:]
        for (_, example) in examples { if case .object(let fields) = example { fieldsSeen.merge(fields) { first, _ in first } } }
        // Each field is mutated once, in the first example that has it.
        var mutated: Set<String> = []
        for (name, example) in examples {
            guard case .object(let fields) = example else { continue }
            for (key, value) in fieldsSeen.sorted(by: { $0.key < $1.key }) where fields[key] == nil {
                var mixed = fields
                mixed[key] = value
                try judge("example \(name) plus `\(key)`", .object(mixed))
            }
            let fresh = Set(fields.keys).subtracting(mutated)
            mutated.formUnion(fresh)
            for (label, value) in try mutations(of: example, schema: schema, at: "", depthLeft: Self.mutationDepthMax, only: fresh) {
                try judge("example \(name), \(label)", value)
            }
        }
        return made
    }

    /// An empty body, a few random bytes, and the world's real file.
    private mutating func fileBodies(operationId: String, contentType: String, schema: [String: Any]) throws -> [Body] {
        var made: [Body] = []
        func judge(_ label: String, _ bytes: [UInt8]) throws {
            let problems = try spec.problems(.string(String(decoding: bytes, as: UTF8.self)), schema, at: "body")
            made.append(Body(label: label, contentType: contentType, bytes: bytes, problems: problems, opaque: !bytes.isEmpty))
        }
        if let file = fixtures.fileBodies[operationId] { try judge("the world's file", file) }
        try judge("an empty body", [])
        try judge("random text", Array(random.text(lengthMax: 40).utf8))
        try judge("random bytes", (0..<32).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        if let most = schema["maxLength"] as? Int { try judge("one byte past maxLength", Array(repeating: UInt8(ascii: "a"), count: most + 1)) }
        return made
    }

    /// The mutations of each field of an object: left out, null, the wrong type, empty, past a
    /// bound, random; inside arrays of objects, the first element's fields too.
    private mutating func mutations(of value: JSONValue, schema: [String: Any], at path: String, depthLeft: Int,
                                    only keys: Set<String>? = nil) throws -> [(String, JSONValue)] {
        guard depthLeft > 0, case .object(let fields) = value else { return [] }
        var made: [(String, JSONValue)] = []
        for (key, field) in fields.sorted(by: { $0.key < $1.key }) where keys?.contains(key) ?? true {
            let name = path.isEmpty ? key : "\(path).\(key)"
            let fieldSchema = try property(key, of: schema)
            func set(_ label: String, _ replacement: JSONValue?) {
                var changed = fields
                changed[key] = replacement
                made.append(("`\(name)` \(label)", .object(changed)))
            }
            set("left out", nil)
            set("null", .null)
            for (label, wrong) in try replacements(field, schema: fieldSchema) { set(label, wrong) }
            for _ in 0..<Self.randomValuesPerField {
                let value = random.value()
                set("random \(value.excerpt)", value)
            }
            if case .array(let elements) = field, let first = elements.first, case .object = first {
                let itemSchema = try spec.resolve(fieldSchema["items"] as? [String: Any] ?? [:])
                for (label, mutated) in try mutations(of: first, schema: itemSchema, at: "\(name)[0]", depthLeft: depthLeft - 1) {
                    var changed = fields
                    changed[key] = .array([mutated] + elements.dropFirst())
                    made.append((label, .object(changed)))
                }
            }
        }
        return made
    }

    /// Values of the wrong type, empty, and one past each bound the schema names.
    private func replacements(_ field: JSONValue, schema: [String: Any]) throws -> [(String, JSONValue)] {
        var made: [(String, JSONValue)] = []
        switch field {
        case .string:
            made += [("a number", .number(7)), ("an array", .array([field])), ("empty", .string(""))]
            if let most = schema["maxLength"] as? Int { made.append(("past maxLength", .string(String(repeating: "a", count: most + 1)))) }
            if schema["pattern"] != nil || schema["enum"] != nil { made.append(("not of the documented form", .string("nonsense!"))) }
        case .array(let elements):
            made += [("a string", .string("x")), ("empty", .array([])), ("[null]", .array([.null])), ("[7]", .array([.number(7)])), ("[\"\"]", .array([.string("")]))]
            if let most = schema["maxItems"] as? Int, let first = elements.first {
                made.append(("past maxItems", .array(Array(repeating: first, count: most + 1))))
            }
        case .bool:
            made += [("a string", .string("true")), ("a number", .number(1))]
        case .number:
            made += [("a string", .string("1")), ("a fraction", .number(1.5))]
        case .object:
            made += [("a string", .string("x")), ("an array", .array([]))]
        case .null:
            break
        }
        return made
    }

    /// A property's schema, looked up through `$ref` and `allOf`.
    private func property(_ key: String, of schema: [String: Any]) throws -> [String: Any] {
        let schema = try spec.resolve(schema)
        if let found = (schema["properties"] as? [String: Any])?[key] as? [String: Any] { return try spec.resolve(found) }
        for part in schema["allOf"] as? [[String: Any]] ?? [] {
            let found = try property(key, of: part)
            if !found.isEmpty { return found }
        }
        return [:]
    }

    // MARK: Paths and queries

    private func fill(_ template: String, _ parameters: [[String: Any]], overriding: [String: String] = [:]) throws -> String {
        var path = template
        for parameter in parameters where parameter["in"] as? String == "path" {
            guard let name = parameter["name"] as? String else { continue }
            guard let value = overriding[name] ?? fixtures.pathValues[name] else { throw TestFailure("no value for {\(name)} in \(template)") }
            path = path.replacingOccurrences(of: "{\(name)}", with: value)
        }
        return path
    }

    /// The documented example, values of the wrong kind, and each bound passed.
    private mutating func queryValues(_ schema: [String: Any], example: Any?) -> [String] {
        var values = example.map { ["\($0)"] } ?? []
        switch Self.types(schema).first {
        // `yes`, `1` and an empty value are what a lenient reader takes for a flag.
        case "boolean": values += ["true", "false", "maybe", "2", "yes", "1", "TRUE", ""]
        case "integer":
            values += ["x", "1.5", "99999999999999999999"]
            if let least = schema["minimum"] as? Int { values += ["\(least)", "\(least - 1)"] }
            if let most = schema["maximum"] as? Int { values += ["\(most)", "\(most + 1)"] }
        default:
            values += ["", "nonsense!", random.text(lengthMax: 12)]
        }
        return values
    }

    /// Keys in order, so every run sends the same bytes.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    /// Empty, one character, and each length bound and one past it. Each value is another
    /// length, so no two requests share an idempotency key.
    private func headerValues(_ schema: [String: Any]) -> [String] {
        var lengths = [0, 1]
        if let least = schema["minLength"] as? Int, least > 1 { lengths += [least - 1, least] }
        if let most = schema["maxLength"] as? Int { lengths += [most, most + 1] }
        return lengths.map { String(repeating: "k", count: $0) }
    }

    static func types(_ schema: [String: Any]) -> [String] { OpenAPISpec.types(schema["type"]) ?? [] }

    /// A query value as the schema reads it: a number or boolean where the schema says so and
    /// the text is one, else the text.
    static func queryValue(_ text: String, _ schema: [String: Any]) -> JSONValue {
        switch types(schema).first {
        case "integer", "number": Double(text).map(JSONValue.number) ?? .string(text)
        case "boolean": text == "true" ? .bool(true) : text == "false" ? .bool(false) : .string(text)
        default: .string(text)
        }
    }

    static func encode(_ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return "" }
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&+=?#")
        return "?" + query.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
    }
}
