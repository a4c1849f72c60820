import Allot
import AllotCore
@testable import AllotStore
import Foundation
import Testing

/// An associate Apple finished confirms exactly its own devices' assignments: a confirm walks
/// the range of dense device ids (`Ledger.denseSpanFactor`) and must not confirm a device in
/// that range that another operation still carries, nor any device of a sparse set's gaps.
@Suite(.timeLimit(.minutes(5))) struct ConfirmTests {
    let app = AssetKey(adamId: "361309726")
    let owner = "worker-confirm"

    @Test(arguments: TestBackend.all) func aChunkConfirmsItsDevicesAndNotTheOtherChunksInsideItsRange(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(app, total: 10, apple: 0)])
        let serials = try f.devices(tenant, prefix: "CNF", count: 6)
        // Registered in order, so ids follow the serials; assigned out of order, so the first
        // chunk {0, 1, 3} spans device 2, which the second chunk {2, 4, 5} carries.
        _ = try f.assign(tenant, app, [0, 1, 3, 2, 4, 5].map { serials[$0] })
        try f.ledger.splitOversizedOperations(serialsMax: 3)
        let chunks = try f.ledger.operations(tenant: tenant.id)
        try #require(chunks.map(\.serials) == [[0, 1, 3], [2, 4, 5]].map { $0.map { serials[$0] } })

        try complete(chunks[0], f)
        #expect(try confirmed(f) == [0, 1, 3].map { serials[$0] })
        try complete(chunks[1], f)
        #expect(try confirmed(f) == serials)
    }

    @Test(arguments: TestBackend.all) func aSparseSetConfirmsOnlyItsDevicesNotThoseBetween(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(app, total: 20, apple: 0)])
        let serials = try f.devices(tenant, prefix: "SPR", count: 20)
        // Two batches: the ends first (a span of 20 ids for 2 devices), then the ones between.
        _ = try f.assign(tenant, app, [serials[0], serials[19]])
        _ = try f.assign(tenant, app, Array(serials[1...18]))
        let ends = try #require(try f.ledger.operations(tenant: tenant.id).first)
        try #require(ends.serials == [serials[0], serials[19]])

        try complete(ends, f)
        #expect(try confirmed(f) == [serials[0], serials[19]])
    }

    @Test(arguments: TestBackend.all) func aBatchOfConsecutiveIdsConfirmsItsRangeAndNothingOutside(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(app, total: 10, apple: 0)])
        let serials = try f.devices(tenant, prefix: "RNG", count: 8)
        // The outer devices first, then devices 2 to 5: a range with no holes, and pending
        // assignments of the same app and token just outside it on both sides.
        _ = try f.assign(tenant, app, [0, 1, 6, 7].map { serials[$0] })
        _ = try f.assign(tenant, app, Array(serials[2...5]))
        let inner = try #require(try f.ledger.operations(tenant: tenant.id).last)
        try #require(inner.serials == Array(serials[2...5]))

        try complete(inner, f)
        #expect(try confirmed(f) == Array(serials[2...5]))
    }

    @Test func aSpanListsTheIdsMissingBetweenItsEnds() throws {
        let span = try #require(DeviceIdSpan(ids: [105, 101, 102, 104, 107], spanFactor: 2))
        #expect(span.low == 101 && span.high == 107)
        #expect(span.holes == [103, 106])
        #expect(DeviceIdSpan(ids: [3, 4, 5, 6], spanFactor: 2)?.holes == [])
        #expect(DeviceIdSpan(ids: [7], spanFactor: 2) == DeviceIdSpan(ids: [7, 7], spanFactor: 2))
    }

    @Test func idsTooSparseOrTooRepeatedHaveNoSpan() {
        // A range of 10 ids for 2: walking it would read 8 other rows.
        #expect(DeviceIdSpan(ids: [1, 10], spanFactor: 2) == nil)
        #expect(DeviceIdSpan(ids: [Int64](), spanFactor: 2) == nil)
        // Three ids in a range of five, but only two different ones: as many holes as ids.
        #expect(DeviceIdSpan(ids: [1, 1, 5], spanFactor: 2) == nil)
    }

    /// Claims an operation, records it sent, claims its poll and completes it, as a lane does.
    private func complete(_ operation: OutboxOperation, _ f: LedgerFixture) throws {
        try #require(try f.ledger.claim(operation, owner: owner, leaseSeconds: 60))
        try #require(try f.ledger.markSent(operation.id, owner: owner, eventId: "event-\(operation.id)", pollAt: f.clock.now))
        let sent = try #require(try f.ledger.operations(tenant: operation.tenantId).first { $0.id == operation.id })
        try #require(try f.ledger.claim(sent, owner: owner, leaseSeconds: 60))
        #expect(try Workflows(f.ledger).completeOperation(sent, owner: owner, refusedSerials: [], refusal: nil).isEmpty)
    }

    /// The serials whose assignment Apple confirmed, in order.
    private func confirmed(_ f: LedgerFixture) throws -> [String] {
        try f.ledger.database.query("""
            SELECT d.serial FROM assignments a JOIN devices d ON d.id = a.device_id WHERE a.status = 1 ORDER BY d.serial
            """) { $0.string(0) }
    }
}
