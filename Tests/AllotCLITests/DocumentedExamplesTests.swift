import Foundation
import TestDeadlines
import Testing

/// The documents show what `allot` prints; this suite runs what they show and compares, so a
/// changed output fails until the document is updated (the way `trycmd` checks a README).
///
/// The convention, in README.md and docs/cli.md: a fenced block marked ```` ```console ```` holds
/// commands and their output. A line `$ COMMAND` is run by `/bin/sh -c` in a temporary folder
/// (the document's `/tmp/allot-walk`, with `examples/` beside it), the built `allot` first on
/// `PATH`; the lines after it, up to the next `$` line or the end of the block, are its output
/// (standard output and standard error together). In expected output `[..]` matches any text
/// within a line and a line `...` matches any number of lines. A `# … exit N` comment on the
/// command says its exit status; without one it must be 0. `$ export NAME=VALUE …` sets
/// variables for the commands after it. Blocks marked ```` ```sh ```` are not run. The blocks of
/// one document run in order, in one folder, as a reader would type them.
@Suite(.timeLimit(.minutes(5))) struct DocumentedExamplesTests {
    // About 40 commands: 5 to 7 s alone, 52 s beside the other CLI suites on 2 shared cores.
    @Test(.timeLimit(.minutes(5)))
    func readmeWalkthroughPrintsWhatItSays() async throws {
        let examples = try DocumentedExamples(document: "README.md")
        #expect(examples.commands.count >= 10, "README.md should show its walkthrough in console blocks")
        try await examples.runAndCompare()
    }

    @Test(.timeLimit(.minutes(5)))
    func cliReferenceExamplesPrintWhatTheySay() async throws {
        let examples = try DocumentedExamples(document: "docs/cli.md")
        #expect(examples.commands.count >= 3, "docs/cli.md should show examples in console blocks")
        try await examples.runAndCompare()
    }

    /// The README is for users and the documents are for their readers: the development log
    /// (rounds, stops, issues, load averages, commit hashes, one machine's paths) lives in git.
    @Test func documentsKeepNoDevelopmentLogAndTheirLinksResolve() throws {
        let readme = try String(contentsOf: DocumentedExamples.repository.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.split(separator: "\n", omittingEmptySubsequences: false).count < 400, "README.md should stay under 400 lines")
        #expect(readme.contains("swift test"), "README.md shows the test command CI runs through .ci/run")
        let folder = DocumentedExamples.repository
        let documents = ["README.md"] + (try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("docs").path))
            .filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
        #expect(documents.count >= 6, "README.md and docs/*.md: \(documents)")
        let logWords = try Regex(#"(?i)\b(stop|issue) [0-9]+\b|round of|load average|/work/"#)
        let commitHash = try Regex(#"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b"#)
        let link = try Regex(#"\]\(([^)#\s]+)(#[^)]*)?\)"#)
        for document in documents {
            let url = folder.appendingPathComponent(document)
            let text = try String(contentsOf: url, encoding: .utf8)
            for match in text.matches(of: logWords) { Issue.record("\(document) keeps the development log: '\(text[match.range])'") }
            for match in text.matches(of: commitHash) { Issue.record("\(document) names a commit: '\(text[match.range])'") }
            for match in text.matches(of: link) {
                guard let target = match.output[1].substring.map(String.init), !target.contains("://") else { continue }
                let resolved = url.deletingLastPathComponent().appendingPathComponent(target).standardized.path
                #expect(FileManager.default.fileExists(atPath: resolved), "\(document) links to \(target), which is not in the repository")
            }
        }
    }

    @Test func expectedOutputPlaceholdersMatchAsDocumented() {
        #expect(OutputPattern.matches(expected: ["a [..] c"], actual: ["a b b c"]))
        #expect(OutputPattern.matches(expected: ["[..] days left)"], actual: ["(123 days left)"]))
        #expect(!OutputPattern.matches(expected: ["a [..] c"], actual: ["a b d"]))
        #expect(OutputPattern.matches(expected: ["first", "...", "last"], actual: ["first", "x", "y", "last"]))
        #expect(OutputPattern.matches(expected: ["first", "...", "last"], actual: ["first", "last"]))
        #expect(!OutputPattern.matches(expected: ["first", "last"], actual: ["first", "x", "last"]))
        #expect(!OutputPattern.matches(expected: ["only"], actual: ["only", "more"]))
    }
}

/// One `$ …` line of a document with the output the document expects.
struct DocumentedCommand {
    let line: Int
    let command: String
    let expectedOutput: [String]

    /// The status a `# … exit N` comment names, else 0.
    var expectedStatus: Int32 {
        guard let hash = command.range(of: " #") else { return 0 }
        let comment = command[hash.upperBound...]
        guard let exit = comment.range(of: "exit ") else { return 0 }
        return Int32(comment[exit.upperBound...].prefix { $0.isNumber }) ?? 0
    }
}

struct DocumentedExamples {
    /// The folder the documents use; the test puts its temporary folder in its place.
    static let documentFolder = "/tmp/allot-walk"
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    let document: String
    let commands: [DocumentedCommand]

    init(document: String) throws {
        self.document = document
        let text = try String(contentsOf: Self.repository.appendingPathComponent(document), encoding: .utf8)
        commands = Self.parse(text)
    }

    static func parse(_ text: String) -> [DocumentedCommand] {
        var commands: [DocumentedCommand] = []
        var inConsole = false, inOtherFence = false
        var current: (line: Int, command: String, output: [String])?
        func finish() {
            if let done = current { commands.append(DocumentedCommand(line: done.line, command: done.command, expectedOutput: done.output)) }
            current = nil
        }
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if inConsole {
                if trimmed == "```" { finish(); inConsole = false; continue }
                if line.hasPrefix("$ ") {
                    finish()
                    current = (index + 1, String(line.dropFirst(2)), [])
                } else {
                    current?.output.append(String(line))
                }
            } else if inOtherFence {
                if trimmed == "```" { inOtherFence = false }
            } else if trimmed == "```console" {
                inConsole = true
            } else if trimmed.hasPrefix("```") {
                inOtherFence = true
            }
        }
        return commands
    }

    /// Runs every command in order in one temporary folder and records a failure for each whose
    /// status or output differs from the document.
    func runAndCompare() async throws {
        let workspace = try Workspace()
        try FileManager.default.createSymbolicLink(
            at: workspace.folder.appendingPathComponent("examples"),
            withDestinationURL: Self.repository.appendingPathComponent("examples"))
        let folder = workspace.folder.path
        var environment = workspace.environment
        environment["ALLOT_DB"] = nil
        let binaries = URL(fileURLWithPath: AllotBinary.path).deletingLastPathComponent().path
        environment["PATH"] = binaries + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["TZ"] = "UTC"

        for example in commands {
            let command = example.command.replacingOccurrences(of: Self.documentFolder, with: folder)
            if command.hasPrefix("export ") {
                for assignment in command.dropFirst("export ".count).split(separator: " ") {
                    let parts = assignment.split(separator: "=", maxSplits: 1)
                    try #require(parts.count == 2, "\(document):\(example.line): export takes NAME=VALUE without spaces")
                    environment[String(parts[0])] = String(parts[1])
                }
                continue
            }
            let (status, output) = try await Self.shell(command, in: workspace.folder, environment: environment)
            let actual = output.replacingOccurrences(of: folder, with: Self.documentFolder)
            let actualLines = Self.lines(actual)
            let expectedLines = Self.lines(example.expectedOutput.joined(separator: "\n"))
            #expect(status == example.expectedStatus,
                    "\(document):\(example.line): `\(example.command)` exited \(status), the document says \(example.expectedStatus)\n\(actual)")
            #expect(OutputPattern.matches(expected: expectedLines, actual: actualLines),
                    "\(document):\(example.line): `\(example.command)` printed\n\(actualLines.joined(separator: "\n"))\nbut the document shows\n\(expectedLines.joined(separator: "\n"))")
        }
    }

    /// Lines without trailing spaces, and without the empty lines at the end.
    static func lines(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            String(line.reversed().drop { $0 == " " }.reversed())
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }

    /// `/bin/sh -c COMMAND`, standard output and standard error into one file, in order. Started
    /// with `posix_spawn` off the pool, like the harness's `allot` runs: Foundation's
    /// `Process.run` crashed the test process (SIGSEGV in its copying) beside other threads.
    static func shell(_ command: String, in folder: URL, environment: [String: String]) async throws -> (Int32, String) {
        let outputPath = folder.appendingPathComponent(".doc-output-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let ending = try await ChildProcessSlots.shared.withSlot {
            try await OffThePool.run {
                try ChildProcess.run("/bin/sh", ["-c", command], environment: environment, directory: folder.path,
                                     standardOutput: outputPath, standardError: nil, secondsMax: TestDeadlines.childProcessSecondsMax)
            }
        }
        let status: Int32
        switch ending {
        case .exited(let code): status = code
        case .signalled(let signal): status = signal
        case .stoppedAfterBound: throw ChildProcessStuck(arguments: ["sh", "-c", command], seconds: TestDeadlines.childProcessSecondsMax)
        }
        let text = String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self)
        return (status, text)
    }
}

/// Expected output against actual output: `[..]` is any text within a line, a line `...` any
/// number of lines.
enum OutputPattern {
    static let anyText = "[..]"
    static let anyLines = "..."

    static func matches(expected: [String], actual: [String]) -> Bool {
        // matched[i][j]: expected[i...] matches actual[j...]. At most a few hundred lines each.
        var matched = Array(repeating: Array(repeating: false, count: actual.count + 1), count: expected.count + 1)
        matched[expected.count][actual.count] = true
        for i in stride(from: expected.count - 1, through: 0, by: -1) {
            for j in stride(from: actual.count, through: 0, by: -1) {
                if expected[i] == anyLines {
                    matched[i][j] = matched[i + 1][j] || (j < actual.count && matched[i][j + 1])
                } else {
                    matched[i][j] = j < actual.count && line(expected[i], matches: actual[j]) && matched[i + 1][j + 1]
                }
            }
        }
        return matched[0][0]
    }

    static func line(_ pattern: String, matches text: String) -> Bool {
        let parts = pattern.components(separatedBy: anyText)
        guard parts.count > 1 else { return pattern == text }
        guard text.hasPrefix(parts[0]), text.dropFirst(parts[0].count).hasSuffix(parts[parts.count - 1]) else { return false }
        var rest = Substring(text).dropFirst(parts[0].count).dropLast(parts[parts.count - 1].count)
        // The first place each middle part occurs: with only "any text" between parts, the
        // leftmost choice never loses a match a later one would find.
        for part in parts.dropFirst().dropLast() where !part.isEmpty {
            guard let found = rest.range(of: part) else { return false }
            rest = rest[found.upperBound...]
        }
        return true
    }
}
