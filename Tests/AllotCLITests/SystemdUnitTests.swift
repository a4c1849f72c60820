import Foundation
import TestDeadlines
import Testing

/// `deploy/allot.service` is checked by systemd itself where systemd is installed: a misspelt
/// key is only a warning at boot ("Unknown key … ignoring"), and a hardening line ignored that
/// way would leave the service unprotected without anyone noticing.
@Suite(.timeLimit(.minutes(5))) struct SystemdUnitTests {
    static let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: analyze != nil, "systemd-analyze is not installed here; deploy/allot.service is not verified"),
          .timeLimit(.minutes(5)))
    func deployedUnitVerifiesWithoutWarnings() async throws {
        let analyze = try #require(Self.analyze)
        let unit = try String(contentsOf: DocumentedExamples.repository.appendingPathComponent("deploy/allot.service"), encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/local/bin/allot serve "), "the unit runs the installed allot")
        #expect(unit.contains("--drain-seconds 20"))
        #expect(unit.contains("TimeoutStopSec=30"), "the drain must end before systemd's stop timeout")

        // The verifier checks that ExecStart's program exists: point it at the built binary.
        let workspace = try Workspace()
        let copy = try workspace.write("allot.service", unit.replacingOccurrences(of: "/usr/local/bin/allot", with: AllotBinary.path))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: analyze)
        process.arguments = ["verify", copy]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.runOneAtATime()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        await process.endedOrKilled()
        #expect(process.terminationStatus == 0, "systemd-analyze verify failed:\n\(text)")
        // Lines about other units on this host are not ours to judge.
        let ours = text.split(separator: "\n").filter { $0.contains("allot.service") }
        #expect(ours.isEmpty, "systemd-analyze warns about the unit:\n\(ours.joined(separator: "\n"))")
    }
}
