import Allot
import AllotCore
@testable import AllotStore
import Testing

/// A worker that polls an event at once after sending keeps its lease over the sent
/// operation (`markSent(…, keepingLeaseFor:)`): no other worker polls or completes it
/// meanwhile, and the lease still runs out if that worker dies.
@Suite(.timeLimit(.minutes(5))) struct SentLeaseTests {
    let app = AssetKey(adamId: "361309726")

    @Test(arguments: TestBackend.all) func aSentOperationWhoseLeaseIsKeptStaysWithItsWorkerUntilTheLeaseRunsOut(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let operation = try sentOperation(f)
        #expect(try f.ledger.markSent(operation.id, owner: "worker-a", eventId: "event-1", pollAt: f.clock.now, keepingLeaseFor: 60))

        let sent = try #require(try f.ledger.operations(tenant: operation.tenantId).first)
        #expect(sent.state == .sent && sent.eventId == "event-1" && sent.leaseExpiresAt == f.clock.now + 60)
        #expect(sent == operation.sent(eventId: "event-1", at: f.clock.now, pollAt: f.clock.now, leaseExpiresAt: f.clock.now + 60))
        #expect(try !f.ledger.claim(sent, owner: "worker-b", leaseSeconds: 60))
        // Still held a second before the lease ends; once it has, another worker takes it and
        // the first can no longer complete it.
        f.clock.now += 59
        #expect(try !f.ledger.claim(sent, owner: "worker-b", leaseSeconds: 60))
        f.clock.now += 1
        #expect(try f.ledger.claim(sent, owner: "worker-b", leaseSeconds: 60))
        #expect(try Workflows(f.ledger).completeOperation(sent, owner: "worker-a", refusedSerials: [], refusal: nil).isEmpty)
        #expect(try f.ledger.operations(tenant: operation.tenantId).first?.state == .sent)
    }

    @Test(arguments: TestBackend.all) func aSentOperationWithoutItsLeaseKeptIsFreeForTheNextPoll(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let operation = try sentOperation(f)
        #expect(try f.ledger.markSent(operation.id, owner: "worker-a", eventId: "event-1", pollAt: f.clock.now))

        let sent = try #require(try f.ledger.operations(tenant: operation.tenantId).first)
        #expect(sent.state == .sent && sent.leaseExpiresAt == nil)
        #expect(try f.ledger.claim(sent, owner: "worker-b", leaseSeconds: 60))
    }

    /// One associate of two devices, claimed by worker-a.
    private func sentOperation(_ f: LedgerFixture) throws -> OutboxOperation {
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(app, total: 5, apple: 0)])
        _ = try f.assign(tenant, app, try f.devices(tenant, prefix: "LSE", count: 2))
        let operation = try #require(try f.ledger.operations(tenant: tenant.id).first)
        try #require(try f.ledger.claim(operation, owner: "worker-a", leaseSeconds: 60))
        return operation
    }
}
