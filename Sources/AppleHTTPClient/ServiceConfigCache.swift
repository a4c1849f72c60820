import AppleAppsAndBooks
import Synchronization

/// The last `service/config` answer and when it was read; stale after `refreshSeconds`.
final class ServiceConfigCache: Sendable {
    private let refreshSeconds: Int
    private let entry = Mutex<(config: ServiceConfig, readAt: ContinuousClock.Instant)?>(nil)

    init(refreshSeconds: Int) {
        self.refreshSeconds = max(0, refreshSeconds)
    }

    func fresh() -> ServiceConfig? {
        entry.withLock { entry in
            guard let entry, entry.readAt.duration(to: .now) < .seconds(refreshSeconds) else { return nil }
            return entry.config
        }
    }

    func store(_ config: ServiceConfig) {
        entry.withLock { $0 = (config, .now) }
    }
}
