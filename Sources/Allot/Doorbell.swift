import Synchronization

/// Wakes the delivery loop (`deliverUntilStopped`) while it sleeps: a call answered, work
/// committed in this process, the engine stopping. A ring while the loop is awake is kept (one
/// is enough: the loop looks at everything when it wakes), so no ring is lost between its look
/// and its sleep. Rung from any thread: the ledger rings it inside the engine's turn.
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        /// Work was committed since the loop last looked at the outbox.
        var workCommitted = false
        var sleeper: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func ring() {
        let sleeper = state.withLock { state in
            guard let sleeper = state.sleeper else {
                state.rung = true
                return nil as CheckedContinuation<Void, Never>?
            }
            state.sleeper = nil
            return sleeper
        }
        sleeper?.resume()
    }

    /// Operations were written to the outbox: the loop looks for tokens with due work.
    func ringForWork() {
        state.withLock { $0.workCommitted = true }
        ring()
    }

    /// Whether work was committed since the last ask; clears it.
    func takeWorkCommitted() -> Bool {
        state.withLock { state in
            defer { state.workCommitted = false }
            return state.workCommitted
        }
    }

    /// Returns once rung (at once if rung since the last wait), or at `deadline`.
    func sleep(until deadline: ContinuousClock.Instant?) async {
        if state.withLock({ state in
            defer { state.rung = false }
            return state.rung
        }) { return }
        let alarm = deadline.map { deadline in
            Task {
                // Cancelled when a ring came first: that alarm must not ring the next sleep.
                do { try await Task.sleep(until: deadline, clock: .continuous) } catch { return }
                self.ring()
            }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (sleeper: CheckedContinuation<Void, Never>) in
                let rungMeanwhile = state.withLock { state in
                    if state.rung {
                        state.rung = false
                        return true
                    }
                    state.sleeper = sleeper
                    return false
                }
                if rungMeanwhile { sleeper.resume() }
            }
        } onCancel: {
            // A cancelled sleeper wakes; a cancel before it slept leaves the ring for it.
            ring()
        }
        alarm?.cancel()
    }
}
