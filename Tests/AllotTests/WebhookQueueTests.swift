import Allot
import AllotCore
import Crypto
import Foundation
import Testing

/// The webhook queue in the ledger: cursors over the events, one try per webhook at a time,
/// retries on the policy's schedule, give-up after the window (no network: the tries' results
/// are given by hand; WebhookDeliveryTests posts to a real receiver).
@Suite(.timeLimit(.minutes(5))) struct WebhookQueueTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("allot-webhooks-\(UUID().uuidString)")
    let clock = TestClock(1_800_000_000)
    let box = SecretBox(key: SymmetricKey(size: .bits256))

    func engine() throws -> Allot {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return try Allot(databasePath: folder.appendingPathComponent("allot.sqlite").path, secrets: box, clock: { [clock] in clock.now })
    }

    /// A roster import: one `roster_imported` event.
    func devices(_ engine: Allot, _ serials: [String]) async throws {
        _ = try await engine.importRoster(tenant: "springfield", csv: Array(("serial_number\n" + serials.joined(separator: "\n") + "\n").utf8))
    }

    @Test func aNewWebhookDeliversOnlyWhatHappensAfterItInOrderOneAtATime() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let engine = try engine()
        _ = try await engine.createTenant(slug: "springfield")
        try await devices(engine, ["DMPX1000001A"])
        let (webhook, secret) = try await engine.addWebhook(tenant: "springfield", url: "https://mdm.example.invalid/allot")
        #expect(secret.hasPrefix("whsec_") && secret.count > 40)
        try await devices(engine, ["DMPX1000002A"])
        try await devices(engine, ["DMPX1000003A"])

        var kinds: [String] = []
        var ids: [Int64] = []
        for _ in 0..<10 {
            let claims = try await engine.claimWebhookDeliveries()
            guard let claim = claims.first else { break }
            #expect(claims.count == 1)
            #expect(try await engine.claimWebhookDeliveries().isEmpty, "a claimed webhook is not claimed again while its try runs")
            kinds.append(claim.event.kind)
            ids.append(claim.event.id)
            try await engine.finishWebhookDelivery(claim, result: .delivered)
        }
        #expect(kinds.first == "webhook_added", "history before the webhook is not news")
        #expect(kinds.count == 3)
        #expect(ids == ids.sorted())
        let listed = try #require(try await engine.webhooks(tenant: "springfield").first)
        #expect(listed.id == webhook.id)
        #expect(listed.pendingEvents == 0)
        #expect(listed.deliveredThroughEventId == ids.last)
    }

    @Test func aFailedTryIsRetriedOnScheduleAndTheNextEventWaitsForIt() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let engine = try engine()
        _ = try await engine.createTenant(slug: "springfield")
        _ = try await engine.addWebhook(tenant: "springfield", url: "https://mdm.example.invalid/allot")
        try await devices(engine, ["DMPX1000002A"])

        let first = try #require(try await engine.claimWebhookDeliveries().first)
        #expect(first.attempt == 1)
        let step = try await engine.finishWebhookDelivery(first, result: .failed(retryAfterSeconds: nil), error: "the receiver answered 500")
        #expect(step == .retry(at: clock.now + 5, attempts: 1))
        #expect(try await engine.claimWebhookDeliveries().isEmpty, "nothing goes before the retry is due, not even the next event")
        let waiting = try #require(try await engine.webhooks(tenant: "springfield").first)
        #expect(waiting.failedAttempts == 1)
        #expect(waiting.lastError == "the receiver answered 500")
        #expect(waiting.pendingEvents == 2)

        clock.advance(5)
        let again = try #require(try await engine.claimWebhookDeliveries().first)
        #expect(again.event.id == first.event.id)
        #expect(again.attempt == 2)
        try await engine.finishWebhookDelivery(again, result: .delivered)
        let next = try #require(try await engine.claimWebhookDeliveries().first)
        #expect(next.event.id > first.event.id)
        #expect(next.attempt == 1)
    }

    @Test func afterItsWindowAnEventIsGivenUpWithEveryStaleOneAfterItAndThatIsAnEvent() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let engine = try engine()
        _ = try await engine.createTenant(slug: "springfield")
        let (webhook, _) = try await engine.addWebhook(tenant: "springfield", url: "https://mdm.example.invalid/allot")
        try await devices(engine, ["DMPX1000002A"])
        try await devices(engine, ["DMPX1000003A"])
        clock.advance(3_600)
        let lateAt = clock.now
        try await devices(engine, ["DMPX1000004A"])   // recorded an hour later: still inside its window

        var tries = 0
        var gaveUp = false
        while tries < 100, !gaveUp {
            guard let claim = try await engine.claimWebhookDeliveries().first else {
                clock.advance(60)
                continue
            }
            tries += 1
            let step = try await engine.finishWebhookDelivery(claim, result: .failed(retryAfterSeconds: nil), error: "no answer")
            if case .giveUp = step { gaveUp = true }
        }
        #expect(gaveUp)
        #expect(tries < 40)
        let events = try await engine.events(tenant: "springfield", limit: 5)
        let report = try #require(events.first { $0.kind == "webhook_gave_up" })
        #expect(report.detail.contains("\"events\":3"), "the added event and the two stale device imports: \(report.detail)")
        #expect(report.detail.contains("\"webhookId\":\(webhook.id)"))
        // The event recorded an hour later is next, then the report of the give-up.
        let next = try #require(try await engine.claimWebhookDeliveries().first)
        #expect(next.event.kind == "roster_imported")
        #expect(next.event.at == lateAt)
        try await engine.finishWebhookDelivery(next, result: .delivered)
        let last = try #require(try await engine.claimWebhookDeliveries().first)
        #expect(last.event.kind == "webhook_gave_up")
    }

    @Test func aCrashedSendersClaimExpiresAndAnotherSenderSendsTheSameEventAgain() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let crashed = try engine()
        _ = try await crashed.createTenant(slug: "springfield")
        _ = try await crashed.addWebhook(tenant: "springfield", url: "https://mdm.example.invalid/allot")
        let lost = try #require(try await crashed.claimWebhookDeliveries().first)
        // The sender dies mid-post: nothing is finished, nothing released.
        let restarted = try engine()
        #expect(try await restarted.claimWebhookDeliveries().isEmpty, "the claim holds while it may still be posting")
        clock.advance(WebhookLimits.leaseSeconds)
        let again = try #require(try await restarted.claimWebhookDeliveries().first)
        #expect(again.event.id == lost.event.id)
        #expect(again.attempt == 1, "a crash is not the receiver's failure")
        try await restarted.finishWebhookDelivery(again, result: .delivered)
        // The crashed sender's late answer changes nothing: the cursor is past its event.
        try await crashed.finishWebhookDelivery(lost, result: .failed(retryAfterSeconds: nil), error: "late")
        let webhook = try #require(try await restarted.webhooks(tenant: "springfield").first)
        #expect(webhook.failedAttempts == 0)
        #expect(webhook.pendingEvents == 0)
        #expect(webhook.lastError == nil)
    }

    @Test func aWebhookGetsOnlyItsOwnTenantsEventsAndCannotBeRemovedByAnother() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let engine = try engine()
        _ = try await engine.createTenant(slug: "springfield")
        _ = try await engine.createTenant(slug: "shelbyville")
        let (mine, _) = try await engine.addWebhook(tenant: "springfield", url: "https://mdm.example.invalid/allot")
        let (theirs, _) = try await engine.addWebhook(tenant: "shelbyville", url: "https://mdm.example.invalid/allot")
        try await devices(engine, ["DMPX1000002A"])
        _ = try await engine.importRoster(tenant: "shelbyville", csv: Array("serial_number\nDMPX2000001A\n".utf8))
        var seen: [Int64: [Int64]] = [:]
        for _ in 0..<10 {
            let claims = try await engine.claimWebhookDeliveries()
            guard !claims.isEmpty else { break }
            for claim in claims {
                seen[claim.webhookId, default: []].append(claim.event.id)
                try await engine.finishWebhookDelivery(claim, result: .delivered)
            }
        }
        let springfieldEvents = Set(try await engine.events(tenant: "springfield").map(\.id))
        let shelbyvilleEvents = Set(try await engine.events(tenant: "shelbyville").map(\.id))
        #expect(seen[mine.id]?.count == 2)
        #expect(seen[theirs.id]?.count == 2)
        #expect(Set(seen[mine.id] ?? []).isSubset(of: springfieldEvents))
        #expect(Set(seen[theirs.id] ?? []).isSubset(of: shelbyvilleEvents))
        await #expect(throws: AllotError.self) { _ = try await engine.removeWebhook(tenant: "shelbyville", id: mine.id) }
        #expect(try await engine.webhooks(tenant: "springfield").map(\.id) == [mine.id])
    }

    @Test func badURLsAndDuplicatesAreRefusedAndChangeNothing() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let engine = try engine()
        _ = try await engine.createTenant(slug: "springfield")
        let before = try await engine.events(tenant: "springfield").count
        for bad in ["ftp://example.com/x", "not a url", "https://ops:hunter2@example.com/"] {
            await #expect(throws: AllotError.self) { _ = try await engine.addWebhook(tenant: "springfield", url: bad) }
        }
        _ = try await engine.addWebhook(tenant: "springfield", url: "https://mdm.example.invalid/allot")
        await #expect(throws: AllotError.self) { _ = try await engine.addWebhook(tenant: "springfield", url: "https://mdm.example.invalid/allot") }
        #expect(try await engine.webhooks(tenant: "springfield").count == 1)
        #expect(try await engine.events(tenant: "springfield").count == before + 1, "only the one webhook_added")
        await #expect(throws: AllotError.self) { _ = try await engine.removeWebhook(tenant: "springfield", id: 999) }
    }

    @Test func theSecretIsStoredSealedNeverInTheClear() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let engine = try engine()
        _ = try await engine.createTenant(slug: "springfield")
        let (_, secret) = try await engine.addWebhook(tenant: "springfield", url: "https://mdm.example.invalid/allot")
        let claim = try #require(try await engine.claimWebhookDeliveries().first)
        #expect(!"\(claim.signer)".contains(secret))
        let expected = HMAC<SHA256>.authenticationCode(for: Array("body".utf8), using: SymmetricKey(data: Array(secret.utf8)))
        #expect(claim.signer.signature(of: Array("body".utf8)) == "sha256=" + expected.map { String(format: "%02x", $0) }.joined())
        let stem = folder.appendingPathComponent("allot.sqlite").path
        for file in [stem, stem + "-wal"] {
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: file))) ?? Data()
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file) holds the secret in the clear")
        }
    }
}
