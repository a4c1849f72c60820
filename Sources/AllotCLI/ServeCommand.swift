import AllotServer
import ArgumentParser

/// `allot serve`: the HTTP API and the outbox worker.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API and run the outbox worker."
    )
    @OptionGroup var global: GlobalOptions
    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"
    @Option(help: "The port to listen on (0: any free port, printed once bound).")
    var port = 8080
    @Option(help: ArgumentHelp("On SIGTERM or SIGINT, wait at most this long for Apple calls and HTTP requests in flight.", valueName: "seconds"))
    var drainSeconds = 10.0
    @OptionGroup var log: LogOptions

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        guard drainSeconds >= 0 && drainSeconds <= ShutdownLimits.drainSecondsMax else {
            throw ValidationError("--drain-seconds must be 0 to \(Int(ShutdownLimits.drainSecondsMax))")
        }
    }

    func run() async throws {
        let logger = log.bootstrap()
        let engine = try await global.openEngine(creatingDatabase: true)
        let host = host
        try await runServer(host: host, port: port, engine: engine, shutdown: ShutdownSettings(drainSeconds: drainSeconds), logger: logger) { bound in
            Standard.error("allot: serving the HTTP API on http://\(host):\(bound) (SIGTERM or Ctrl-C stops it gracefully)")
        }
    }
}

enum ShutdownLimits {
    /// A stop that waits longer than this is not graceful: service managers kill after ~90 s.
    static let drainSecondsMax = 60.0
}
