import AllotCore
import AppleAppsAndBooks
import Foundation

/// What the receiver makes of one POST from Apple. Only `accepted` and `duplicate` are 2xx.
public enum NotificationReceipt: Sendable, Hashable {
    /// New: queued, and worked on after the answer.
    case accepted
    /// Its `notificationId` was seen before: nothing changes.
    case duplicate
    /// No bearer, or not this token's: 401, nothing changes.
    case unauthorized
    /// Not a notification of this token (malformed, another location): 400 with the sentence.
    case invalid(String)
}

extension Allot {
    /// A token's receiver lives at `<public URL>/apple/notifications/<token id>`.
    public static let notificationPathPrefix = "apple/notifications"

    /// Makes the engine configure Apple's notifications for every token, to `publicURL` (what
    /// Apple can reach of `allot serve`, e.g. https://mdm.example.com/allot): each token gets a
    /// path of its own and a random bearer. Tokens added, renewed or taken over from now on are
    /// configured at once; the others by `configureReceivers()`.
    public func receiveNotifications(publicURL: String) throws {
        notificationsBaseURL = try Self.checkedPublicURL(publicURL)
    }

    /// A public URL Apple accepts: http(s), a host, no query; its trailing `/` dropped.
    public static func checkedPublicURL(_ text: String) throws -> String {
        var trimmed = text
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let url = URL(string: trimmed), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
              let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil, trimmed.count <= 1_000 else {
            throw AllotError.invalidInput("the public URL '\(text.printableExcerpt)' is not an http(s) URL without a query; give the address Apple can reach this server at, e.g. https://mdm.example.com/allot")
        }
        return trimmed
    }

    func notificationURL(for token: TokenID) -> String? {
        notificationsBaseURL.map { "\($0)/\(Self.notificationPathPrefix)/\(token.rawValue)" }
    }

    /// Configures the receivers of every active token that lacks one at the current URL. The
    /// tokens Apple did not accept, with why (tried again on the next call): Apple refuses a
    /// receiver its TEST_NOTIFICATION cannot reach (9728), so a wrong `--public-url` shows here.
    @discardableResult
    public func configureReceivers() async throws -> [(token: TokenID, refusal: String)] {
        guard notificationsBaseURL != nil, apple != nil else { return [] }
        var refused: [(token: TokenID, refusal: String)] = []
        let tenants = Dictionary(uniqueKeysWithValues: try ledger.tenants().map { ($0.id, $0) })
        for token in try ledger.tokensNeedingReceiver(url: { self.notificationURL(for: $0) ?? "" }) {
            guard !delivery.stopping, let tenant = tenants[token.tenantId] else { break }
            if let refusal = try await configureReceiver(tenant: tenant, token: token) { refused.append((token.id, refusal)) }
        }
        return refused
    }

    /// Gives a token a fresh receiver at Apple: the bearer is stored (encrypted) first, since
    /// Apple's TEST_NOTIFICATION arrives before the configuration call answers. Nil when Apple
    /// accepted it, else why not; the token keeps working either way (polling and reconcile
    /// are the safety net).
    @discardableResult
    func configureReceiver(tenant: Tenant, token: TokenRecord) async throws -> String? {
        // Only a token that is ours and alive can be configured (a claimed one is another
        // server's to configure).
        guard let url = notificationURL(for: token.id), let apple, token.state == .active else { return nil }
        let authToken = APIKey.generate()
        try ledger.setNotificationReceiver(token: token.id, sealedAuthToken: try secrets().seal(authToken), url: url)
        do {
            let bearer = try bearer(of: token)
            let request = ClientConfigRequest(mdmInfo: mdmInfo(for: tenant), notificationUrl: url, notificationAuthToken: authToken,
                                              notificationTypes: AppleNotificationType.subscribed.map(\.rawValue))
            _ = try await callApple(token) { try await apple.updateClientConfig(token: bearer, request) }
        } catch let error as AllotError {
            return error.message
        }
        try ledger.markNotificationsConfigured(tenant: tenant.id, token: token.id, url: url)
        return nil
    }

    /// Checks one POST from Apple and queues it. The bearer is compared in constant time with
    /// the token's stored one; a wrong or missing one, or a token without a receiver, changes
    /// nothing. A duplicate `notificationId` changes nothing either. Fast: the work is done by
    /// `processNotifications()`, after the answer.
    public func acceptNotification(token tokenId: Int64, authorization: String?, body: [UInt8]) throws -> NotificationReceipt {
        guard let receiver = try ledger.notificationReceiver(token: TokenID(tokenId)) else { return .unauthorized }
        let expected = try secrets().open(receiver.sealedAuthToken)
        let prefix = "Bearer "
        guard let authorization, authorization.hasPrefix(prefix), authorization.utf8.count <= APIKey.lengthMax + prefix.utf8.count,
              APIKey.constantTimeEqual(APIKey.hash(expected), APIKey.hash(String(authorization.dropFirst(prefix.count)))) else {
            return .unauthorized
        }
        guard body.count <= Ledger.notificationBodyBytesMax else {
            return .invalid("the notification is larger than \(Ledger.notificationBodyBytesMax) bytes")
        }
        guard let envelope = try? JSONDecoder().decode(AppleNotificationEnvelope.self, from: Data(body)) else {
            return .invalid("the body is not a notification envelope {notificationType, notificationId, uId, notification}")
        }
        guard let type = AppleNotificationType(rawValue: envelope.notificationType) else {
            return .invalid("notificationType '\(envelope.notificationType.printableExcerpt)' is not one this server subscribes to")
        }
        guard !envelope.notificationId.isEmpty, envelope.notificationId.utf8.count <= 200 else {
            return .invalid("notificationId must be 1 to 200 characters")
        }
        guard let token = try ledger.token(id: TokenID(tokenId)), token.locationUid == envelope.uId else {
            return .invalid("the notification's uId is not this token's location")
        }
        let queued = try ledger.queueNotification(id: envelope.notificationId, token: token.id, kind: type.rawValue,
                                                  body: String(decoding: body, as: UTF8.self))
        return queued ? .accepted : .duplicate
    }

    /// Works on the queued notifications: ASSET_MANAGEMENT completes (or, on FAILURE, polls at
    /// once) the operation that waits on its event; ASSET_COUNT moves the pool's total and
    /// reports over-allocation. How many were worked on. Bounded by `notificationsPerRunMax`.
    @discardableResult
    public func processNotifications() async throws -> Int {
        var done = 0
        let queue = try ledger.queuedNotifications(limit: Self.notificationsPerRunMax)
        guard !queue.isEmpty else { return 0 }
        let tenants = Dictionary(uniqueKeysWithValues: try ledger.tenants().map { ($0.id, $0) })
        for queued in queue {
            guard try ledger.markNotificationProcessed(queued.notificationId) else { continue }
            guard let token = try ledger.token(id: queued.token) else { continue }
            guard let tenant = tenants[token.tenantId] else {
                preconditionFailure("token \(token.id) names a tenant that does not exist")
            }
            switch AppleNotificationType(rawValue: queued.kind) {
            case .assetManagement:
                if let body = try? JSONDecoder().decode(AppleNotification<AssetManagementBody>.self, from: Data(queued.body.utf8)).notification {
                    try await finishEvent(body, token: token, tenant: tenant)
                }
            case .assetCount:
                if let body = try? JSONDecoder().decode(AppleNotification<AssetCountBody>.self, from: Data(queued.body.utf8)).notification {
                    try await moveCount(body, token: token, tenant: tenant)
                }
            case .test, nil:
                break
            }
            done += 1
        }
        if done > 0 { try ledger.purgeNotifications() }
        return done
    }

    static let notificationsPerRunMax = 500

    /// ASSET_MANAGEMENT: Apple finished the event an operation waits on. SUCCESS completes it
    /// now; FAILURE makes its status poll due now, since the poll names every failed serial and
    /// a notification only the first failure.
    private func finishEvent(_ body: AssetManagementBody, token: TokenRecord, tenant: Tenant) async throws {
        guard let apple, let operation = try ledger.claimSentOperation(token: token.id, eventId: body.eventId, owner: workerId,
                                                                       leaseSeconds: settings.leaseSeconds) else { return }
        // Without the token's file (it was removed meanwhile) the poll settles the operation.
        guard body.result.uppercased() == "SUCCESS", let bearer = try? self.bearer(of: token) else {
            try ledger.releaseLease(operation.id, owner: workerId)
            return
        }
        let report = EventReport(phase: .complete, numRequested: operation.serials.count, numCompleted: operation.serials.count, failures: [])
        _ = try await deliver(operation, token: token, tenant: tenant, apple: apple, bearer: bearer, answer: .event(report))
    }

    /// ASSET_COUNT: a purchase, a transfer or a refund. The pool's total moves now; a new asset
    /// (no pool yet) is read by a sync of the token.
    private func moveCount(_ body: AssetCountBody, token: TokenRecord, tenant: Tenant) async throws {
        guard let pricing = PricingParam(rawValue: body.pricingParam), AssetKey.isValidAdamId(body.adamId) else { return }
        let asset = AssetKey(adamId: body.adamId, pricingParam: pricing)
        if try ledger.movePoolTotal(tenant: tenant.id, token: token.id, asset: asset, delta: body.countDelta) {
            // Licences bought or transferred in serve the devices waiting for them, first come first.
            if body.countDelta > 0 { _ = try serveQueue(tenant: tenant, asset: asset) }
            try noteAlerts(tenant: tenant)
        } else {
            _ = try await syncToken(tenant: tenant, token: token)
        }
    }
}
