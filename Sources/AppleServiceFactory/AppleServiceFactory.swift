import AppleAppsAndBooks
import AppleHTTPClient
import AppleSimulator
import Foundation

/// What `--apple SPEC` (or `ALLOT_APPLE`) names:
/// - `sim:PATH`: the simulator's state file, used in this process;
/// - `http://HOST:PORT/mdm/v2` or `https://vpp.itunes.apple.com/mdm/v2`: Apple's service over HTTP
///   (Apple itself, or a simulator served by `allot sim serve`).
public func makeAppleService(spec: String, timeout: Duration = .seconds(30)) throws -> any AppsAndBooksService {
    let trimmed = spec.trimmingCharacters(in: .whitespacesAndNewlines)
    if trimmed.hasPrefix("sim:") {
        let path = String(trimmed.dropFirst("sim:".count))
        guard !path.isEmpty else { throw AppleServiceSpecError("sim: needs the simulator's state file, e.g. sim:./sim.json") }
        return try AppleSimulator(statePath: URL(fileURLWithPath: path))
    }
    let lowered = trimmed.lowercased()
    if lowered.hasPrefix("http://") || lowered.hasPrefix("https://") {
        guard let url = URL(string: trimmed), let host = url.host, !host.isEmpty else {
            throw AppleServiceSpecError("\(trimmed) is not a URL with a host")
        }
        return AppleHTTPClient(baseURL: trimmed, timeout: timeout)
    }
    throw AppleServiceSpecError(
        "--apple takes sim:PATH (the simulator) or an http(s) base URL such as https://vpp.itunes.apple.com/mdm/v2; got \(trimmed.isEmpty ? "nothing" : "'\(trimmed)'")")
}

/// A `--apple` value that names no service.
public struct AppleServiceSpecError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
