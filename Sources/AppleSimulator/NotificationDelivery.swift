import AsyncHTTPClient
import Foundation
import NIOCore

// Sending what `SimulatorNotifications.swift` queued: POST with `Authorization: Bearer
// <notificationAuthToken>`, a 2xx answer is a delivery, anything else a failed try; up to
// `NotificationLimits.attemptsMax` tries, then the notification is dropped (Apple's delivery is
// best effort). The receiver's token is never logged: a failure says only the URL and status.

extension AppleSimulator {
    /// Starts sending due notifications unless a sender is already running.
    func startDelivery() {
        guard deliveryTask == nil else { return }
        deliveryTask = Task { await self.deliverUntilEmpty() }
    }

    /// Tells `observer` of each notification this instance gives up on, when it does: a
    /// long-running simulator (`allot sim serve`) has no command ending to say it at.
    public func reportDroppedNotifications(to observer: @escaping @Sendable (NotificationDeliveryReport.Dropped) -> Void) {
        droppedObserver = observer
    }

    /// The bound of `finishNotifications()`, for the command waiting to say it.
    public static let notificationsWaitSecondsMax = NotificationLimits.finishSecondsMax

    /// Waits until every queued notification has been delivered or dropped, but no longer than
    /// its own notifications' tries can take (`NotificationLimits.finishSecondsMax`): what a
    /// CLI `sim` command does before its process exits. Answers what this instance's tries came
    /// to, so the command can say so; a notification still queued at the end (another
    /// process holds it, or its next try falls after the bound) is counted, not waited for.
    @discardableResult
    public func finishNotifications() async -> NotificationDeliveryReport {
        await finishNotifications(secondsMax: NotificationLimits.finishSecondsMax)
    }

    @discardableResult
    public func finishNotifications(secondsMax: Double) async -> NotificationDeliveryReport {
        let deadline = Date().addingTimeInterval(secondsMax)
        finishBy = deadline
        defer { finishBy = nil }
        while deliveryTask != nil, Date() < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        var report = deliveryReport
        report.stillQueued = (try? transaction { state in try state.store.notificationCount() }) ?? 0
        return report
    }

    private func deliverUntilEmpty() async {
        // Bounded: each round sends what is due; a round with nothing due sleeps until the next
        // retry falls due. Every row is dropped after its last try, so the loop ends.
        for _ in 0..<Self.deliveryRoundsMax {
            let due: [NotificationDue]
            let next: Date?
            do {
                let taken = try transaction { state in
                    (try state.store.takeDueNotifications(now: Date(), limit: Self.deliveryBatchMax,
                                                          leaseSeconds: NotificationLimits.leaseSeconds),
                     try state.store.nextNotificationTime())
                }
                due = taken.0
                next = taken.1
            } catch {
                break
            }
            if due.isEmpty {
                guard let next else { break }
                // A process about to exit does not wait for a try it will not see.
                if let finishBy, next > finishBy { break }
                let wait = min(max(0, next.timeIntervalSinceNow), NotificationLimits.leaseSeconds)
                try? await Task.sleep(for: .milliseconds(Int(wait * 1000) + 10))
                continue
            }
            await withTaskGroup(of: (NotificationDue, String?).self) { group in
                for item in due {
                    group.addTask { (item, await Self.post(item.body, to: item.target)) }
                }
                for await (item, failure) in group {
                    settle(item, failure: failure)
                }
            }
        }
        deliveryTask = nil
    }

    private func settle(_ item: NotificationDue, failure: String?) {
        if let failure {
            if item.attempts >= NotificationLimits.attemptsMax {
                let dropped = NotificationDeliveryReport.Dropped(url: item.target.url, tries: item.attempts, lastFailure: failure)
                deliveryReport.dropped.append(dropped)
                droppedObserver?(dropped)
            }
        } else {
            deliveryReport.delivered += 1
        }
        _ = try? transaction { state in
            if failure == nil || item.attempts >= NotificationLimits.attemptsMax {
                try state.store.deleteNotification(id: item.id)
            } else {
                let delay = NotificationLimits.retryDelaysSeconds[min(item.attempts - 1, NotificationLimits.retryDelaysSeconds.count - 1)]
                try state.store.retryNotification(id: item.id, at: Date().addingTimeInterval(delay))
            }
        }
    }

    /// Apple's TEST_NOTIFICATION, sent once and at once: the answer to `POST client/config`
    /// waits for it, and a receiver that does not take it refuses the configuration (9728).
    func sendTestNotification(location uId: String, target: NotificationTarget) async throws {
        let envelope = SimulatorNotification(notificationType: NotificationType.test, notificationId: UUID().uuidString.lowercased(),
                                             uId: uId, notification: TestNotification())
        if let failure = await Self.post(try SimulatorStore.encode(envelope), to: target) {
            throw ServiceErrorCatalog.error(ServiceErrorCatalog.testNotificationFailed,
                                            detail: "\(target.url) did not accept the test notification (\(failure))")
        }
    }

    static let deliveryBatchMax = 64
    static let deliveryRoundsMax = 10_000

    /// The simulator's client for notifications: a refused connection fails the try at once.
    /// AsyncHTTPClient's shared client tries to connect again until the request's deadline, so
    /// a receiver that had gone (an `allot serve --public-url` stopped since) held every try
    /// for its whole timeout, and `sim set-total` for 10 s, silent. Made on first use, never
    /// shut down (as `HTTPClient.shared` is not).
    static let notificationClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(NotificationLimits.timeoutSeconds)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// Nil when the receiver answered 2xx in time; else why the try failed, in a few words
    /// (never the receiver's token).
    static func post(_ body: String, to target: NotificationTarget) async -> String? {
        var request = HTTPClientRequest(url: target.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Authorization", value: "Bearer \(target.authToken)")
        request.body = .bytes(ByteBuffer(string: body))
        do {
            let response = try await notificationClient.execute(request, timeout: .seconds(NotificationLimits.timeoutSeconds))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            let status = Int(response.status.code)
            return (200..<300).contains(status) ? nil : "HTTP \(status)"
        } catch {
            return describe(error)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError, [.deadlineExceeded, .readTimeout, .connectTimeout].contains(error) {
            return "no answer within \(NotificationLimits.timeoutSeconds) s"
        }
        switch error {
        case let error as IOError:
            return String(cString: strerror(error.errnoCode)).lowercased()
        default:
            // NIO's connection error lists every address tried; its errno words are enough.
            let text = String(describing: error)
            if text.contains("Connection refused") { return "connection refused" }
            return String(describing: type(of: error))
        }
    }
}

/// What the notifications of one simulator instance came to, for a CLI `sim` command to say
/// before it exits.
public struct NotificationDeliveryReport: Sendable, Equatable {
    public struct Dropped: Sendable, Equatable {
        public let url: String
        public let tries: Int
        public let lastFailure: String
    }

    public var delivered = 0
    /// Given up after their last try (Apple's delivery is best effort).
    public var dropped: [Dropped] = []
    /// Left in the state file when the wait ended: the next simulator process sends them.
    public var stillQueued = 0
}
