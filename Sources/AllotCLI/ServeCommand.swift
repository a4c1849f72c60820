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
        throw CLIError("the HTTP API is not part of this build yet")
    }
}
