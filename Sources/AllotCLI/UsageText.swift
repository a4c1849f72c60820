import ArgumentParser

/// A refused command line as the `--json` error publishes it: the sentence on one line, and how
/// the command is used in a field of its own. People read both on stderr as the parser prints
/// them; a script reads `message` as one sentence, without "Error:" and "Usage:" lines in it.
enum UsageText {
    /// The command line as parsed: the global options moved after the command.
    private static var words: [String] {
        CommandLineWords.globalOptionsMovedLast(Array(CommandLine.arguments.dropFirst()))
    }

    /// The sharper hint when there is one (an unknown command or option), else the parser's
    /// own message without its "Error:" prefix; one line, one sentence.
    static func sentence(for error: any Error) -> String {
        ExitStatus.sentence(oneLine(CommandLineWords.usageHint(words) ?? AllotCommand.message(for: error)))
    }

    /// The usage line of the deepest command the words name (`allot` itself for an unknown one).
    static func usage() -> String {
        var usage = oneLine(AllotCommand.usageString(for: CommandLineWords.command(in: words)))
        for prefix in ["Usage: ", "USAGE: "] where usage.hasPrefix(prefix) { usage.removeFirst(prefix.count) }
        return usage
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}

extension CommandLineWords {
    /// The deepest subcommand the leading words name: `assign` for `assign --tenant t`,
    /// `queue list` for `queue list`, the root for an unknown command.
    static func command(in words: [String]) -> any ParsableCommand.Type {
        var command: any ParsableCommand.Type = AllotCommand.self
        for word in words {
            guard !word.hasPrefix("-"),
                  let next = command.configuration.subcommands.first(where: { $0._commandName == word || $0.configuration.aliases.contains(word) })
            else { break }
            command = next
        }
        return command
    }
}
