import AppleAppsAndBooks
import DedicatedThread
import Foundation

/// A faithful stand-in for Apple's Apps and Books service (APPLE.md), its state in one SQLite
/// file (its own schema, `Storage/SimulatorSchema.swift`).
///
/// Several instances, in one process or in several (`allot sim serve`, CLI `sim` commands), may
/// share a file: every call is one `BEGIN IMMEDIATE` transaction that reads and writes only the
/// rows it touches, so a fleet of a thousand locations and a million assignments costs a call
/// no more than a handful of rows.
///
/// Choices where Apple is silent or the simulator simplifies:
/// - Writes are asynchronous as at Apple: associate / disassociate / revoke only record an event;
///   the effect applies once, when the event completes (see `SimulatorState+Events.swift`).
/// - The Bearer string is compared with the location's current token file, never decoded; a
///   renewed token's old string answers 9601 at once.
/// - An asset the location does not hold refuses the whole write with 9602 (not an item failure).
/// - Associating what is already held, or disassociating what is not, counts as completed.
///   Disassociating a non-revocable asset fails the item with 9706; revoke skips such assets.
/// - `sinceVersionId` answers the assignments added after that version; removals are not
///   listed (Apple's list cannot say "removed"), so a periodic full read finds them.
/// - The request rate is counted per instance, in memory (`RequestRateLimiter`), and enforced
///   unless switched off: the served simulator sees every engine talking to it.
/// - Users and subscriptions (`AppleSimulator+Users.swift`): see docs/design.md, "Users and
///   subscriptions at Apple", for what Apple's pages left open and how the simulator decides.
/// - Not modelled: retired counts, subscription administrators.
public actor AppleSimulator: AppsAndBooksService, AppleUsersService, AppleSubscriptionsService {
    /// Its state is SQLite, whose calls block (and wait out another process's lock): a thread
    /// of its own keeps them off Swift's cooperative pool.
    private let executor = DedicatedThreadExecutor(name: "allot-simulator")
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    public nonisolated let statePath: URL
    private let connection: SimulatorConnection
    private let store: SimulatorStore
    private let rateLimiter = RequestRateLimiter()
    /// The settings as the last transaction left them: latency is read from here.
    private var lastSettings = SimulatorSettings.defaults
    /// The one task sending this instance's due notifications, while there are any.
    var deliveryTask: Task<Void, Never>?
    /// Set while a CLI command waits for its notifications: tries due after it are left queued.
    var finishBy: Date?
    /// What this instance's notification tries came to (`finishNotifications`).
    var deliveryReport = NotificationDeliveryReport()
    /// Told of each notification given up on, as it is (`allot sim serve` logs it).
    var droppedObserver: (@Sendable (NotificationDeliveryReport.Dropped) -> Void)?

    /// Opens an existing state file (written by `initialize`); fails with one sentence if it is
    /// missing, in the old JSON format, or not a simulator state.
    public init(statePath: URL) throws {
        self.statePath = statePath
        self.connection = try StateFile.open(statePath)
        self.store = SimulatorStore(connection: connection)
    }

    /// `allot sim init`: a fresh world from a seed, replacing any state at `statePath`, and
    /// `DIR/<uId>.vpptoken` for every location.
    /// `enforceRequestRate`, when given, wins over the seed's setting: a test that drives the
    /// simulator unpaced, for speed, says so where it makes the simulator.
    public static func initialize(seed: Data, statePath: URL, tokensDirectory: URL,
                                  enforceRequestRate: Bool? = nil) throws -> AppleSimulator {
        var seed = try SimulatorSeed.decode(seed)
        if let enforceRequestRate {
            var settings = seed.settings ?? SimulatorSeed.Settings()
            settings.enforceRequestRate = enforceRequestRate
            seed.settings = settings
        }
        try StateFile.create(statePath) { try seed.write(into: $0) }
        let simulator = try AppleSimulator(statePath: statePath)
        try FileManager.default.createDirectory(at: tokensDirectory, withIntermediateDirectories: true)
        for location in try simulator.readLocations() {
            try writeTokenFile(location, tokensDirectory: tokensDirectory)
        }
        return simulator
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

    /// Every location row, for `initialize` to write the token files (nonisolated: called
    /// before the instance is shared).
    private nonisolated func readLocations() throws -> [SimulatedLocation] {
        let connection = try StateFile.open(statePath)
        let store = SimulatorStore(connection: connection)
        return try store.locationUids().compactMap { try store.location(uId: $0) }
    }

    /// Runs one call as a transaction. Consumed faults and settled events are committed even
    /// when the call then answers an Apple error; only SQLite failing rolls back.
    func transaction<T>(_ body: (SimulatorState) throws -> T) throws -> T {
        try connection.execute("BEGIN IMMEDIATE")
        let state: SimulatorState
        let result: Result<T, any Error>
        do {
            state = try SimulatorState(store: store, rateLimiter: rateLimiter)
            result = Result { try body(state) }
            if case .failure(let error) = result, error is SimulatorSQLiteError { throw error }
            try state.finish()
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
        lastSettings = state.settings
        if state.notificationsQueued { startDelivery() }
        return try result.get()
    }

    /// One of Apple's calls: its transaction on the actor, then the simulated network delay off
    /// it, so N requests in flight all finish after about one delay. Off it, because a call
    /// that slept on the actor resumes there, behind every transaction queued meanwhile: at
    /// 1,000 locations, 669 of 1,000 status answers came in the push's last half second, held
    /// back behind the others' work (measured with `allot-bench --fleet-push 1000`).
    nonisolated func answer<T: Sendable>(_ body: @Sendable (SimulatorState) throws -> T) async throws -> T {
        let (result, delay) = await transactionThenDelay(body)
        try await Self.sleep(delay)
        return try result.get()
    }

    private func transactionThenDelay<T: Sendable>(_ body: (SimulatorState) throws -> T) -> (Result<T, any Error>, Duration) {
        (Result { try transaction(body) }, networkDelay())
    }

    /// The simulated network delay for one answer, from the settings the last call left.
    func networkDelay() -> Duration {
        let latency = lastSettings.latencyMilliseconds
        guard latency > 0 else { return .zero }
        let jitter = lastSettings.jitterMilliseconds
        return .milliseconds(max(0, jitter > 0 ? Int.random(in: (latency - jitter)...(latency + jitter)) : latency))
    }

    /// The delay alone, for an answer that needed no transaction of its own; slept off the
    /// actor like `answer`'s.
    nonisolated func delay() async throws { try await Self.sleep(await networkDelay()) }

    private static func sleep(_ delay: Duration) async throws {
        guard delay > .zero else { return }
        try await Task.sleep(for: delay)
    }

    static func writeRenewedTokenFile(_ location: SimulatedLocation, tokensDirectory: URL) throws -> URL {
        try FileManager.default.createDirectory(at: tokensDirectory, withIntermediateDirectories: true)
        return try writeTokenFile(location, tokensDirectory: tokensDirectory)
    }
}
