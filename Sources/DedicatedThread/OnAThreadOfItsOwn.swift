import Foundation
import Synchronization

/// Runs blocking work (a synchronous ledger's statements, which wait for PostgreSQL's answers)
/// on a thread of its own and awaits its result: the caller's cooperative thread is given back
/// meanwhile, as with `DedicatedThreadExecutor`, for work that has no actor to run on.
public func onAThreadOfItsOwn<T: Sendable>(named name: String, _ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.name = name
        thread.start()
    }
}
