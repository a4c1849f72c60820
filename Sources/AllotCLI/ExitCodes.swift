import AllotCore
import AllotStore
import AllotViews
import AppleAppsAndBooks
import AppleSimulator
import ArgumentParser
import Foundation

/// The exit codes of the CLI contract, and the one place that turns an error into a sentence on
/// stderr and a code.
enum ExitStatus {
    /// Everything asked was done.
    static let done: Int32 = 0
    /// Refused or failed; nothing changed.
    static let refused: Int32 = 1
    /// The command line was wrong.
    static let usage: Int32 = 2
    /// A batch committed but some of its items failed.
    static let partial: Int32 = 3
    /// Done, but Apple needs attention: a push that could not deliver (every token paused,
    /// operations given up) or a sync that found no usable token or an over-allocation.
    static let appleAttention: Int32 = 4
    /// Stopped by Ctrl-C between chunks of a roll-out; what committed is summarised (128 + SIGINT,
    /// as shells report it).
    static let interrupted: Int32 = 130

    /// Whether `--json` was given: errors are then also one JSON object on stdout. Set by
    /// `main` from the command line, since an error may come before any command parsed it.
    nonisolated(unsafe) static var jsonRequested = false

    /// Prints what went wrong (nothing for a bare exit code, whose command already spoke) and
    /// returns the exit code.
    static func report(_ error: any Error) -> Int32 {
        if let exit = error as? ExitCode { return exit.rawValue }
        let parsed = AllotCommand.exitCode(for: error)
        if parsed == .success && !(error is AllotError || error is CLIError) {
            Standard.output(HelpLayout.globalOptionsLast(AllotCommand.fullMessage(for: error)))
            return done
        }
        let (code, message, status) = describe(error, parsed: parsed)
        Standard.error(message)
        if jsonRequested {
            // One object, the one the HTTP API answers (ErrorView); a usage error's message is
            // its one sentence, and how the command is used goes in `usage`.
            let view = status == usage
                ? ErrorView(code: code, message: UsageText.sentence(for: error), usage: UsageText.usage())
                : ErrorView(code: code, message: message)
            Standard.output(String(decoding: view.json, as: UTF8.self))
        }
        return status
    }

    /// The HTTP API's error code, the sentence for people, and the exit code of an error.
    private static func describe(_ error: any Error, parsed: ExitCode) -> (code: String, message: String, status: Int32) {
        switch error {
        case let refusal as AllotError:
            return (refusal.code.rawValue, sentence(CLIAdvice.message(for: refusal)), refused)
        case let refusal as CLIError:
            return ("invalid_input", sentence(refusal.message), refused)
        case let failure as SQLiteError:
            return (failure.isBusy ? "conflict" : "internal", sentence(databaseAdvice(failure)), refused)
        case let failure as PostgresFailure where LedgerFailure.isRetryable(failure):
            // The HTTP API's 503: nothing committed, the same command may be run again.
            return (AllotError.Code.unavailable.rawValue,
                    sentence("the PostgreSQL ledger could not be reached or stayed busy (\(failure.message)); nothing was changed, run the same command again in a moment"),
                    refused)
        case let simulator as AppleSimulatorError:
            return ("apple", sentence("the simulator refused: \(simulator.description); nothing was changed"), refused)
        case let apple as AppleServiceError:
            return ("apple", sentence("Apple's service refused the request (\(apple)); nothing was changed, check the token and try again"), refused)
        default:
            break
        }
        if parsed == .validationFailure {
            let message = CommandLineWords.usageHint(CommandLineWords.globalOptionsMovedLast(Array(CommandLine.arguments.dropFirst()))) ?? AllotCommand.fullMessage(for: error)
            return ("invalid_input", message, usage)
        }
        return ("internal", sentence("\(error)"), refused)
    }

    /// One sentence: a capital first letter, a full stop at the end.
    static func sentence(_ text: String) -> String {
        var text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let first = text.first, first.isLowercase { text = first.uppercased() + text.dropFirst() }
        if let last = text.last, !".!?".contains(last) { text += "." }
        return text
    }

    private static func databaseAdvice(_ failure: SQLiteError) -> String {
        if failure.isBusy {
            return "the database is busy with another writer (\(failure.message)); nothing was changed, try again in a moment"
        }
        return "the database failed (\(failure.message)); nothing was changed, check --db (or $ALLOT_DB) names a writable file"
    }
}

/// A refusal decided by the CLI itself (a file that cannot be read, an empty selection): one
/// sentence saying what was wrong and what to do. Exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// stdout and stderr, written whole, line by line.
enum Standard {
    static func output(_ text: String) {
        FileHandle.standardOutput.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }

    static var errorIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }
}
