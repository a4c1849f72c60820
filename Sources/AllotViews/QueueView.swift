import Allot
import AllotStore

/// The queue of unmet demand as published (`queue list --json`, `GET …/queue`): app by app,
/// each app's devices in the order they are served (position 1 first).
public struct QueueView: Encodable, Sendable {
    public struct Entry: Encodable, Sendable {
        public let adamId: String
        public let pricingParam: String
        public let position: Int
        public let serialNumber: String
        public let queuedAt: String
    }
    /// A person waiting (`assign --user … --queue`): their place among the people waiting for
    /// the app, served after its devices.
    public struct UserEntry: Encodable, Sendable {
        public let adamId: String
        public let pricingParam: String
        public let position: Int
        public let userId: String
        public let queuedAt: String
    }
    public let queue: [Entry]
    public let users: [UserEntry]

    public init(_ entries: [QueueEntry], users: [UserQueueEntry] = []) {
        queue = entries.map {
            Entry(adamId: $0.adamId, pricingParam: $0.pricingParam, position: $0.position, serialNumber: $0.serialNumber,
                  queuedAt: Moments.iso8601($0.queuedAt))
        }
        self.users = users.map {
            UserEntry(adamId: $0.adamId, pricingParam: $0.pricingParam, position: $0.position, userId: $0.userId,
                      queuedAt: Moments.iso8601($0.queuedAt))
        }
    }
}

/// What `queue cancel` did (`queue cancel --json`, `POST …/queue/cancel`).
public struct QueueCancelView: Encodable, Sendable {
    public let cancelled: [String]
    public let notQueued: [String]

    public init(_ report: QueueCancellation) {
        cancelled = report.cancelled
        notQueued = report.notQueued
    }
}
