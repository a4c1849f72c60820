import AllotCore
import AllotStore
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

    /// Prints what went wrong (nothing for a bare exit code, whose command already spoke) and
    /// returns the exit code.
    static func report(_ error: any Error) -> Int32 {
        switch error {
        case let exit as ExitCode:
            return exit.rawValue
        case let refusal as AllotError:
            Standard.error(sentence(CLIAdvice.message(for: refusal)))
            return refused
        case let refusal as CLIError:
            Standard.error(sentence(refusal.message))
            return refused
        case let failure as SQLiteError:
            Standard.error(sentence(databaseAdvice(failure)))
            return refused
        case let simulator as AppleSimulatorError:
            Standard.error(sentence("the simulator refused: \(simulator.description); nothing was changed"))
            return refused
        case let apple as AppleServiceError:
            Standard.error(sentence("Apple's service refused the request (\(apple)); nothing was changed, check the token and try again"))
            return refused
        default:
            break
        }
        let parsed = AllotCommand.exitCode(for: error)
        if parsed == .success {
            Standard.output(AllotCommand.fullMessage(for: error))
            return done
        }
        if parsed == .validationFailure {
            Standard.error(AllotCommand.fullMessage(for: error))
            return usage
        }
        Standard.error(sentence("\(error)"))
        return refused
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
