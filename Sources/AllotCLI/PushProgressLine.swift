import Allot
import Foundation
import Synchronization

/// `allot push`'s progress on a terminal: requests sent of those due, and the tokens whose
/// lane still runs. Quiet when standard error is not a terminal, and for quick pushes.
enum PushProgressLine {
    static let delaySeconds = 1.0
    static let frameSeconds = 0.2

    /// The latest progress, shared between the push and the line drawing it.
    final class Latest: Sendable {
        let progress = Mutex<PushProgress?>(nil)
    }

    static func around(_ work: (@escaping @Sendable (PushProgress) -> Void) async throws -> PushReport) async throws -> PushReport {
        guard Standard.errorIsTerminal else { return try await work { _ in } }
        let latest = Latest()
        let ticker = Task.detached { await draw(latest) }
        defer { ticker.cancel() }
        let report = try await work { progress in latest.progress.withLock { $0 = progress } }
        ticker.cancel()
        await ticker.value
        return report
    }

    private static func draw(_ latest: Latest) async {
        let start = Date()
        do { try await Task.sleep(for: .seconds(delaySeconds)) } catch { return }
        while !Task.isCancelled {
            let seconds = String(format: "%.1f", Date().timeIntervalSince(start))
            let line = latest.progress.withLock { progress in
                progress.map { "telling Apple: \($0.sent) of \($0.toSend) requests sent, \($0.tokensWaiting) tokens waiting" } ?? "telling Apple"
            }
            FileHandle.standardError.write(Data("\r\(line)  \(seconds)s\u{1B}[K".utf8))
            do { try await Task.sleep(for: .seconds(frameSeconds)) } catch { break }
        }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
