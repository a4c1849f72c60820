import AllotCore
import AllotStore
import Crypto
import Foundation

/// One try to deliver a webhook's next event, handed to the sender. The signing secret stays
/// inside `signer`; nothing here prints it.
public struct WebhookDelivery: Sendable {
    public let webhookId: Int64
    public let url: String
    public let event: Event
    /// 1 for the first try of this event, 2 for the first retry…
    public let attempt: Int
    public let signer: WebhookSigner
    let claim: WebhookClaim
}

/// Signs a body with a webhook's secret: `sha256=` and the lowercase hex HMAC-SHA256 of the
/// exact bytes sent, keyed with the secret's text in UTF-8 (as the receiver was given it).
public struct WebhookSigner: Sendable, CustomStringConvertible {
    private let keyBytes: [UInt8]

    public init(secret: String) { keyBytes = Array(secret.utf8) }

    public func signature(of body: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: keyBytes))
        return WebhookHeaders.signaturePrefix + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// Never the secret, whatever interpolates the signer.
    public var description: String { "WebhookSigner(secret hidden)" }
}

/// The headers of every webhook post (documented in docs/http-api.md and openapi.yaml).
public enum WebhookHeaders {
    /// `sha256=<hex>`: HMAC-SHA256 of the body under the webhook's secret.
    public static let signature = "X-Allot-Signature"
    public static let signaturePrefix = "sha256="
    /// The event's id: a receiver drops one it has seen (a post may arrive twice, never out of order).
    public static let eventId = "X-Allot-Event-Id"
    /// The event's kind, to route without parsing the body.
    public static let eventKind = "X-Allot-Event-Kind"
    /// 1 for the first try of this event, then 2, 3…
    public static let attempt = "X-Allot-Delivery-Attempt"
    public static let webhookId = "X-Allot-Webhook-Id"
}

public enum WebhookLimits {
    /// Bytes of a secret before Base64: 256 bits, the size of the HMAC-SHA256 key.
    public static let secretBytes = 32
    public static let secretPrefix = "whsec_"
    /// Seconds a receiver has to answer one post before the try counts as failed.
    public static let requestTimeoutSeconds: Int64 = 10
    /// Seconds a sender holds a webhook it claimed: longer than a post may take, short enough
    /// that a crashed sender's webhooks go on soon.
    public static let leaseSeconds: Int64 = 30
    /// Webhooks tried at once by one sender (each posts one event at a time).
    public static let postsInFlightMax = 64
    /// Characters of a failure kept as the webhook's last error.
    public static let errorLengthMax = 200
    /// Seconds the sender waits for the resolver before it counts the try as failed.
    public static let resolveTimeoutSeconds: Double = 5
    /// Addresses of one host checked before a post, a bound on a runaway DNS answer.
    public static let resolvedAddressesMax = 64
}

extension Allot {
    /// Registers a webhook for the tenant's events. The answer holds its signing secret, the
    /// only time it is shown; the ledger keeps it sealed with the engine's SecretBox.
    public func addWebhook(tenant slug: String, url text: String) throws -> (webhook: WebhookRecord, secret: String) {
        let url = try WebhookURL(parsing: text)
        // What is wrong without asking DNS is refused now; the rest at each post (the sender).
        let target = WebhookTarget(url)
        if case .refused(let rule, _) = target.decideWithoutDNS(policy: settings.webhookTargets) {
            throw AllotError.invalidInput(target.sentence(rule))
        }
        let tenant = try tenant(slug)
        let secret = Self.newWebhookSecret()
        let webhook = try ledger.addWebhook(tenant: tenant.id, url: url, sealedSecret: try secrets().seal(secret))
        return (webhook, secret)
    }

    public func webhooks(tenant slug: String) throws -> [WebhookRecord] {
        try ledger.webhooks(tenant: try tenant(slug).id)
    }

    public func removeWebhook(tenant slug: String, id: Int64) throws -> WebhookRecord {
        try ledger.removeWebhook(tenant: try tenant(slug).id, id: id)
    }

    /// Claims the webhooks whose next event is due, at most `limit`, for one try each.
    public func claimWebhookDeliveries(limit: Int = WebhookLimits.postsInFlightMax) throws -> [WebhookDelivery] {
        let claims = try ledger.claimDueWebhooks(owner: workerId, leaseSeconds: WebhookLimits.leaseSeconds, limit: limit)
        let box = try claims.isEmpty ? nil : secrets()
        return try claims.map { claim in
            WebhookDelivery(webhookId: claim.webhookId, url: claim.url, event: claim.event, attempt: claim.failedAttempts + 1,
                            signer: WebhookSigner(secret: try box!.open(claim.sealedSecret)), claim: claim)
        }
    }

    /// Records what the receiver answered and moves the webhook on as the retry policy says.
    @discardableResult
    public func finishWebhookDelivery(_ delivery: WebhookDelivery, result: WebhookRetryPolicy.Result,
                                      error: String? = nil) throws -> WebhookRetryPolicy.Step {
        let step = settings.webhookRetry.step(after: result, failedBefore: delivery.claim.failedAttempts,
                                              eventAt: delivery.event.at, now: now)
        try ledger.finishWebhookTry(delivery.claim, step: step, error: error.map { String($0.prefix(WebhookLimits.errorLengthMax)) })
        settings.metrics.webhookPost(step)
        return step
    }

    /// Gives back this engine's claims (its sender is stopping).
    public func releaseWebhookLeases() throws { try ledger.releaseWebhookLeases(owner: workerId) }

    /// Events not yet delivered, over every webhook.
    public func webhookBacklog() throws -> Int { try ledger.webhookBacklog() }

    static func newWebhookSecret() -> String {
        WebhookLimits.secretPrefix + APIKey.randomBase64URL(byteCount: WebhookLimits.secretBytes)
    }
}
