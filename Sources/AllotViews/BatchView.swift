import AllotCore
import Allot

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
        self.init(batchId: outcome.batchId, direction: outcome.direction, mode: outcome.mode, committed: outcome.committed,
                  asset: asset, counts: outcome.counts, items: outcome.items)
    }

    init(batchId: BatchID?, direction: BatchDirection, mode: BatchMode, committed: Bool, asset: AssetKey?,
         counts: [String: Int], items: [ItemOutcome]) {
        self.batchId = batchId?.rawValue
        self.direction = direction.rawValue
        self.mode = mode.rawValue
        self.committed = committed
        adamId = asset?.adamId
        pricingParam = asset?.pricingParam.rawValue
        self.counts = counts
        self.items = items.map {
            Item(serialNumber: $0.serialNumber, adamId: $0.adamId, pricingParam: $0.pricingParam.rawValue, result: $0.result.rawValue,
                 tokenId: $0.tokenId?.rawValue, reason: $0.reason)
        }
    }
}

/// A roll-out's answer (`assign`/`revoke` over a selector, `group`/`allDevices` over HTTP): the
/// fields of a batch, then what chunking adds.
public struct RollOutView: Encodable, Sendable {
    public let batch: BatchView
    /// One per committed chunk (partial mode), or the one batch of an all-or-nothing roll-out.
    public let batchIds: [Int64]
    public let chunks: Int
    /// Stopped between chunks (Ctrl-C): the counts say what committed; the rest did not run.
    public let interrupted: Bool
    /// Devices selected, and decided before the end or the interruption.
    public let total: Int
    public let decided: Int
    /// Items left out of `items`: a selection larger than 100,000 lists its failed items only.
    public let itemsOmitted: Int

    public init(_ outcome: RollOutOutcome, asset: AssetKey) {
        batch = BatchView(batchId: outcome.batchId, direction: outcome.direction, mode: outcome.mode, committed: outcome.committed,
                          asset: asset, counts: outcome.counts, items: outcome.items)
        batchIds = outcome.batchIds.map(\.rawValue)
        chunks = outcome.chunks
        interrupted = outcome.interrupted
        total = outcome.tally.total
        decided = outcome.tally.decided
        itemsOmitted = outcome.tally.itemsOmitted
    }

    private enum CodingKeys: String, CodingKey { case batchIds, chunks, interrupted, total, decided, itemsOmitted }

    public func encode(to encoder: any Encoder) throws {
        try batch.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(batchIds, forKey: .batchIds)
        try container.encode(chunks, forKey: .chunks)
        try container.encode(interrupted, forKey: .interrupted)
        try container.encode(total, forKey: .total)
        try container.encode(decided, forKey: .decided)
        try container.encode(itemsOmitted, forKey: .itemsOmitted)
    }
}
