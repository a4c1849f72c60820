import Foundation
import Synchronization

/// Runs an async benchmark mode to its end from main.swift, which is synchronous; a failure is
/// printed with the mode's flag and ends the process.
func blocking<T: Sendable>(_ flag: String, _ body: @escaping @Sendable () async throws -> T) -> T {
    let box = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        let result: Result<T, any Error>
        do {
            result = .success(try await body())
        } catch {
            result = .failure(error)
        }
        box.withLock { $0 = result }
        done.signal()
    }
    done.wait()
    switch box.withLock({ $0 })! {
    case .success(let value): return value
    case .failure(let error):
        FileHandle.standardError.write(Data("allot-bench: \(flag) failed: \(error)\n".utf8))
        exit(1)
    }
}
