import ArgumentParser

/// `allot demo`: the whole story on a fresh machine, in a temporary folder, with the simulator.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The whole story in a temporary folder with the built-in simulator: pools, a roster, batches, Apple Configurator, take-over, renewal, removal."
    )

    func run() async throws {
        throw CLIError("the demo is not part of this build yet")
    }
}
