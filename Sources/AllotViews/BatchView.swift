import AllotCore

/// An assign or revoke batch's answer as published (`assign`/`revoke --json`,
/// `POST …/assignments`, `POST …/revocations`): one item per input, in order.
public struct BatchView: Encodable, Sendable {
    public struct Item: Encodable, Sendable {
        public let serialNumber: String
        public let adamId: String
        public let pricingParam: String
        public let result: String
        @AlwaysPresent public var tokenId: Int64?
        @AlwaysPresent public var reason: String?
    }
    /// Null when nothing was committed (dry-run, or a refused all-or-nothing batch).
    @AlwaysPresent public var batchId: Int64?
    public let direction: String
    public let mode: String
    public let committed: Bool
    /// The app when the batch names one (`--app`, or `app` over HTTP); null for `items`.
    @AlwaysPresent public var adamId: String?
    @AlwaysPresent public var pricingParam: String?
    public let counts: [String: Int]
    public let items: [Item]

    public init(_ outcome: BatchOutcome, asset: AssetKey?) {
        batchId = outcome.batchId?.rawValue
        direction = outcome.direction.rawValue
        mode = outcome.mode.rawValue
        committed = outcome.committed
        adamId = asset?.adamId
        pricingParam = asset?.pricingParam.rawValue
        counts = outcome.counts
        items = outcome.items.map {
            Item(serialNumber: $0.serialNumber, adamId: $0.adamId, pricingParam: $0.pricingParam.rawValue, result: $0.result.rawValue,
                 tokenId: $0.tokenId?.rawValue, reason: $0.reason)
        }
    }
}
