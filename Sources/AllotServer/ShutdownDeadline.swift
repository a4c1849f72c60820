import Synchronization

/// When a graceful stop must be over: started once, at the signal, by the first service to hear
/// it. The HTTP requests and the Apple calls in flight drain side by side under this one bound;
/// each waiting for its own `--drain-seconds` in turn made a stop take the bound twice over.
final class ShutdownDeadline: Sendable {
    let drainSeconds: Double
    /// After the deadline: room for the worker to give back the leases of calls cut short.
    static let leaseReleaseSeconds = 1.0
    private let deadline = Mutex<ContinuousClock.Instant?>(nil)

    init(drainSeconds: Double) {
        precondition(drainSeconds >= 0, "a drain bound is not negative")
        self.drainSeconds = drainSeconds
    }

    /// The deadline, started now if this is the first call; later calls keep the first.
    @discardableResult
    func start() -> ContinuousClock.Instant {
        deadline.withLock { deadline in
            if let deadline { return deadline }
            let started = ContinuousClock.now + .seconds(drainSeconds)
            deadline = started
            return started
        }
    }
}
