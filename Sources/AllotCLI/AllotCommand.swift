import AllotCore
import ArgumentParser
import Foundation

/// `allot`: the command line of the engine (DESIGN.md, "CLI contract").
@main
struct AllotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allot",
        abstract: "Apple Apps and Books (VPP) licences for many tenants: merged pools, batches by serial number, tokens kept in step with Apple.",
        discussion: """
            Global options on every command: --db PATH or postgres://user@host:port/db (default $ALLOT_DB, else ./allot.sqlite), \
            --key-file PATH (the token key for PostgreSQL, unless $ALLOT_SECRET_KEY), \
            --apple SPEC (default $ALLOT_APPLE; sim:PATH or an https:// URL), --json.
            Global options may come before the command too: allot --json apps --tenant T.
            Exit codes: 0 all done; 1 refused or failed, nothing changed; 2 usage; 3 batch committed but some items failed; \
            4 done, but Apple needs attention (push could not deliver, sync found no usable token or an over-allocation); \
            130 a roll-out stopped by Ctrl-C (what committed is summarised).
            Start with `allot demo`.
            """,
        version: AllotCommand.version,
        subcommands: [
            TenantCommand.self, TokenCommand.self, SyncCommand.self, DevicesCommand.self, UsersCommand.self, SubscriptionsCommand.self, AppsCommand.self,
            AssignCommand.self, RevokeCommand.self, QueueCommand.self, PushCommand.self, EventsCommand.self, WebhooksCommand.self,
            SimCommand.self, ServeCommand.self, DemoCommand.self, DbCommand.self,
        ]
    )

    /// `allot --version`.
    static let version = "0.2.0"

    /// Parses, runs, and maps whatever went wrong to the documented exit codes (ExitCodes.swift).
    static func main() async {
        let code: Int32
        let words = Array(CommandLine.arguments.dropFirst())
        ExitStatus.jsonRequested = words.prefix { $0 != "--" }.contains("--json")
        do {
            var command = try await asyncParseAsRoot(CommandLineWords.globalOptionsMovedLast(words))
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            code = ExitStatus.done
        } catch {
            await CLIAdvice.learn(about: error)
            code = ExitStatus.report(error)
        }
        Foundation.exit(code)
    }
}

/// The order of a command's help: the parser prints titled option groups before the untitled
/// OPTIONS section, but a reader of `allot assign --help` looks for assign's own options first,
/// so the "Global options" group (the same four on every command) moves after them.
enum HelpLayout {
    static let globalHeader = "GLOBAL OPTIONS:"

    static func globalOptionsLast(_ help: String) -> String {
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // A section runs from its header (a capitalised line ending in ':', at the margin) to
        // the next header; its blank lines at the end are dropped and put back between sections.
        func isHeader(_ line: String) -> Bool {
            line.hasSuffix(":") && line.first?.isLetter == true && line == line.uppercased()
        }
        func section(from start: Int) -> Range<Int> {
            var end = lines[(start + 1)...].firstIndex(where: isHeader) ?? lines.endIndex
            while end > start + 1, lines[end - 1].isEmpty { end -= 1 }
            return start..<end
        }
        guard let global = lines.firstIndex(of: globalHeader) else { return help }
        let globalLines = section(from: global)
        guard let following = lines[globalLines.upperBound...].firstIndex(where: isHeader) else { return help }
        let followingLines = section(from: following)
        let after = lines[followingLines.upperBound...].drop { $0.isEmpty }
        var result = Array(lines[..<global])
        result += lines[followingLines] + [""] + lines[globalLines]
        if !after.isEmpty { result += [""] + after } else if lines.last?.isEmpty == true { result.append("") }
        return result.joined(separator: "\n")
    }
}

/// The command line before the argument parser sees it.
enum CommandLineWords {
    /// `allot --json apps --tenant T`, as `git` and `kubectl` users type it: the global options
    /// written before the command move after it, where every command's `GlobalOptions` parses
    /// them (the parser reads options only on the command that declares them). Before a `--`,
    /// so they never become positional arguments.
    static func globalOptionsMovedLast(_ words: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < words.count {
            let word = words[index]
            if word == "--json" {
                leading.append(word)
                index += 1
            } else if word == "--db" || word == "--apple" {
                leading.append(contentsOf: words[index..<min(words.count, index + 2)])
                index += 2
            } else if word.hasPrefix("--db=") || word.hasPrefix("--apple=") {
                leading.append(word)
                index += 1
            } else {
                break
            }
        }
        guard !leading.isEmpty, index < words.count else { return words }
        var rest = Array(words[index...])
        rest.insert(contentsOf: leading, at: rest.firstIndex(of: "--") ?? rest.endIndex)
        return rest
    }
}

extension CommandLineWords {
    /// The value of `--tenant` (or `--tenant=`) before any `--`, as typed.
    static func tenant(in words: some Collection<String>) -> String? {
        var found: String?
        var previous: String?
        for word in words.prefix(while: { $0 != "--" }) {
            if previous == "--tenant" { found = word }
            if word.hasPrefix("--tenant=") { found = String(word.dropFirst("--tenant=".count)) }
            previous = word
        }
        return found
    }

    /// A sharper sentence for a command line the parser refused: an unknown command with the
    /// nearest known one (`allot asign`), or the unknown option named (`--tennant`), which the
    /// parser would otherwise hide behind "Missing --tenant".
    static func usageHint(_ words: [String]) -> String? {
        var command: any ParsableCommand.Type = AllotCommand.self
        var path = ["allot"]
        var index = 0
        while index < words.count {
            let word = words[index]
            let subcommands = command.configuration.subcommands
            guard !word.hasPrefix("-"), !subcommands.isEmpty, word != "help" else { break }
            guard let next = subcommands.first(where: { $0._commandName == word }) else {
                let near = nearest(word, among: subcommands.map { $0._commandName })
                return "Unknown command '\(Text.printable(word))'" + (near.map { "; did you mean `\(path.joined(separator: " ")) \($0)`?" } ?? ".")
                    + " See `\(path.joined(separator: " ")) --help`."
            }
            command = next
            path.append(word)
            index += 1
        }
        let help = AllotCommand.helpMessage(for: command)
        let known = Set(optionNames(in: help)).union(["--help", "--version", "--json", "--db", "--apple"])
        for word in words[index...].prefix(while: { $0 != "--" }) where word.hasPrefix("--") {
            let name = String(word.prefix { $0 != "=" })
            guard !known.contains(name) else { continue }
            // `revoke --queue`: an option of a sibling command is named with its command.
            if path.count == 2, let sibling = AllotCommand.configuration.subcommands.first(where: { other in
                other._commandName != path.last && optionNames(in: AllotCommand.helpMessage(for: other)).contains(name)
            }) {
                return "\(Text.printable(name)) is an option of `allot \(sibling._commandName)`, not of `\(path.joined(separator: " "))`."
                    + " See `\(path.joined(separator: " ")) --help`."
            }
            let near = nearest(name, among: Array(known))
            return "Unknown option '\(Text.printable(name))' for `\(path.joined(separator: " "))`" + (near.map { "; did you mean \($0)?" } ?? ".")
                + " See `\(path.joined(separator: " ")) --help`."
        }
        return nil
    }

    /// The `--long` option names a help text shows.
    private static func optionNames(in help: String) -> [String] {
        var names: [String] = []
        var scalars = Substring(help)
        while let start = scalars.range(of: "--") {
            let rest = scalars[start.upperBound...]
            let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "-" }
            if !name.isEmpty { names.append("--" + name) }
            scalars = rest.dropFirst(name.count)
        }
        return names
    }

    /// The candidate within a small edit distance of `word`, if one is clearly nearest.
    static func nearest(_ word: String, among candidates: [String]) -> String? {
        NearestName.nearest(word, among: candidates)
    }
}
