import Allot
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

    public init(engine: Allot, logger: Logger, idleSeconds: Double = 1) {
        self.engine = engine
        self.logger = logger
        self.idleSeconds = idleSeconds
    }

    public func run() async throws {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow,
                                                     timeout: .init(connect: .seconds(WebhookLimits.requestTimeoutSeconds),
                                                                    read: .seconds(WebhookLimits.requestTimeoutSeconds)))
        configuration.httpVersion = .http1Only
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        await cancelWhenGracefulShutdown {
            await sendUntilCancelled(client)
        }
        do { try await engine.releaseWebhookLeases() } catch {
            logger.warning("could not release the webhook leases; they expire on their own", metadata: ["error": "\(type(of: error))"])
        }
        try? await client.shutdown()
    }

    private func sendUntilCancelled(_ client: HTTPClient) async {
        while !Task.isCancelled {
            var busy = false
            do {
                let deliveries = try await engine.claimWebhookDeliveries()
                busy = !deliveries.isEmpty
                await withTaskGroup(of: Void.self) { group in
                    for delivery in deliveries {
                        group.addTask { await self.deliver(delivery, client: client) }
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
    private func deliver(_ delivery: WebhookDelivery, client: HTTPClient) async {
        let (result, failure) = await post(delivery, client: client)
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

    private func post(_ delivery: WebhookDelivery, client: HTTPClient) async -> (WebhookRetryPolicy.Result, String?) {
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
            let response = try await client.execute(request, timeout: .seconds(WebhookLimits.requestTimeoutSeconds))
            // The receiver's body is not read beyond this bound: it says nothing the status does not.
            _ = try? await response.body.collect(upTo: 4_096)
            if (200..<300).contains(response.status.code) { return (.delivered, nil) }
            let retryAfter = response.headers.first(name: "Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            return (.failed(retryAfterSeconds: retryAfter), "the receiver answered \(response.status.code)")
        } catch {
            // The type names the failure (connect refused, timeout) without the URL's query.
            return (.failed(retryAfterSeconds: nil), "no answer: \(String(describing: type(of: error))) \(Self.shortReason(error))")
        }
    }

    static func shortReason(_ error: any Error) -> String {
        if let client = error as? HTTPClientError { return "\(client)" }
        return ""
    }

    /// The exact bytes that are signed and sent: the event as `events` publishes it.
    static func body(of event: Event) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(EventView(event)))
    }
}
