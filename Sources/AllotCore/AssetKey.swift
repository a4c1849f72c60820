/// Apple's pricing parameter: standard quality or high quality.
public enum PricingParam: String, Sendable, Codable, CaseIterable, Hashable {
    case standard = "STDQ"
    case plus = "PLUS"
}

/// What Apple licenses: the pair (`adamId`, `pricingParam`).
public struct AssetKey: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public let adamId: String
    public let pricingParam: PricingParam

    public static let adamIdLengthMax = 20

    public init(adamId: String, pricingParam: PricingParam = .standard) {
        self.adamId = adamId
        self.pricingParam = pricingParam
    }

    /// Parses `ADAMID` or `ADAMID:PRICING` (`STDQ` by default); nil when malformed.
    public init?(parsing text: some StringProtocol) {
        let parts = text.trimmingWhitespace().split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return nil }
        let adamId = String(parts[0])
        guard Self.isValidAdamId(adamId) else { return nil }
        var pricing = PricingParam.standard
        if parts.count == 2 {
            guard let parsed = PricingParam(rawValue: parts[1].uppercased()) else { return nil }
            pricing = parsed
        }
        self.init(adamId: adamId, pricingParam: pricing)
    }

    public static func isValidAdamId(_ adamId: String) -> Bool {
        !adamId.isEmpty && adamId.utf8.count <= adamIdLengthMax && adamId.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
    }

    public static let formatHelp = "an app is written ADAMID or ADAMID:PRICING, digits then STDQ or PLUS, e.g. 361309726:STDQ"

    public var description: String { "\(adamId):\(pricingParam.rawValue)" }
    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.adamId.count, lhs.adamId, lhs.pricingParam.rawValue) < (rhs.adamId.count, rhs.adamId, rhs.pricingParam.rawValue)
    }
}
