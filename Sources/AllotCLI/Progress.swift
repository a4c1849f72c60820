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
