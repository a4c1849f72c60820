import AllotCore
import AllotStore
import Foundation

/// The devices a roll-out names: a list of serials (as typed), a group, or every managed device.
public enum DeviceSelection: Sendable, Hashable {
    case serials([String])
    case group(String)
    case allDevices
}

/// Bounds of a roll-out done in chunks.
public enum RollOutLimits {
    /// Items per chunk unless the caller asks otherwise: each chunk is one batch (one
    /// transaction) in partial mode. 10,000 is where the benchmark's allocations/s level off,
    /// and a chunk's outcomes stay a few megabytes.
    public static let chunkItemsDefault = 10_000
    /// A chunk is one batch, so it keeps a batch's bound.
    public static let chunkItemsMax = BatchLimits.itemsMax
}

/// The answer to a roll-out: the summed counts of its chunks, the items kept within
/// `BatchTally.itemsListedMax`, and the batches that committed. Published as `RollOutView`.
public struct RollOutOutcome: Sendable, Hashable {
    public let direction: BatchDirection
    public let mode: BatchMode
    /// One per committed chunk (partial mode), or the one batch of an all-or-nothing roll-out.
    public let batchIds: [BatchID]
    /// Chunks decided (committed, or rolled back with the whole for all-or-nothing and dry-run).
    public let chunks: Int
    /// Stopped between chunks before the end (Ctrl-C, or the caller's stop).
    public let interrupted: Bool
    public let tally: BatchTally

    /// The first committed batch, nil when nothing was committed.
    public var batchId: BatchID? { batchIds.first }
    public var committed: Bool { !batchIds.isEmpty }
    public var counts: [String: Int] { tally.counts }
    public var items: [ItemOutcome] { tally.items }
    public var failedCount: Int { tally.failed }
}

extension Allot {
    /// Assigns or revokes one app over a selection of any size, in chunks of `chunkItems`.
    /// Partial mode commits each chunk whole as its own batch and lets other callers in between
    /// chunks; all-or-nothing and dry-run decide every chunk in one transaction. `progress`
    /// sees the tally after each chunk; when `stop` answers true between chunks the roll-out
    /// ends there: partial keeps what committed, the one-transaction modes roll back.
    /// With an idempotency key, chunk n (from 2) uses `KEY#n`, so a repeated roll-out answers
    /// the chunks that committed with their first answers and runs the rest. With `queue`, an
    /// assign's devices that find no free licence wait in the app's queue (`queued`); a revoke
    /// that committed serves that queue with the licences it gave back.
    public func rollOut(tenant slug: String, direction: BatchDirection, asset: AssetKey, devices selection: DeviceSelection,
                        mode: BatchMode = .partial, idempotencyKey: String? = nil, queue: Bool = false,
                        chunkItems: Int = RollOutLimits.chunkItemsDefault,
                        stop: @escaping @Sendable () -> Bool = { false },
                        progress: @escaping @Sendable (BatchTally) -> Void = { _ in }) async throws -> RollOutOutcome {
        let outcome = try await rollOutInChunks(tenant: slug, direction: direction, asset: asset, devices: selection, mode: mode,
                                                idempotencyKey: idempotencyKey, queue: queue, chunkItems: chunkItems, stop: stop, progress: progress)
        // A partial roll-out's chunks leave the queue alone (a device waiting there may be in a
        // later chunk); the licences it gave back serve the queue once it is done. Its
        // licences_low check ran in each chunk's write.
        if direction == .revoke && mode == .partial && (outcome.counts[ItemResult.revoked.rawValue] ?? 0) > 0 {
            try serveQueue(tenant: try tenant(slug), asset: asset)
        }
        return outcome
    }

    private func rollOutInChunks(tenant slug: String, direction: BatchDirection, asset: AssetKey, devices selection: DeviceSelection,
                                 mode: BatchMode, idempotencyKey: String?, queue: Bool, chunkItems: Int,
                                 stop: @escaping @Sendable () -> Bool,
                                 progress: @escaping @Sendable (BatchTally) -> Void) async throws -> RollOutOutcome {
        guard (1...RollOutLimits.chunkItemsMax).contains(chunkItems) else {
            throw AllotError.invalidInput("a chunk holds 1 to \(RollOutLimits.chunkItemsMax) devices, not \(chunkItems)")
        }
        if case .group(let group) = selection, group.isEmpty {
            throw AllotError.invalidInput("the group's name is empty; give the name of a group of devices, or select every device instead")
        }
        let tenant = try tenant(slug)
        var chunks = try ChunkSource(ledger: ledger, tenant: tenant.id, selection: selection, asset: asset, chunkItems: chunkItems)
        guard chunks.total > 0 else {
            switch selection {
            case .group(let group):
                // No device names it: a mistyped name, so not found (404), as an unknown
                // tenant or token is. A group whose devices were all retired exists and is empty:
                // the request is well formed but selects nothing, which stays invalid input.
                guard try ledger.groupExists(tenant: tenant.id, group: group) else {
                    throw AllotError(.notFound, "there is no group '\(group.printableExcerpt)': no device of the tenant is in it; check the name, nothing was changed",
                                     subject: .unknownGroup)
                }
                throw AllotError.invalidInput("group '\(group.printableExcerpt)' has no managed devices; nothing was changed")
            case .allDevices: throw AllotError.invalidInput("the tenant has no managed devices; import a roster first, nothing was changed")
            case .serials: throw AllotError.invalidInput("the batch is empty; give at least one serial number")
            }
        }
        try refuseUnknownApps(tenant: tenant, [asset], direction: direction)
        var tally = BatchTally(total: chunks.total)
        let oneChunk = chunks.total <= chunkItems
        if mode != .partial && !oneChunk {
            guard idempotencyKey == nil else {
                throw AllotError.invalidInput("an idempotency key is kept for a \(mode.rawValue) batch of at most \(chunkItems) devices, and this one has \(chunks.total); leave the key out")
            }
            var decidedChunks = 0
            var batch: BatchID?
            var interrupted = false
            do {
                batch = try workflows.runBatchInOneTransaction(
                    tenant: tenant, direction: direction, mode: mode, queue: queue, tally: &tally,
                    nextChunk: { try chunks.next() },
                    chunkDone: { running in
                        decidedChunks += 1
                        progress(running)
                        if running.decided < running.total && stop() { throw RollOutStopped() }
                    })
            } catch is RollOutStopped {
                interrupted = true
            }
            settings.metrics.batch(direction: direction, mode: mode, committed: batch != nil, counts: tally.counts)
            return RollOutOutcome(direction: direction, mode: mode, batchIds: batch.map { [$0] } ?? [], chunks: decidedChunks,
                                  interrupted: interrupted, tally: tally)
        }
        var batchIds: [BatchID] = []
        var decidedChunks = 0
        while let items = try chunks.next() {
            decidedChunks += 1
            let key = idempotencyKey.map { decidedChunks == 1 ? $0 : "\($0)#\(decidedChunks)" }
            let outcome = counted(try workflows.runBatch(tenant: tenant, direction: direction, items: items, mode: mode, idempotencyKey: key, queue: queue,
                                                           servesQueues: mode != .partial))
            if let batch = outcome.batchId { batchIds.append(batch) }
            tally.add(outcome.items)
            progress(tally)
            if tally.decided < tally.total && stop() {
                return RollOutOutcome(direction: direction, mode: mode, batchIds: batchIds, chunks: decidedChunks, interrupted: true, tally: tally)
            }
            // Other callers of the engine (the HTTP API's requests) get their turn between chunks.
            await Task.yield()
        }
        return RollOutOutcome(direction: direction, mode: mode, batchIds: batchIds, chunks: decidedChunks, interrupted: false, tally: tally)
    }
}

/// Thrown from a one-transaction roll-out's chunk callback to stop it; the transaction rolls back.
struct RollOutStopped: Error {}

/// The chunks of a selection: slices of a list, or pages of the tenant's devices read one at a
/// time, so a million devices are never all in memory at once.
private struct ChunkSource {
    let ledger: Ledger
    let tenant: TenantID
    let selection: DeviceSelection
    let asset: AssetKey
    let chunkItems: Int
    let total: Int
    private var offset = 0
    private var after = DeviceID(0)
    private var finished = false

    init(ledger: Ledger, tenant: TenantID, selection: DeviceSelection, asset: AssetKey, chunkItems: Int) throws {
        self.ledger = ledger
        self.tenant = tenant
        self.selection = selection
        self.asset = asset
        self.chunkItems = chunkItems
        switch selection {
        case .serials(let serials): total = serials.count
        case .group(let group): total = try ledger.activeDeviceCount(tenant: tenant, group: group)
        case .allDevices: total = try ledger.activeDeviceCount(tenant: tenant)
        }
    }

    mutating func next() throws -> [BatchItem]? {
        guard !finished else { return nil }
        let serials: [String]
        switch selection {
        case .serials(let all):
            serials = Array(all[offset..<min(all.count, offset + chunkItems)])
            offset += serials.count
        case .group(let group):
            (serials, after) = try page(group: group)
        case .allDevices:
            (serials, after) = try page(group: nil)
        }
        guard !serials.isEmpty else {
            finished = true
            return nil
        }
        return serials.map { BatchItem(asset: asset, serial: $0) }
    }

    private func page(group: String?) throws -> ([String], DeviceID) {
        let page = try ledger.activeSerials(tenant: tenant, group: group, after: after, limit: chunkItems)
        return (page.serials, page.last ?? after)
    }
}
