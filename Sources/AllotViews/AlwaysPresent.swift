/// An optional field of a published view that is always in the JSON, `null` when unknown.
///
/// One rule for both faces (CLI `--json` and HTTP): a documented field never disappears, so a
/// script can test `.ownerName == null` and a typed client can declare every field. Swift's
/// synthesised `Encodable` would leave a nil out instead; this wrapper is encoded as a value
/// itself, so the key is always written.
@propertyWrapper
public struct AlwaysPresent<Value: Encodable & Sendable>: Encodable, Sendable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}
