/// Row identifiers of the ledger, typed so a token id can never be passed where a device id goes.
public protocol LedgerIdentifier: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    var rawValue: Int64 { get }
    init(_ rawValue: Int64)
}

extension LedgerIdentifier {
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
    public init(from decoder: any Decoder) throws { self.init(try decoder.singleValueContainer().decode(Int64.self)) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

public struct TenantID: LedgerIdentifier { public let rawValue: Int64; public init(_ rawValue: Int64) { self.rawValue = rawValue } }
public struct TokenID: LedgerIdentifier { public let rawValue: Int64; public init(_ rawValue: Int64) { self.rawValue = rawValue } }
public struct AssetID: LedgerIdentifier { public let rawValue: Int64; public init(_ rawValue: Int64) { self.rawValue = rawValue } }
public struct DeviceID: LedgerIdentifier { public let rawValue: Int64; public init(_ rawValue: Int64) { self.rawValue = rawValue } }
public struct BatchID: LedgerIdentifier { public let rawValue: Int64; public init(_ rawValue: Int64) { self.rawValue = rawValue } }
public struct UserID: LedgerIdentifier { public let rawValue: Int64; public init(_ rawValue: Int64) { self.rawValue = rawValue } }
