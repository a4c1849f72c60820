import AllotStore

/// A webhook as published (`webhooks list`, `GET /v1/tenants/{slug}/webhooks`). Never its secret.
public struct WebhookView: Encodable, Sendable {
    public let id: Int64
    public let url: String
    public let createdAt: String
    /// Every event up to this id has been delivered (or given up after its window).
    public let deliveredThroughEventId: Int64
    /// Events recorded since, still to be delivered.
    public let pendingEvents: Int
    /// Failed tries of the next event; 0 while the receiver answers.
    public let failedAttempts: Int
    /// When the next event is tried again, while it is being retried.
    @AlwaysPresent public var retryAt: String?
    @AlwaysPresent public var lastError: String?

    public init(_ webhook: WebhookRecord) {
        id = webhook.id
        url = webhook.url
        createdAt = Moments.iso8601(webhook.createdAt)
        deliveredThroughEventId = webhook.deliveredThroughEventId
        pendingEvents = webhook.pendingEvents
        failedAttempts = webhook.failedAttempts
        retryAt = webhook.failedAttempts > 0 ? Moments.iso8601(webhook.nextAttemptAt) : nil
        lastError = webhook.lastError
    }
}

public struct WebhookListView: Encodable, Sendable {
    public let webhooks: [WebhookView]
    public init(_ webhooks: [WebhookRecord]) { self.webhooks = webhooks.map(WebhookView.init) }
}

/// A new webhook with its signing secret: the only time the secret is shown.
public struct CreatedWebhookView: Encodable, Sendable {
    public let webhook: WebhookView
    public let secret: String
    public init(_ webhook: WebhookRecord, secret: String) {
        self.webhook = WebhookView(webhook)
        self.secret = secret
    }
}

/// A removed webhook.
public struct RemovedWebhookView: Encodable, Sendable {
    public let removed: WebhookView
    public init(_ webhook: WebhookRecord) { removed = WebhookView(webhook) }
}
