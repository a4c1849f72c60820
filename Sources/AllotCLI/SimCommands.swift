import AllotCore
import AppleAppsAndBooks
import AppleSimulator
import ArgumentParser
import Foundation

/// `allot sim …`: drive the built-in simulator of Apple's service.
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "The built-in simulator of Apple's Apps and Books service: create locations, act as another server, change counts.",
        subcommands: []
    )
}
