import AllotServer
import ArgumentParser
import Logging

/// `--log-level` and `--log-format` of `allot serve` (issue 12, point 5). The log goes to
/// standard error; standard output keeps what the command prints.
struct LogOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The least severe messages logged: trace, debug, info, notice, warning, error or critical.", valueName: "level"))
    var logLevel: Logger.Level = .info

    @Option(help: ArgumentHelp("text (one line per message) or json (one JSON object per line: time, level, label, message, metadata).", valueName: "format"))
    var logFormat: LogFormat = .text

    /// Makes every logger of the process (the server's, the Apple client's) write this way.
    /// Once per process, as swift-log allows: `allot` runs one command.
    func bootstrap() -> Logger {
        let level = logLevel, format = logFormat
        LoggingSystem.bootstrap { label in AllotLogHandler(label: label, level: level, format: format) }
        return Logger(label: "allot.server")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

extension LogFormat: ExpressibleByArgument {}
