import Foundation
import TestDeadlines
import Testing

/// `docs/man/allot.1` is shipped with the source; these tests hold it to the command tree the
/// built binary describes (`allot --experimental-dump-help`, the argument parser's own dump, which
/// its `generate-manual` tool reads too).
@Suite(.timeLimit(.minutes(5))) struct ManPageTests {
    static let page = DocumentedExamples.repository.appendingPathComponent("docs/man/allot.1")
    /// swift-argument-parser's tool, built beside `allot` by `swift build --build-tests`.
    static let generator = URL(fileURLWithPath: AllotBinary.path).deletingLastPathComponent().appendingPathComponent("generate-manual").path

    /// The displayed commands in the order of the tree (a command, then its subcommands), and
    /// every long option name.
    static func commandTree() async throws -> (commands: [String], options: Set<String>) {
        let dump = try await Workspace().run("--experimental-dump-help")
        try #require(dump.status == 0, "\(dump)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
        var commands: [String] = []
        var options: Set<String> = []
        func walk(_ command: [String: Any]) {
            for argument in command["arguments"] as? [[String: Any]] ?? [] where argument["shouldDisplay"] as? Bool != false {
                for name in argument["names"] as? [[String: Any]] ?? [] where name["kind"] as? String == "long" {
                    if let text = name["name"] as? String { options.insert(text) }
                }
            }
            for sub in command["subcommands"] as? [[String: Any]] ?? [] where sub["shouldDisplay"] as? Bool != false {
                commands.append(sub["commandName"] as? String ?? "?")
                walk(sub)
            }
        }
        walk(try #require(root["command"] as? [String: Any]))
        return (commands, options)
    }

    @Test func theManPageListsEveryCommandInOrderAndEveryOption() async throws {
        let page = try String(contentsOf: Self.page, encoding: .utf8)
        let (commands, options) = try await Self.commandTree()
        #expect(commands.count >= 40, "the tree has its commands: \(commands)")
        for command in ["assign", "revoke", "inspect", "serve", "demo"] { #expect(commands.contains(command)) }
        // A command with an alias is listed as `"licences-low, licenses-low"`: its name first.
        let listed = page.split(separator: "\n").filter { $0.hasPrefix(".It Em ") }.map { line in
            String(line.dropFirst(".It Em ".count).trimmingCharacters(in: CharacterSet(charactersIn: "\"")).split(separator: ",").first ?? "")
        }
        #expect(listed == commands, "docs/man/allot.1 is out of date; regenerate it (docs/cli.md, the man page)")
        for option in options.sorted() {
            // `.It Fl -db Ar path`, or after a short name: `.It Fl h , -help`.
            #expect(page.contains(".It Fl -\(option)") || page.contains(" , -\(option)"), "docs/man/allot.1 does not describe --\(option)")
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: ManPageTests.generator), "generate-manual is built beside allot"))
    func theManPageIsWhatGenerateManualWritesNow() async throws {
        let workspace = try Workspace()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.generator)
        process.arguments = [AllotBinary.path, "--output-directory", workspace.folder.path, "--authors", "The allot authors"]
        try process.runOneAtATime()
        await process.endedOrKilled()
        #expect(process.terminationStatus == 0)
        // The date line is the day it was generated.
        func body(_ text: String) -> [Substring] { text.split(separator: "\n").filter { !$0.hasPrefix(".Dd ") } }
        let fresh = try String(contentsOf: workspace.folder.appendingPathComponent("allot.1"), encoding: .utf8)
        let shipped = try String(contentsOf: Self.page, encoding: .utf8)
        #expect(body(fresh) == body(shipped), "docs/man/allot.1 is out of date; regenerate it (docs/cli.md, the man page)")
    }
}
