import AllotCore
import Foundation

/// A progress line on stderr for work that takes longer than a second, drawn only when stderr
/// is a terminal (never in a pipe or a log). The engine commits a batch in one transaction and
/// reports nothing until it is done, so the line shows the size of the work and the time spent,
/// with a bar that moves to show it is alive.
enum Progress {
    /// Nothing is drawn before this: quick work stays quiet.
    static let delaySeconds = 1.0
    static let frameSeconds = 0.1
    static let barWidth = 24

    static func around<T: Sendable>(_ label: String, _ work: () async throws -> T) async throws -> T {
        guard Standard.errorIsTerminal else { return try await work() }
        let ticker = Task.detached { await draw(label) }
        do {
            let result = try await work()
            ticker.cancel()
            await ticker.value
            return result
        } catch {
            ticker.cancel()
            await ticker.value
            throw error
        }
    }

    private static func draw(_ label: String) async {
        let start = Date()
        do { try await Task.sleep(for: .seconds(delaySeconds)) } catch { return }
        var frame = 0
        while !Task.isCancelled {
            let position = frame % (2 * (barWidth - 3))
            let offset = position < barWidth - 3 ? position : 2 * (barWidth - 3) - position
            let bar = String(repeating: " ", count: offset) + "===" + String(repeating: " ", count: barWidth - 3 - offset)
            let seconds = String(format: "%.1f", Date().timeIntervalSince(start))
            FileHandle.standardError.write(Data("\r[\(bar)] \(label)  \(seconds)s\u{1B}[K".utf8))
            frame += 1
            do { try await Task.sleep(for: .seconds(frameSeconds)) } catch { break }
        }
        // Leave the terminal as it was: erase the line.
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

/// The progress line of a roll-out in chunks: counts so far and an estimate of the time left,
/// redrawn after each chunk, on stderr when it is a terminal.
final class RollOutProgressLine: @unchecked Sendable {
    private let label: String
    private let start = Date()
    private let enabled = Standard.errorIsTerminal
    private let lock = NSLock()
    private var drawn = false

    init(label: String) { self.label = label }

    func draw(_ tally: BatchTally) {
        guard enabled, tally.decided < tally.total || drawn else { return }
        let elapsed = Date().timeIntervalSince(start)
        let left = TimeLeft.seconds(done: tally.decided, total: tally.total, elapsedSeconds: elapsed) ?? 0
        let percent = tally.total > 0 ? tally.decided * 100 / tally.total : 100
        let line = "\(label): \(Text.count(tally.decided)) of \(Text.count(tally.total, "device")) (\(percent)%), \(Text.count(tally.changed)) changed, \(Text.count(tally.failed)) failed, about \(Self.duration(left)) left"
        lock.withLock {
            drawn = true
            FileHandle.standardError.write(Data("\r\(line)\u{1B}[K".utf8))
        }
    }

    /// Erases the line, leaving the terminal as it was.
    func finish() {
        lock.withLock {
            if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        }
    }

    static func duration(_ seconds: Double) -> String { TimeLeft.text(seconds: seconds) }
}

/// Ctrl-C during a roll-out: the first asks it to stop after the chunk being committed (a
/// summary of what committed follows); a second one ends the process at once, which SQLite's
/// journal makes safe (the chunk in flight rolls back).
final class Interruption: @unchecked Sendable {
    private let lock = NSLock()
    private var stopRequested = false
    private var source: (any DispatchSourceSignal)?

    var requested: Bool { lock.withLock { stopRequested } }

    static func install() -> Interruption {
        let interruption = Interruption()
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [interruption] in interruption.interrupt() }
        source.resume()
        interruption.source = source
        return interruption
    }

    /// Back to the default: Ctrl-C ends the process (after the roll-out, while Apple is told).
    func remove() {
        source?.cancel()
        signal(SIGINT, SIG_DFL)
    }

    private func interrupt() {
        let second = lock.withLock {
            defer { stopRequested = true }
            return stopRequested
        }
        if second { _exit(ExitStatus.interrupted) }
        Standard.error("Stopping after the chunk being committed; press Ctrl-C again to stop at once.")
    }
}
