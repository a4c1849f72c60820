import AppleAppsAndBooks
import AppleSimulator
import ArgumentParser
import Foundation

/// What `--apple SPEC` names: the built-in simulator on a state file, or an HTTP base URL
/// (Apple's API, or a simulator served with `allot sim serve`).
enum AppleServiceSpec: Equatable {
    case simulator(statePath: String)
    case http(baseURL: URL)

    init(parsing text: String) throws {
        if text.hasPrefix("sim:") {
            let path = String(text.dropFirst(4))
            guard !path.isEmpty else { throw ValidationError("--apple sim:PATH needs the simulator's state file after 'sim:'") }
            self = .simulator(statePath: path)
            return
        }
        if text.hasPrefix("https://") || text.hasPrefix("http://"), let url = URL(string: text), url.host != nil {
            self = .http(baseURL: url)
            return
        }
        throw ValidationError("--apple '\(text)' is not understood; use sim:PATH for the built-in simulator or an https:// URL for Apple's service")
    }
}

/// The one place that turns an `--apple` spec into a service. Extend it here when a new kind of
/// client arrives.
func makeAppleService(spec: AppleServiceSpec) async throws -> any AppsAndBooksService {
    switch spec {
    case .simulator(let statePath):
        return try SimulatorFile.open(statePath)
    case .http(let baseURL):
        throw CLIError("the HTTP client for Apple's service (\(baseURL.absoluteString)) is not part of this build yet; use --apple sim:PATH")
    }
}
