import Foundation

/// Finds an explicit `null` in a JSON request body. No request schema in openapi.yaml admits
/// null, but Swift's decoder reads `"group": null` as a field left out, so without this check the
/// server took what its document forbids. A field is either given a value or left out.
enum ExplicitNull {
    /// Whether `bytes` holds a `null` outside a string: one pass over the bytes, no parsing, so a
    /// 16 MiB batch pays a scan, not a second decode. `n` outside a string begins only `null` in
    /// well-formed JSON; malformed JSON is the decoder's to refuse, so a false alarm there only
    /// leads to `location`, which then finds nothing.
    static func occurs(in bytes: [UInt8]) -> Bool {
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped { escaped = false }
                else if byte == UInt8(ascii: "\\") { escaped = true }
                else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "n") {
                return true
            }
        }
        return false
    }

    /// Where the first null is, as the field path a client reads (`devices[2].name`), or nil
    /// when there is none or the body is not JSON. Only run once `occurs` found one.
    static func location(in bytes: [UInt8]) -> String? {
        guard let root = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) else { return nil }
        return location(in: root, at: "", depthLeft: depthMax)
    }

    /// Nesting followed; request bodies go three levels deep (`items[0].app`).
    static let depthMax = 32

    private static func location(in value: Any, at path: String, depthLeft: Int) -> String? {
        guard depthLeft > 0 else { return nil }
        if value is NSNull { return path.isEmpty ? "the body" : path }
        if let object = value as? [String: Any] {
            for key in object.keys.sorted() {
                let field = path.isEmpty ? key : "\(path).\(key)"
                if let found = location(in: object[key]!, at: field, depthLeft: depthLeft - 1) { return found }
            }
        } else if let array = value as? [Any] {
            for (index, element) in array.enumerated() {
                if let found = location(in: element, at: "\(path)[\(index)]", depthLeft: depthLeft - 1) { return found }
            }
        }
        return nil
    }
}
