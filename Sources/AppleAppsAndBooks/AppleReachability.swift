/// A failure of a client of Apple's service that knows whether Apple was reached at all: a
/// connection refused or a call that timed out never reached it; an answer that was not
/// Apple's JSON did. The engine tells its users "Apple could not be reached" only for the
/// first kind, whatever client (HTTP, or another) raised it, without knowing the client.
public protocol AppleReachabilityFailure: Error, CustomStringConvertible {
    /// False when no answer came back from Apple's side: no connection, or none in time.
    var reachedApple: Bool { get }
}
