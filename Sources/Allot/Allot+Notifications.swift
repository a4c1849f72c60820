import AllotCore
import AllotStore
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
    /// An `ASSET_COUNT` whose change no pool can hold: 400 `count_out_of_range` with the
    /// sentence; not applied, recorded (`apple_count_refused`), and the token is synced instead.
    case countOutOfRange(String)
}

/// What a notification's body must be, by its type (issue 28, point 4): Apple's types and
/// ranges, checked before anything is queued, so a body the engine could not use is refused
/// with 400 (Apple retries, and the sender sees it) rather than answered 200 and dropped.
enum NotificationBodyCheck: Equatable {
    case valid
    case invalid(String)
    case countOutOfRange(AssetCountBody)

    /// Characters of an `eventId` (Apple's are UUIDs).
    static let eventIdLengthMax = 200

    static func check(_ type: AppleNotificationType, body: [UInt8]) -> NotificationBodyCheck {
        switch type {
        case .test:
            return .valid
        case .assetCount:
            // JSONDecoder refuses a string, a fraction, a boolean and a number beyond Int64 for `Int`.
            guard let count = try? JSONDecoder().decode(AppleNotification<AssetCountBody>.self, from: Data(body)).notification else {
                return .invalid("an ASSET_COUNT needs notification{adamId, pricingParam, countDelta}, with countDelta a whole number")
            }
            guard AssetKey.isValidAdamId(count.adamId) else {
                return .invalid("the ASSET_COUNT's adamId '\(count.adamId.printableExcerpt)' is not an Apple product id")
            }
            guard PricingParam(rawValue: count.pricingParam) != nil else {
                return .invalid("the ASSET_COUNT's pricingParam '\(count.pricingParam.printableExcerpt)' is not one Apple uses (STDQ, PLUS)")
            }
            guard PoolLimits.isPossible(countDelta: count.countDelta) else { return .countOutOfRange(count) }
            return .valid
        case .assetManagement:
            guard let event = try? JSONDecoder().decode(AppleNotification<AssetManagementBody>.self, from: Data(body)).notification else {
                return .invalid("an ASSET_MANAGEMENT needs notification{eventId, type, result}")
            }
            guard !event.eventId.isEmpty, event.eventId.utf8.count <= eventIdLengthMax else {
                return .invalid("the ASSET_MANAGEMENT's eventId must be 1 to \(eventIdLengthMax) characters")
            }
            guard ["ASSOCIATE", "DISASSOCIATE", "REVOKE"].contains(event.type.uppercased()) else {
                return .invalid("the ASSET_MANAGEMENT's type must be ASSOCIATE, DISASSOCIATE or REVOKE")
            }
            guard ["SUCCESS", "FAILURE"].contains(event.result.uppercased()) else {
                return .invalid("the ASSET_MANAGEMENT's result must be SUCCESS or FAILURE")
            }
            return .valid
        }
    }
}

/// The detail of an `apple_count_refused` event.
struct AppleCountRefusedDetail: Codable {
    let adamId: String
    let pricingParam: String
    let countDelta: Int
    let notificationId: String
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
                                              notificationTypes: AppleNotificationType.subscribed.map(\.rawValue)
                                                  + Self.userNotificationTypes.map(\.rawValue).sorted())
            _ = try await callApple(token) { try await apple.updateClientConfig(token: bearer, request) }
        } catch let error as AllotError {
            return error.message
        }
        try ledger.markNotificationsConfigured(tenant: tenant.id, token: token.id, url: url)
        return nil
    }

    /// Whether `authorization` is `Bearer <the token's receiver bearer>`, compared in constant
    /// time. The receiver asks this before it reads a body (issue 28: refuse before reading).
    public func isNotificationBearer(token tokenId: Int64, authorization: String?) throws -> Bool {
        guard let receiver = try ledger.notificationReceiver(token: TokenID(tokenId)) else { return false }
        let expected = try secrets().open(receiver.sealedAuthToken)
        let prefix = "Bearer "
        guard let authorization, authorization.hasPrefix(prefix), authorization.utf8.count <= APIKey.lengthMax + prefix.utf8.count else {
            return false
        }
        return APIKey.constantTimeEqual(APIKey.hash(expected), APIKey.hash(String(authorization.dropFirst(prefix.count))))
    }

    /// Checks one POST from Apple and queues it. The bearer is compared in constant time with
    /// the token's stored one; a wrong or missing one, or a token without a receiver, changes
    /// nothing. A duplicate `notificationId` changes nothing either. Fast: the work is done by
    /// `processNotifications()`, after the answer.
    public func acceptNotification(token tokenId: Int64, authorization: String?, body: [UInt8]) throws -> NotificationReceipt {
        guard try isNotificationBearer(token: tokenId, authorization: authorization) else { return .unauthorized }
        guard body.count <= Ledger.notificationBodyBytesMax else {
            return .invalid("the notification is larger than \(Ledger.notificationBodyBytesMax) bytes")
        }
        guard let envelope = try? JSONDecoder().decode(AppleNotificationEnvelope.self, from: Data(body)) else {
            return .invalid("the body is not a notification envelope {notificationType, notificationId, uId, notification}")
        }
        guard let type = AppleNotificationType(rawValue: envelope.notificationType) else {
            if let userType = AppleUserNotificationType(rawValue: envelope.notificationType), Self.userNotificationTypes.contains(userType) {
                return try acceptUserNotification(userType, envelope: envelope, token: tokenId, body: body)
            }
            return .invalid("notificationType '\(envelope.notificationType.printableExcerpt)' is not one this server subscribes to")
        }
        guard !envelope.notificationId.isEmpty, envelope.notificationId.utf8.count <= 200 else {
            return .invalid("notificationId must be 1 to 200 characters")
        }
        guard let token = try ledger.token(id: TokenID(tokenId)), token.locationUid == envelope.uId else {
            return .invalid("the notification's uId is not this token's location")
        }
        switch NotificationBodyCheck.check(type, body: body) {
        case .valid:
            break
        case .invalid(let sentence):
            return .invalid(sentence)
        case .countOutOfRange(let count):
            // Not applied: the token's counts are read from Apple instead, after the answer. The
            // sync is queued like a notification (durable, and once per notificationId however
            // often Apple retries); the event tells an admin a forged or broken count came in.
            let sentence = "the ASSET_COUNT's countDelta \(count.countDelta) is beyond what a pool can hold (±\(PoolLimits.totalMax)); it is not applied, and the token is synced with Apple instead"
            if try ledger.queueNotification(id: envelope.notificationId, token: token.id, kind: Self.resyncNotificationKind, body: "{}") {
                try ledger.recordEvent(tenant: token.tenantId, kind: .appleCountRefused, token: token.id,
                                       detail: AppleCountRefusedDetail(adamId: count.adamId, pricingParam: count.pricingParam,
                                                                       countDelta: count.countDelta, notificationId: envelope.notificationId))
            }
            return .countOutOfRange(sentence)
        }
        let queued = try ledger.queueNotification(id: envelope.notificationId, token: token.id, kind: type.rawValue,
                                                  body: String(decoding: body, as: UTF8.self))
        return queued ? .accepted : .duplicate
    }

    /// The queue's kind for "sync this token" (not one of Apple's types): what a refused
    /// `ASSET_COUNT` leaves behind.
    static let resyncNotificationKind = "ALLOT_RESYNC"

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
            if queued.kind == Self.resyncNotificationKind {
                _ = try await syncToken(tenant: tenant, token: token)
                done += 1
                continue
            }
            if let userType = AppleUserNotificationType(rawValue: queued.kind) {
                try await processUserNotification(userType, body: queued.body, token: token, tenant: tenant)
                done += 1
                continue
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
