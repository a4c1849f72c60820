import AppleAppsAndBooks
import AppleHTTPClient
import AppleSimulator
import Foundation

/// What `--apple SPEC` (or `ALLOT_APPLE`) names:
/// - `sim:PATH`: the simulator's state file, used in this process;
/// - `http://HOST:PORT/mdm/v2` or `https://vpp.itunes.apple.com/mdm/v2`: Apple's service over HTTP
///   (Apple itself, or a simulator served by `allot sim serve`).
public enum AppleServiceSpec: Equatable, Sendable {
    case simulator(statePath: String)
    case http(baseURL: String)

    /// Parses a spec without opening anything, so a command line can be refused before any work.
    public init(parsing spec: String) throws(AppleServiceSpecError) {
        let trimmed = spec.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("sim:") {
            let path = String(trimmed.dropFirst("sim:".count))
            guard !path.isEmpty else { throw AppleServiceSpecError("sim: needs the simulator's state file, e.g. sim:./sim.json") }
            self = .simulator(statePath: path)
            return
        }
        let lowered = trimmed.lowercased()
        if lowered.hasPrefix("http://") || lowered.hasPrefix("https://") {
            guard let url = URL(string: trimmed), let host = url.host, !host.isEmpty else {
                throw AppleServiceSpecError("\(trimmed) is not a URL with a host")
            }
            self = .http(baseURL: trimmed)
            return
        }
        throw AppleServiceSpecError(
            "--apple takes sim:PATH (the simulator) or an http(s) base URL such as https://vpp.itunes.apple.com/mdm/v2; got \(trimmed.isEmpty ? "nothing" : "'\(trimmed)'")")
    }
}

/// The one place that turns an `--apple` spec into a service. Extend it here when a new kind of
/// client arrives. Over HTTP, the connections to Apple are as many as the engine's calls in
/// flight (`EngineSettings.appleCallsInFlightMax`), so that every lane's call can be on the
/// wire at once.
public func makeAppleService(spec: String, callsInFlightMax: Int = AppleCallCapacity.callsInFlightDefault, timeout: Duration = .seconds(30)) throws -> any AppsAndBooksService {
    try makeAppleService(spec: try AppleServiceSpec(parsing: spec), callsInFlightMax: callsInFlightMax, timeout: timeout)
}

public func makeAppleService(spec: AppleServiceSpec, callsInFlightMax: Int = AppleCallCapacity.callsInFlightDefault, timeout: Duration = .seconds(30)) throws -> any AppsAndBooksService {
    switch spec {
    case .simulator(let statePath): return try openSimulatorState(statePath)
    case .http(let baseURL):
        return AppleHTTPClient(baseURL: baseURL, httpClient: PooledHTTPClient.forCalls(inFlightMax: callsInFlightMax), timeout: timeout)
    }
}

/// The same service as `makeAppleService`, with Apple's user and subscription calls too: the HTTP
/// client and the simulator answer both.
public func makeAppleFullService(spec: String, callsInFlightMax: Int = AppleCallCapacity.callsInFlightDefault,
                                 timeout: Duration = .seconds(30)) throws -> any AppleFullService {
    switch try AppleServiceSpec(parsing: spec) {
    case .simulator(let statePath): return try openSimulatorState(statePath)
    case .http(let baseURL):
        return AppleHTTPClient(baseURL: baseURL, httpClient: PooledHTTPClient.forCalls(inFlightMax: callsInFlightMax), timeout: timeout)
    }
}

/// The simulator on an existing state file; a missing one is refused with how to make it
/// (the simulator itself would start from nothing, which hides a mistyped path).
public func openSimulatorState(_ path: String) throws -> AppleSimulator {
    guard FileManager.default.fileExists(atPath: path) else {
        throw AppleServiceSpecError("there is no simulator state at '\(path)'; create one with `allot sim init --seed SEED.json --state \(path) --tokens-dir DIR`")
    }
    return try AppleSimulator(statePath: URL(fileURLWithPath: path))
}

/// A `--apple` value that names no service.
public struct AppleServiceSpecError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
