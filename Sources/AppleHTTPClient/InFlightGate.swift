/// Lets at most `limit` operations run at once; the others wait their turn in arrival order.
actor InFlightGate {
    let limit: Int
    private(set) var running = 0
    private(set) var peak = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) {
        precondition(limit > 0, "an in-flight limit must be positive")
        self.limit = limit
    }

    func run<T: Sendable>(_ operation: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await operation()
    }

    private func acquire() async {
        if running < limit {
            running += 1
            peak = max(peak, running)
            return
        }
        // The slot is handed over by `release`, which does not decrement `running`.
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        precondition(running > 0, "released more than acquired")
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
