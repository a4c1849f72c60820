import Allot
import AllotCore
import Logging
import ServiceLifecycle

/// What `allot serve` keeps in step beside delivery (issue 12): the reconcile schedule and
/// Apple's notifications.
public struct ReconcileSettings: Sendable {
    /// Every scheduled token is synced once per interval; nil: no schedule.
    public var interval: SyncInterval? = .default
    /// What Apple can reach of this server, for its notifications; nil: none.
    public var publicURL: String?
    /// The pause between passes: a due sync waits at most this long.
    public var tickSeconds: Double = 1
    /// How often tokens without a working receiver are configured again.
    public var receiverRetrySeconds: Double = 60

    public init(interval: SyncInterval? = .default, publicURL: String? = nil) {
        self.interval = interval
        self.publicURL = publicURL
    }
}

/// The reconcile schedule as a service, beside the outbox worker: each tick it runs the syncs
/// due (claimed in the ledger, so two nodes never both run one), works on Apple's queued
/// notifications (left by a restart, or a receiver that answered before its work), and now
/// and then configures the receivers of tokens that lack one. Stops at the next tick after
/// a shutdown; a sync in flight stops at its next Apple call (the engine starts none).
public struct ReconcileScheduler: Service {
    let engine: Allot
    let settings: ReconcileSettings
    let logger: Logger
    /// Resolves once the HTTP server listens: Apple's TEST_NOTIFICATION must find it.
    let serverReady: @Sendable () async -> Void

    public init(engine: Allot, settings: ReconcileSettings, logger: Logger, serverReady: @escaping @Sendable () async -> Void = {}) {
        self.engine = engine
        self.settings = settings
        self.logger = logger
        self.serverReady = serverReady
    }

    public func run() async throws {
        guard engine.hasAppleService else {
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            await serverReady()
            var lastReceivers: ContinuousClock.Instant?
            while !Task.isCancelled, await !engine.isStoppingDelivery {
                if settings.publicURL != nil, lastReceivers.map({ ContinuousClock.now - $0 >= .seconds(settings.receiverRetrySeconds) }) ?? true {
                    lastReceivers = .now
                    await report("configuring notification receivers") {
                        for (token, refusal) in try await engine.configureReceivers() {
                            logger.warning("Apple did not accept the notification receiver; check that --public-url reaches this server",
                                           metadata: ["token": "\(token)", "refusal": "\(refusal)"])
                        }
                    }
                }
                await report("working on Apple's notifications") { _ = try await engine.processNotifications() }
                if let interval = settings.interval {
                    await report("the scheduled sync") {
                        let pass = try await engine.reconcileDue(interval: interval)
                        for token in pass.synced where token.error != nil || !token.overAllocated.isEmpty {
                            logger.warning("scheduled sync needs attention", metadata: [
                                "token": "\(token.tokenId)", "state": "\(token.state.rawValue)", "error": "\(token.error ?? "")",
                                "overAllocated": "\(token.overAllocated.count)"])
                        }
                    }
                }
                do { try await Task.sleep(for: .seconds(settings.tickSeconds)) } catch { return }
            }
        }
        // Delivery may stop (the first step of a shutdown) before this service's turn to stop
        // comes: wait for it, since a service that returns on its own fails the whole group.
        try? await gracefulShutdown()
    }

    private func report(_ what: String, _ work: () async throws -> Void) async {
        do { try await work() } catch let error as AllotError {
            // The engine's messages never carry a secret.
            logger.warning("\(what) failed", metadata: ["code": "\(error.code.rawValue)", "message": "\(error.message)"])
        } catch is CancellationError {
        } catch {
            logger.warning("\(what) failed", metadata: ["error": "\(String(describing: type(of: error)))"])
        }
    }
}
