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

    /// Waits (at most `secondsMax`) until every queued notification has been delivered or
    /// dropped: what a CLI `sim` command does before its process exits.
    public func finishNotifications(secondsMax: Double = 10) async {
        let deadline = Date().addingTimeInterval(secondsMax)
        while deliveryTask != nil, Date() < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
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
                let wait = min(max(0, next.timeIntervalSinceNow), NotificationLimits.leaseSeconds)
                try? await Task.sleep(for: .milliseconds(Int(wait * 1000) + 10))
                continue
            }
            await withTaskGroup(of: (NotificationDue, Bool).self) { group in
                for item in due {
                    group.addTask { (item, await Self.post(item.body, to: item.target)) }
                }
                for await (item, delivered) in group {
                    settle(item, delivered: delivered)
                }
            }
        }
        deliveryTask = nil
    }

    private func settle(_ item: NotificationDue, delivered: Bool) {
        _ = try? transaction { state in
            if delivered || item.attempts >= NotificationLimits.attemptsMax {
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
        guard await Self.post(try SimulatorStore.encode(envelope), to: target) else {
            throw ServiceErrorCatalog.error(ServiceErrorCatalog.testNotificationFailed,
                                            detail: "\(target.url) did not accept the test notification")
        }
    }

    static let deliveryBatchMax = 64
    static let deliveryRoundsMax = 10_000

    /// True when the receiver answered 2xx in time.
    static func post(_ body: String, to target: NotificationTarget) async -> Bool {
        var request = HTTPClientRequest(url: target.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Authorization", value: "Bearer \(target.authToken)")
        request.body = .bytes(ByteBuffer(string: body))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(NotificationLimits.timeoutSeconds))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            return (200..<300).contains(Int(response.status.code))
        } catch {
            return false
        }
    }
}
