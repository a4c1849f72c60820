import Hummingbird
import Synchronization

/// The paths the router serves and their methods, recorded once the routes are added, so an
/// answer can say 405 (and which methods) for a known path asked with the wrong method.
final class RouteTable: Sendable {
    /// Path patterns as segments, `{name}` matching any one segment, with their methods.
    private let routes = Mutex<[(segments: [Substring], method: String)]>([])

    func record(_ served: [(method: HTTPRequest.Method, path: String)]) {
        routes.withLock { table in
            table = served.map { (segments: $0.path.split(separator: "/"), method: $0.method.rawValue) }
        }
    }

    /// The methods of every route whose pattern matches `path`, sorted; empty for an unknown path.
    func methods(forPath path: String) -> [String] {
        let segments = path.split(separator: "/")
        let methods = routes.withLock { table in
            table.filter { Self.matches($0.segments, segments) }.map(\.method)
        }
        return Set(methods).sorted()
    }

    private static func matches(_ pattern: [Substring], _ segments: [Substring]) -> Bool {
        guard pattern.count == segments.count else { return false }
        return zip(pattern, segments).allSatisfy { $0.first == "{" && $0.last == "}" || $0 == $1 }
    }
}
