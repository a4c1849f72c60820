import Foundation

/// Swift's cooperative pool has one thread per core (two here). A test that blocks one of
/// them (waiting for a child process, sleeping between polls, a synchronous database call on
/// a loaded server) takes it from every other test running beside it; two such tests stall
/// the whole suite until their time limits cut the starved ones off. Blocking work therefore
/// runs on a thread of its own, and the test awaits it, which frees its pool thread.
public enum OffThePool {
    /// Runs `body` on a new thread and returns (or throws) what it did.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}

// Foundation reaps a child (waitpid) before `isRunning` turns false, so these waits poll it
// and never call `waitUntilExit`: that runs a run loop on the calling thread and races the
// process's own termination handler when both touch it (a crash seen in the suite).
extension Process {
    private static let launching = NSLock()

    /// `run()`, one launch at a time in the test process. With the waits moved off the pool,
    /// dozens of tests start children at once, and Foundation's `Process.run` crashed the test
    /// process (SIGSEGV inside its copying) when called from many threads together. Launching
    /// takes milliseconds; the waits that follow still run side by side.
    public func runOneAtATime() throws {
        Self.launching.lock()
        defer { Self.launching.unlock() }
        try run()
    }

    /// Waits, without holding a pool thread, until the process exits or `seconds` pass;
    /// whether it exited. The caller decides what a process still running means.
    public func exited(within seconds: Double) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1_000))
        while isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return !isRunning
    }

    /// Waits (bounded, off the pool) for the process to end by itself; one still running after
    /// `seconds` is killed and reaped, so no test leaves a child behind. Whether it ended by itself.
    @discardableResult
    public func endedOrKilled(within seconds: Double = TestDeadlines.childProcessSecondsMax) async -> Bool {
        if await exited(within: seconds) { return true }
        await stopAndReap()
        return false
    }

    /// Stops the process if it still runs (SIGTERM, then SIGKILL after `graceSeconds`) and
    /// waits for it to be reaped, without holding a pool thread.
    public func stopAndReap(graceSeconds: Double = 5) async {
        if isRunning { terminate() }
        if await exited(within: graceSeconds) { return }
        kill(processIdentifier, SIGKILL)
        _ = await exited(within: 30)
    }

    /// For `defer`, which cannot await: `stopAndReap` in a task of its own, so no child
    /// outlives the test and the test does not wait for it.
    public func stopInTheBackground(graceSeconds: Double = 5) {
        let process = UncheckedProcess(process: self)
        Task.detached { await process.process.stopAndReap(graceSeconds: graceSeconds) }
    }
}

/// Foundation's `Process` is not `Sendable`; the background task is its only user after the
/// test lets go of it.
private struct UncheckedProcess: @unchecked Sendable {
    let process: Process
}

/// A bound on the child processes the tests run at once. Waiting off the pool lets every CLI
/// test start its `allot` together (a hundred processes on two cores), which starves the
/// in-process servers that tests time to the second; a few at a time, first come first served,
/// keeps the machine as busy as before the waits moved off the pool, and no busier.
public actor ChildProcessSlots {
    public static let shared = ChildProcessSlots(width: 2 * ProcessInfo.processInfo.activeProcessorCount)

    private let width: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(width: Int) {
        precondition(width > 0, "at least one child at a time")
        self.width = width
    }

    /// Runs `body` once a slot is free, and frees it after.
    public func withSlot<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        if running < width {
            running += 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            // The slot passes straight to the next in line.
            waiting.removeFirst().resume()
        }
    }
}
