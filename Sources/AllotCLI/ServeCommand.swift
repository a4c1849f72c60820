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
    @Option(help: "The port to listen on.")
    var port = 8080

    func validate() throws {
        guard (1...65_535).contains(port) else { throw ValidationError("--port must be 1 to 65535") }
    }

    func run() async throws {
        let engine = try await global.openEngine(creatingDatabase: true)
        let host = host
        try await runServer(host: host, port: port, engine: engine) { bound in
            Standard.error("allot: serving the HTTP API on http://\(host):\(bound) (SIGTERM or Ctrl-C stops it gracefully)")
        }
    }
}
