import Foundation

/// A serial executor that runs its jobs on one thread of its own.
///
/// Swift's cooperative pool has one thread per core (two on a small server) and assumes that
/// nothing running on it blocks. The engine and the simulator do block: SQLite's C API reads
/// and writes the disk and sleeps in its busy handler while another process holds the lock,
/// and the PostgreSQL ledger waits for each statement's answer. An actor whose work blocks
/// therefore runs on this executor: a caller awaiting it gives its pool thread back, and the
/// HTTP server, Apple's calls and everything else keep both pool threads while the ledger
/// works. The thread ends when the executor is released with its actor.
public final class DedicatedThreadExecutor: SerialExecutor, @unchecked Sendable {
    private let jobs = JobQueue()

    /// Starts the thread, named `name` (it shows in `top -H` and in crash reports).
    public init(name: String) {
        let executor = asUnownedSerialExecutor()
        let jobs = jobs
        let thread = Thread { jobs.runUntilStopped(on: executor) }
        thread.name = name
        thread.start()
    }

    deinit { jobs.stop() }

    public func enqueue(_ job: consuming ExecutorJob) {
        jobs.push(UnownedJob(job))
    }
}

/// The jobs waiting for the thread, in the order they were enqueued.
private final class JobQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var waiting: [UnownedJob] = []
    private var stopped = false

    func push(_ job: UnownedJob) {
        condition.lock()
        waiting.append(job)
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    /// Runs jobs until stopped with none left. Takes every waiting job at once, so a busy
    /// executor locks once per burst rather than once per job.
    func runUntilStopped(on executor: UnownedSerialExecutor) {
        while let batch = next() {
            for job in batch { job.runSynchronously(on: executor) }
        }
    }

    private func next() -> [UnownedJob]? {
        condition.lock()
        defer { condition.unlock() }
        // Blocks this executor's own thread, never one of the cooperative pool: waiting for
        // work here is what the thread is for.
        while waiting.isEmpty && !stopped { condition.wait() }
        guard !waiting.isEmpty else { return nil }
        let batch = waiting
        waiting.removeAll(keepingCapacity: true)
        return batch
    }
}
