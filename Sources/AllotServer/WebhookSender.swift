import Allot
import AllotStore
import AllotCore
import AllotViews
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// Posts the tenants' events to their webhooks, in `allot serve` (issue 12, point 4).
///
/// Each round claims the webhooks whose next event is due, posts those events at once (one per
/// webhook, so a webhook's events stay in order), and moves each cursor as the retry policy
/// says. Everything it knows is in the ledger: a restart, or a crash once the leases expire,
/// resumes where the cursors stand. A post may be repeated (a crash between the receiver's
/// answer and the ledger's write); `X-Allot-Event-Id` lets a receiver drop the repeat.
public struct WebhookSender: Service {
    let engine: Allot
    let logger: Logger
    let idleSeconds: Double
    /// The port this server listens on, once bound (a post to it is refused: `this_server`).
    let listeningPort: @Sendable () -> Int?
    /// Host name → addresses. The system resolver in `allot serve`; tests give names of their own.
    let resolve: @Sendable (String) async -> [IPAddress]
    /// Seconds a receiver has for one post (`WebhookLimits.requestTimeoutSeconds`); tests shorten it.
    let requestTimeoutSeconds: Int64

    public init(engine: Allot, logger: Logger, idleSeconds: Double = 1, listeningPort: @escaping @Sendable () -> Int? = { nil },
                resolve: @escaping @Sendable (String) async -> [IPAddress] = HostResolver.addresses(of:),
                requestTimeoutSeconds: Int64 = WebhookLimits.requestTimeoutSeconds) {
        self.engine = engine
        self.logger = logger
        self.idleSeconds = idleSeconds
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.listeningPort = listeningPort
        self.resolve = resolve
    }

    public func run() async throws {
        let policy = await engine.settings.webhookTargets
        // Read once: the interfaces of a server do not change under a running process often
        // enough to matter, and the loopback ranges are refused by range anyway.
        let interfaces = HostResolver.interfaceAddresses()
        await cancelWhenGracefulShutdown {
            await sendUntilCancelled(policy: policy, interfaces: interfaces)
        }
        do { try await engine.releaseWebhookLeases() } catch {
            logger.warning("could not release the webhook leases; they expire on their own", metadata: ["error": "\(type(of: error))"])
        }
    }

    private func sendUntilCancelled(policy: WebhookTargetPolicy, interfaces: Set<IPAddress>) async {
        while !Task.isCancelled {
            var busy = false
            do {
                let deliveries = try await engine.claimWebhookDeliveries()
                busy = !deliveries.isEmpty
                let server = ServerEndpoints(addresses: interfaces, port: listeningPort())
                await withTaskGroup(of: Void.self) { group in
                    for delivery in deliveries {
                        group.addTask { await self.deliver(delivery, policy: policy, server: server) }
                    }
                }
            } catch let error as AllotError {
                logger.warning("webhook round failed", metadata: ["code": "\(error.code.rawValue)", "message": "\(error.message)"])
            } catch {
                logger.warning("webhook round failed", metadata: ["error": "\(String(describing: type(of: error)))"])
            }
            do { try await Task.sleep(for: .seconds(busy ? 0 : idleSeconds)) } catch { return }
        }
    }

    /// One try: the event as published (EventView), signed, posted; the answer recorded.
    private func deliver(_ delivery: WebhookDelivery, policy: WebhookTargetPolicy, server: ServerEndpoints) async {
        let (result, failure) = await post(delivery, policy: policy, server: server)
        if Task.isCancelled, failure != nil {
            // Stopping cut the post short: the receiver did not fail, so the try is not counted.
            return
        }
        do {
            let step = try await engine.finishWebhookDelivery(delivery, result: result, error: failure)
            var metadata: Logger.Metadata = ["webhook": "\(delivery.webhookId)", "event": "\(delivery.event.id)", "attempt": "\(delivery.attempt)"]
            if let failure { metadata["error"] = "\(failure)" }
            switch step {
            case .advance: logger.debug("webhook delivered", metadata: metadata)
            case .retry(let at, _): logger.info("webhook try failed; retrying", metadata: metadata.merging(["retryAt": "\(at)"]) { $1 })
            case .giveUp: logger.warning("webhook gave up events past their retry window", metadata: metadata)
            }
        } catch {
            logger.warning("could not record a webhook try", metadata: ["webhook": "\(delivery.webhookId)", "error": "\(type(of: error))"])
        }
    }

    /// Checks the target, then posts to the address that was checked.
    ///
    /// The host is resolved here, at each try, and every address it resolves to must pass
    /// `WebhookTarget`'s rules (registration could only check what needs no DNS). The client
    /// then connects to the first checked address, not to the name: it is built for this one
    /// post with a `dnsOverride` from the name to that address, so the resolver is not asked a
    /// second time, and a name whose DNS answer changes between the check and the connect (DNS
    /// rebinding) cannot lead the connection inside. TLS still verifies the certificate for the
    /// name (the override keeps it as SNI). The cost is a client per post (no pooled
    /// connections), which a webhook's rate of one post at a time can afford.
    private func post(_ delivery: WebhookDelivery, policy: WebhookTargetPolicy, server: ServerEndpoints) async -> (WebhookRetryPolicy.Result, String?) {
        guard let url = try? WebhookURL(parsing: delivery.url) else {
            return (.failed(retryAfterSeconds: nil), "refused: the URL is no longer a valid webhook URL; register it again")
        }
        let target = WebhookTarget(url)
        var addresses: [IPAddress]
        if let literal = target.literalAddress {
            addresses = [literal]
        } else {
            addresses = await resolve(target.host)
        }
        addresses = Array(addresses.prefix(WebhookLimits.resolvedAddressesMax))
        let checked: IPAddress
        switch target.decide(resolved: addresses, policy: policy, server: server) {
        case .refused(let rule, let address):
            // The operator's log has the address; the tenant's lastError only the rule (an
            // address would tell what an inside name resolves to).
            logger.warning("webhook target refused before connecting", metadata: [
                "webhook": "\(delivery.webhookId)", "rule": "\(rule.rawValue)", "address": "\(address.map(\.description) ?? "-")"])
            return (.failed(retryAfterSeconds: nil), "refused before connecting: the host \(rule.reason) (rule \(rule.rawValue))")
        case .allowed:
            checked = addresses[0]
        }
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow,
                                                     timeout: .init(connect: .seconds(requestTimeoutSeconds), read: .seconds(requestTimeoutSeconds)))
        configuration.httpVersion = .http1Only
        configuration.dnsOverride = Self.pinning(url: delivery.url, host: target.host, to: checked)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let answer = await send(delivery, client: client)
        try? await client.shutdown()
        return answer
    }

    /// Every spelling of the host the client may look up (as the URL has it, lowercased, in
    /// brackets for IPv6) → the checked address.
    static func pinning(url: String, host: String, to address: IPAddress) -> [String: String] {
        let original = URL(string: url)?.host ?? host
        let bare = original.hasPrefix("[") ? String(original.dropFirst().dropLast()) : original
        var override: [String: String] = [:]
        for spelling in [original, bare, "[\(bare)]", host, "[\(host)]"] { override[spelling] = address.description }
        return override
    }

    private func send(_ delivery: WebhookDelivery, client: HTTPClient) async -> (WebhookRetryPolicy.Result, String?) {
        do {
            let body = try Self.body(of: delivery.event)
            var request = HTTPClientRequest(url: delivery.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "allot-webhooks")
            request.headers.add(name: WebhookHeaders.signature, value: delivery.signer.signature(of: body))
            request.headers.add(name: WebhookHeaders.eventId, value: "\(delivery.event.id)")
            request.headers.add(name: WebhookHeaders.eventKind, value: delivery.event.kind)
            request.headers.add(name: WebhookHeaders.attempt, value: "\(delivery.attempt)")
            request.headers.add(name: WebhookHeaders.webhookId, value: "\(delivery.webhookId)")
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await client.execute(request, timeout: .seconds(requestTimeoutSeconds))
            // The receiver's body is not read beyond this bound: it says nothing the status does not.
            _ = try? await response.body.collect(upTo: 4_096)
            if (200..<300).contains(response.status.code) { return (.delivered, nil) }
            let retryAfter = response.headers.first(name: "Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            return (.failed(retryAfterSeconds: retryAfter), "the receiver answered \(response.status.code)")
        } catch {
            return (.failed(retryAfterSeconds: nil), "no answer: \(Self.category(of: error))")
        }
    }

    /// A coarse category of a transport failure. Never the transport's own words: they name
    /// error types and errnos that tell a tenant how the inside network answered.
    static func category(of error: any Error) -> String {
        let timeouts: [HTTPClientError] = [.deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .tlsHandshakeTimeout]
        if let client = error as? HTTPClientError, timeouts.contains(client) { return "timed out" }
        if let channel = error as? ChannelError, case .connectTimeout = channel { return "timed out" }
        return "the connection failed"
    }

    /// The exact bytes that are signed and sent: the event as `events` publishes it.
    static func body(of event: Event) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(EventView(event)))
    }
}
