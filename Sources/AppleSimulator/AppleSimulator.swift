import AppleAppsAndBooks
import Foundation

/// A faithful stand-in for Apple's Apps and Books service (APPLE.md), its state in one JSON file.
///
/// Several instances, in one process or in several (`allot sim …` commands), may share a file:
/// every call locks it, re-reads it, and writes it back atomically when anything changed.
///
/// Choices where Apple is silent or the simulator simplifies:
/// - Writes are asynchronous as at Apple: associate / disassociate / revoke only record an event;
///   the effect applies once, when the event completes (see `SimulatorState+Events.swift`).
/// - The Bearer string is compared with the location's current token file, never decoded; a
///   renewed token's old string answers 9601 at once.
/// - An asset the location does not hold refuses the whole write with 9602 (not an item failure).
/// - Associating what is already held, or disassociating what is not, counts as completed.
///   Disassociating a non-revocable asset fails the item with 9706; revoke skips such assets.
/// - Not modelled: assignment to users (`clientUserIds` answer 9602), `sinceVersionId` (ignored),
///   request rate limits (only injected 429s), notifications, retired counts, maintenance mode.
public actor AppleSimulator: AppsAndBooksService {
    public nonisolated let statePath: URL
    private let file: StateFile

    /// Opens an existing state file (written by `initialize`); fails if it is missing or unreadable.
    public init(statePath: URL) throws {
        self.statePath = statePath
        self.file = StateFile(url: statePath)
        _ = try file.load()
    }

    /// `allot sim init`: a fresh world from a seed, replacing any state at `statePath`, and
    /// `DIR/<uId>.vpptoken` for every location.
    public static func initialize(seed: Data, statePath: URL, tokensDirectory: URL) throws -> AppleSimulator {
        let state = try SimulatorSeed.decode(seed).makeState()
        try FileManager.default.createDirectory(at: tokensDirectory, withIntermediateDirectories: true)
        for location in state.locations {
            try writeTokenFile(location, tokensDirectory: tokensDirectory)
        }
        try StateFile(url: statePath).create(state)
        return try AppleSimulator(statePath: statePath)
    }

    public static func initialize(seed: URL, statePath: URL, tokensDirectory: URL) throws -> AppleSimulator {
        try initialize(seed: Data(contentsOf: seed), statePath: statePath, tokensDirectory: tokensDirectory)
    }

    /// Where `initialize` and `renewToken` put a location's token file.
    public static func tokenFileURL(location uId: String, tokensDirectory: URL) -> URL {
        tokensDirectory.appendingPathComponent("\(uId).vpptoken")
    }

    @discardableResult
    private static func writeTokenFile(_ location: SimulatedLocation, tokensDirectory: URL) throws -> URL {
        let url = tokenFileURL(location: location.uId, tokensDirectory: tokensDirectory)
        // Exactly the Base64 string, no newline, like the file Apple's portal hands out.
        try Data(location.currentToken.utf8).write(to: url, options: .atomic)
        return url
    }

    /// Runs one call as a transaction on the state file.
    func transaction<T>(_ body: (inout SimulatorState) throws -> T) throws -> T {
        try file.transaction(body)
    }

    static func writeRenewedTokenFile(_ location: SimulatedLocation, tokensDirectory: URL) throws -> URL {
        try FileManager.default.createDirectory(at: tokensDirectory, withIntermediateDirectories: true)
        return try writeTokenFile(location, tokensDirectory: tokensDirectory)
    }
}
