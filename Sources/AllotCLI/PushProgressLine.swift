import Allot
import AllotCore
import Foundation
import Synchronization

/// A push's progress on a terminal (`allot push`, and the "telling Apple" after `assign` and
/// `revoke`): requests sent of those due, the time left at the pace so far, and the tokens
/// whose lane still runs. Quiet when standard error is not a terminal, and for quick pushes;
/// stdout, and so `--json`, is never touched.
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
            let elapsed = Date().timeIntervalSince(start)
            let line = text(latest.progress.withLock { $0 }, elapsedSeconds: elapsed)
            FileHandle.standardError.write(Data("\r\(line)  \(seconds)s\u{1B}[K".utf8))
            do { try await Task.sleep(for: .seconds(frameSeconds)) } catch { break }
        }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    /// The line's words: before the first request is accepted there is no pace, so no time left.
    static func text(_ progress: PushProgress?, elapsedSeconds: Double) -> String {
        guard let progress else { return "telling Apple" }
        let sent = min(progress.sent, progress.toSend)
        let left = TimeLeft.seconds(done: progress.sent, total: progress.toSend, elapsedSeconds: elapsedSeconds)
        let eta = left.map { "about \(TimeLeft.text(seconds: $0)) left" } ?? "time left known after the first answer"
        return "telling Apple: \(Text.count(sent)) of \(Text.count(progress.toSend, "request")) sent, \(eta), \(Text.count(progress.tokensWaiting, "token")) waiting"
    }
}
