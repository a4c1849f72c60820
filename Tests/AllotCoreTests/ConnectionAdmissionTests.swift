import AllotCore
import Testing

/// Issue 28.2: the rules of which connection is admitted, provisionally admitted or refused,
/// over every count around each bound.
@Suite(.timeLimit(.minutes(5))) struct ConnectionAdmissionTests {
    let limits = ConnectionLimits(openMax: 10, perAddressMax: 3, reserved: 2)

    @Test func everyCountAroundTheBoundsHasOneDecision() {
        for total in 0...12 {
            for fromAddress in 0...min(total, 5) {
                let decision = ConnectionAdmission.decide(openFromAddress: fromAddress, openTotal: total, limits: limits)
                let expected: ConnectionAdmission =
                    fromAddress >= 3 ? .refused(.addressAtBound) : total >= 8 ? .provisional : .admitted
                #expect(decision == expected, "\(fromAddress) from the address, \(total) in all")
            }
        }
    }

    @Test func aClientAtItsBoundIsRefusedEvenInTheReserve() {
        #expect(ConnectionAdmission.decide(openFromAddress: 3, openTotal: 3, limits: limits) == .refused(.addressAtBound))
        #expect(ConnectionAdmission.decide(openFromAddress: 3, openTotal: 9, limits: limits) == .refused(.addressAtBound))
        #expect(ConnectionAdmission.decide(openFromAddress: 2, openTotal: 9, limits: limits) == .provisional)
    }

    @Test func aTrustedProxyIsExemptFromTheAddressBoundButNotFromTheReserve() {
        #expect(ConnectionAdmission.decide(openFromAddress: 7, openTotal: 7, limits: limits, exemptFromAddressBound: true) == .admitted)
        #expect(ConnectionAdmission.decide(openFromAddress: 8, openTotal: 8, limits: limits, exemptFromAddressBound: true) == .provisional)
    }

    @Test func withoutAReserveEveryConnectionUnderTheCapIsOrdinary() {
        let noReserve = ConnectionLimits(openMax: 4, perAddressMax: 4, reserved: 0)
        for total in 0..<4 { #expect(ConnectionAdmission.decide(openFromAddress: 0, openTotal: total, limits: noReserve) == .admitted) }
        // Past the cap only through the skew between Hummingbird's count and ours.
        #expect(ConnectionAdmission.decide(openFromAddress: 0, openTotal: 4, limits: noReserve) == .provisional)
    }

    @Test func onlyHealthzAndKeyedRequestsMayUseTheReserve() {
        #expect(ConnectionAdmission.requestMayUseReserve(path: "/healthz", hasAuthorization: false))
        #expect(ConnectionAdmission.requestMayUseReserve(path: "/healthz?probe=1", hasAuthorization: false))
        #expect(ConnectionAdmission.requestMayUseReserve(path: "/v1/tenants", hasAuthorization: true))
        #expect(ConnectionAdmission.requestMayUseReserve(path: "/openapi.yaml", hasAuthorization: true))
        for path in ["/openapi.yaml", "/metrics", "/healthz/x", "/healthzz", "//healthz", "/", ""] {
            #expect(!ConnectionAdmission.requestMayUseReserve(path: path, hasAuthorization: false), "\(path)")
        }
    }

    @Test func clientsAreCountedByIPv4AddressAndByIPv6Slash64() throws {
        func key(_ text: String) throws -> String { ConnectionAdmission.clientKey(try #require(IPAddress(parsing: text))) }
        #expect(try key("203.0.113.7") == "203.0.113.7")
        #expect(try key("::ffff:203.0.113.7") == "203.0.113.7", "a mapped address is its IPv4 client")
        #expect(try key("2001:db8:1:2:aaaa::1") == key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "one /64 is one client")
        #expect(try key("2001:db8:1:2::1") != key("2001:db8:1:3::1"))
        #expect(try key("2001:db8:1:2::1").hasSuffix("/64"))
    }

    @Test func theForwardedClientIsTheRightMostUntrustedAddress() throws {
        let proxies = [try #require(AddressBlock(parsing: "10.0.0.0/8"))]
        let proxy = try #require(IPAddress(parsing: "10.1.2.3"))
        let stranger = try #require(IPAddress(parsing: "198.51.100.9"))
        func resolve(_ peer: IPAddress, _ header: [String]) -> String {
            ForwardedClient.resolve(peer: peer, forwardedFor: header, trustedProxies: proxies).description
        }
        #expect(resolve(proxy, ["203.0.113.7"]) == "203.0.113.7")
        // What the client wrote itself is left of what the proxies appended: never believed.
        #expect(resolve(proxy, ["1.1.1.1, 203.0.113.7"]) == "203.0.113.7")
        #expect(resolve(proxy, ["1.1.1.1", "203.0.113.7, 10.9.9.9"]) == "203.0.113.7", "a chain of trusted proxies")
        // An untrusted peer's header is ignored.
        #expect(resolve(stranger, ["203.0.113.7"]) == "198.51.100.9")
        // Nothing usable: the proxy is what is known.
        #expect(resolve(proxy, []) == "10.1.2.3")
        #expect(resolve(proxy, ["unknown"]) == "10.1.2.3")
        #expect(resolve(proxy, ["10.9.9.9"]) == "10.1.2.3")
    }
}
