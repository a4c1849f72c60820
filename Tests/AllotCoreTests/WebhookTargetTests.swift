import AllotCore
import Testing

/// Issue 28.3: the rules of where a webhook may post, on every spelling of an inside address
/// the issue tried (and a few more the C resolver accepts).
@Suite(.timeLimit(.minutes(5))) struct WebhookTargetTests {
    func target(_ url: String) throws -> WebhookTarget { WebhookTarget(try WebhookURL(parsing: url)) }

    func rule(_ url: String, policy: WebhookTargetPolicy = WebhookTargetPolicy(allowHTTP: true)) throws -> WebhookTargetRule? {
        guard case .refused(let rule, _) = try target(url).decideWithoutDNS(policy: policy) else { return nil }
        return rule
    }

    @Test func everySpellingOfLoopbackIsReadAsLoopback() {
        for spelling in ["127.0.0.1", "127.1", "127.0.1", "2130706433", "0x7f000001", "0X7F000001", "0177.0.0.1", "0x7f.1",
                         "127.255.255.254", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "[::ffff:7f00:1]",
                         "::ffff:0:127.0.0.1", "64:ff9b::127.0.0.1", "2002:7f00:1::"] {
            let address = IPAddress(parsing: spelling)
            #expect(address?.range == .loopback, "\(spelling) → \(address.map(\.description) ?? "not an address")")
        }
    }

    @Test func decimalHexAndOctalPartsFollowTheCResolver() {
        #expect(IPAddress(parsing: "2130706433") == IPAddress(v4: 0x7f00_0001))
        #expect(IPAddress(parsing: "127.1") == IPAddress(v4: 0x7f00_0001))
        #expect(IPAddress(parsing: "10.1.65535") == IPAddress(v4: 0x0a01_ffff))
        #expect(IPAddress(parsing: "010.0.0.1") == IPAddress(v4: 0x0800_0001), "a leading 0 is octal")
        #expect(IPAddress(parsing: "0xa9.0xfe.0xa9.0xfe") == IPAddress(v4: 0xa9fe_a9fe))
        // Not addresses: the resolver would ask DNS, and the send-time check sees the answer.
        for name in ["example.com", "256.0.0.1", "1.2.3.4.5", "4294967296", "08.0.0.1", "0x", "+1.2.3.4", "1..2.3", "cafe",
                     "1:2:3:4:5:6:7:8:9", "::1::", "fe80::1%eth0", "12345::1", "::ffff:1.2.3"] {
            #expect(IPAddress(parsing: name) == nil, "\(name)")
        }
    }

    @Test func rangesAreReadFromTheSpecialPurposeRegistries() {
        let cases: [(String, AddressRange)] = [
            ("0.0.0.0", .unspecified), ("0", .unspecified), ("::", .unspecified), ("0.1.2.3", .unspecified),
            ("10.0.0.1", .privateUse), ("10.255.255.255", .privateUse), ("172.16.0.1", .privateUse), ("172.31.255.255", .privateUse),
            ("172.15.255.255", .global), ("172.32.0.0", .global), ("192.168.1.1", .privateUse), ("100.64.0.1", .privateUse),
            ("fd00::1", .privateUse), ("fc00::1", .privateUse), ("fec0::1", .privateUse),
            ("169.254.169.254", .linkLocal), ("::ffff:169.254.169.254", .linkLocal), ("::ffff:a9fe:a9fe", .linkLocal),
            ("fe80::1", .linkLocal), ("febf::1", .linkLocal),
            ("224.0.0.1", .multicast), ("239.255.255.250", .multicast), ("255.255.255.255", .multicast), ("ff02::1", .multicast),
            ("240.0.0.1", .reserved), ("192.0.2.1", .reserved), ("198.18.0.1", .reserved), ("2001:db8::1", .reserved),
            ("8.8.8.8", .global), ("93.184.216.34", .global), ("2606:4700::1111", .global), ("::ffff:8.8.8.8", .global),
        ]
        for (text, range) in cases {
            #expect(IPAddress(parsing: text)?.range == range, "\(text)")
        }
    }

    @Test func everyAddressTheIssueTriedIsRefusedAtRegistration() throws {
        let refused: [(String, WebhookTargetRule)] = [
            ("http://127.0.0.1:8080/v1/tenants", .loopback), ("http://127.0.0.1:8080/apple/notifications/1", .loopback),
            ("http://localhost:8080/", .loopback), ("http://LOCALHOST./x", .loopback), ("http://api.localhost/x", .loopback),
            ("http://[::1]:8080/", .loopback), ("http://0.0.0.0:8080/", .unspecified), ("http://[::]/", .unspecified),
            ("http://2130706433/", .loopback), ("http://0x7f000001/", .loopback), ("http://127.1/", .loopback),
            ("http://017700000001/", .loopback), ("http://127.0.0.1./", .loopback),
            ("http://169.254.169.254/latest/meta-data/", .linkLocal), ("http://[::ffff:169.254.169.254]/", .linkLocal),
            ("http://[fe80::1]/", .linkLocal),
            ("http://metadata.google.internal/computeMetadata/v1/", .metadataHost), ("http://Metadata.Google.Internal./", .metadataHost),
            ("http://instance-data/latest/", .metadataHost),
            ("http://10.0.0.1/", .privateRange), ("http://172.16.5.4/", .privateRange), ("http://192.168.0.10/", .privateRange),
            ("http://[fd12:3456::1]/", .privateRange), ("http://224.0.0.1/", .multicast),
        ]
        for (url, expected) in refused {
            #expect(try rule(url) == expected, "\(url)")
            #expect(try rule(url.replacingOccurrences(of: "http://", with: "https://")) == expected, "\(url) over https")
        }
        #expect(refused.count == 24)
    }

    @Test func httpIsRefusedUnlessAllowedAndTheSentenceSaysHowToFixIt() throws {
        let strict = WebhookTargetPolicy()
        #expect(try rule("http://mdm.example.com/hook", policy: strict) == .httpsRequired)
        #expect(try rule("https://mdm.example.com/hook", policy: strict) == nil)
        #expect(try rule("http://mdm.example.com/hook", policy: WebhookTargetPolicy(allowHTTP: true)) == nil)
        let sentence = try target("http://mdm.example.com/hook").sentence(.httpsRequired)
        #expect(sentence.contains("use https"))
        #expect(!sentence.contains("--"), "no CLI flag in what an HTTP client reads: \(sentence)")
        let loopback = try target("https://127.1/hook").sentence(.loopback)
        #expect(loopback.contains("loopback") && loopback.contains("allow"), "\(loopback)")
    }

    @Test func aNameIsLeftToTheSendTimeCheck() throws {
        #expect(try target("https://mdm.example.com/hook").decideWithoutDNS(policy: WebhookTargetPolicy()) == nil)
    }

    @Test func atSendTimeEveryResolvedAddressMustPass() throws {
        let hook = try target("https://hooks.example.com/allot")
        let policy = WebhookTargetPolicy()
        let public1 = IPAddress(v4: 0x5db8_d822)
        #expect(hook.decide(resolved: [public1], policy: policy, server: ServerEndpoints()) == .allowed)
        // DNS rebinding: the same name now answers with the metadata address too.
        let metadata = IPAddress(parsing: "169.254.169.254")!
        #expect(hook.decide(resolved: [public1, metadata], policy: policy, server: ServerEndpoints()) == .refused(.linkLocal, address: metadata))
        let mapped = IPAddress(parsing: "::ffff:10.1.2.3")!
        #expect(hook.decide(resolved: [mapped], policy: policy, server: ServerEndpoints()) == .refused(.privateRange, address: mapped))
        #expect(hook.decide(resolved: [], policy: policy, server: ServerEndpoints()) == .refused(.unresolved, address: nil))
    }

    @Test func thisServersOwnAddressesAndPortAreRefused() throws {
        let own = IPAddress(parsing: "203.0.114.7")!
        let server = ServerEndpoints(addresses: [own, IPAddress(v4: 0x7f00_0001)], port: 8080)
        var policy = WebhookTargetPolicy(allowHTTP: true)
        // A public address of this machine, on any port.
        #expect(try target("http://me.example.com:9000/").decide(resolved: [own], policy: policy, server: server) == .refused(.thisServer, address: own))
        // The server's own port on loopback is refused even when loopback is allowed (development).
        try policy.allow("127.0.0.0/8")
        let loopback = IPAddress(v4: 0x7f00_0001)
        #expect(try target("http://127.0.0.1:8080/v1/tenants").decide(resolved: [loopback], policy: policy, server: server)
                == .refused(.thisServer, address: loopback))
        #expect(try target("http://127.0.0.1:9999/hook").decide(resolved: [loopback], policy: policy, server: server) == .allowed)
    }

    @Test func theAllowListOpensBlocksAndNamesButNeverUnspecifiedOrMulticast() throws {
        var policy = WebhookTargetPolicy()
        try policy.allow("10.20.0.0/16")
        try policy.allow("mdm.corp.internal.")
        try policy.allow("0.0.0.0/0")
        try policy.allow("fd00::/8")
        #expect(try rule("https://10.20.3.4/hook", policy: policy) == nil)
        #expect(try rule("https://[::ffff:10.20.3.4]/hook", policy: policy) == nil)
        #expect(try rule("https://[fd00::5]/hook", policy: policy) == nil)
        #expect(try rule("https://0.0.0.0/hook", policy: policy) == .unspecified)
        #expect(try rule("https://224.0.0.1/hook", policy: policy) == .multicast)
        #expect(try target("https://MDM.corp.internal/hook").decide(resolved: [IPAddress(v4: 0xc0a8_0001)], policy: policy, server: ServerEndpoints()) == .allowed)
        var narrow = WebhookTargetPolicy()
        try narrow.allow("10.20.0.0/16")
        #expect(try rule("https://10.21.0.1/hook", policy: narrow) == .privateRange)
        #expect(throws: AllotError.self) { try narrow.allow("10.0.0.0/33") }
        #expect(throws: AllotError.self) { try narrow.allow("http://x/") }
        #expect(AddressBlock(parsing: "172.16.0.0/12")?.contains(IPAddress(parsing: "172.31.9.9")!) == true)
        #expect(AddressBlock(parsing: "172.16.0.0/12")?.contains(IPAddress(parsing: "172.32.0.0")!) == false)
    }
}
