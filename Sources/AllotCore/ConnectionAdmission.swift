import Foundation

// Fair connection limits (issue 28, point 2). A single cap on open connections blocks
// everyone: 4,200 idle connections from one client, opened in 14.5 s, made `/healthz` fail
// until the idle reaper ran, and reconnecting every 30 s kept the server down. Three rules,
// decided here without I/O; the server's accept path performs what they return:
//
// - a bound per client address, well below the global cap: one client (one IPv4 address, one
//   IPv6 /64, which is what one subscriber gets) cannot hold more than its share, so filling
//   the server takes `openMax / perAddressMax` addresses, not one;
// - a reserve under the global cap: once the connections open reach `openMax - reserved`, a
//   new one is admitted only provisionally, for one request that is `/healthz` or carries an
//   `Authorization` header, sent within a short time, after which it is closed. Load
//   balancers and clients with a key still get through while anonymous connections are at
//   the cap; a reserve connection is held for one request, never idled on;
// - the global cap itself stays where it was (Hummingbird stops accepting at `openMax`, the
//   rest wait in the listen backlog), so it is not decided here.
//
// The per-address rule is checked first: a client at its bound is refused even in the reserve,
// so the reserve cannot be taken by the client that filled the server.

/// The bounds the decision reads. Counts are of connections, not requests.
public struct ConnectionLimits: Sendable, Hashable {
    /// Connections open at once (the global cap).
    public var openMax: Int
    /// Connections open at once from one client address (see `ConnectionAdmission.clientKey`).
    public var perAddressMax: Int
    /// Connections under `openMax` kept for `/healthz` and requests with a key.
    public var reserved: Int

    public init(openMax: Int, perAddressMax: Int, reserved: Int) {
        precondition(openMax > 0, "a server takes at least one connection")
        precondition(perAddressMax > 0, "a client may open at least one connection")
        precondition(reserved >= 0, "a reserve is not negative")
        precondition(reserved < openMax, "a reserve leaves room for ordinary connections")
        self.openMax = openMax
        self.perAddressMax = perAddressMax
        self.reserved = reserved
    }
}

/// What to do with a connection just accepted.
public enum ConnectionAdmission: Sendable, Hashable {
    /// An ordinary connection.
    case admitted
    /// In the reserve: one request, `/healthz` or with an `Authorization` header, within the
    /// provisional bound; then it is closed.
    case provisional
    /// Closed at once, without a byte read.
    case refused(ConnectionRefusal)

    /// The decision for a new connection, given what is already open (not counting it).
    /// `exemptFromAddressBound` is for a trusted proxy: many clients share its address.
    public static func decide(openFromAddress: Int, openTotal: Int, limits: ConnectionLimits,
                              exemptFromAddressBound: Bool = false) -> ConnectionAdmission {
        precondition(openFromAddress >= 0, "a count is not negative")
        precondition(openTotal >= openFromAddress, "the total counts every address")
        if !exemptFromAddressBound, openFromAddress >= limits.perAddressMax { return .refused(.addressAtBound) }
        // Hummingbird accepts no more than `openMax`, but its count and ours move at slightly
        // different moments (its at accept, ours when the pipeline is set up): a connection
        // that still gets here at or past the cap is treated as in the reserve.
        if openTotal >= limits.openMax - limits.reserved { return .provisional }
        return .admitted
    }

    /// Whether a request may use a provisional connection: `/healthz` (a load balancer's probe)
    /// or any request that presents a key. The key is not checked here (the route does it, and a
    /// wrong one gets its 401 and the connection is closed after it).
    public static func requestMayUseReserve(path: String, hasAuthorization: Bool) -> Bool {
        if hasAuthorization { return true }
        let pathOnly = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? path
        return pathOnly == "/healthz"
    }

    /// The address a client is counted under: an IPv4 address as it is (an IPv4-mapped IPv6
    /// address as its IPv4 one), an IPv6 address by its /64, since one subscriber is given a
    /// whole /64 and could otherwise open its bound from each of 2^64 addresses.
    public static func clientKey(_ address: IPAddress) -> String {
        if address.isV4 { return address.description }
        if address.bytes[0..<10].allSatisfy({ $0 == 0 }), address.bytes[10] == 0xff, address.bytes[11] == 0xff,
           let v4 = IPAddress(bytes: Array(address.bytes[12..<16])) {
            return v4.description
        }
        let prefix = IPAddress(bytes: Array(address.bytes[0..<8]) + Array(repeating: 0, count: 8)).map(\.description) ?? "\(address)"
        return prefix + "/64"
    }
}

/// Why a connection was refused. The raw values appear in the server's log.
public enum ConnectionRefusal: String, Sendable, Hashable, CaseIterable {
    /// Its client address already holds `perAddressMax` connections.
    case addressAtBound = "address_at_bound"
}

/// The client behind a request, when the connection comes from a trusted proxy: the right-most
/// address of `X-Forwarded-For` that is not itself a trusted proxy. Right-most, because every
/// entry left of what the trusted proxies appended was written by the client and can be
/// anything; a client that sends its own `X-Forwarded-For` only adds entries on the left.
public enum ForwardedClient {
    /// `peer` is the connection's address; `forwardedFor` every `X-Forwarded-For` header value
    /// in order. The peer itself when it is not trusted, or when the header names no usable
    /// address (then the proxy is the best that is known).
    public static func resolve(peer: IPAddress, forwardedFor: [String], trustedProxies: [AddressBlock]) -> IPAddress {
        func trusted(_ address: IPAddress) -> Bool { trustedProxies.contains { $0.contains(address) } }
        guard trusted(peer) else { return peer }
        let entries = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        // Bounded by the header's size (the HTTP decoder bounds it).
        for entry in entries.reversed() {
            guard let address = IPAddress(parsing: entry) else { return peer }
            if !trusted(address) { return address }
        }
        return peer
    }
}
