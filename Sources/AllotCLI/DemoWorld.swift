/// The demo's Apple and roster, made in code so the demo needs no file beside the binary.
enum DemoWorld {
    static let deviceCount = 1_000

    static let seed = """
        {"locations": [
          {"uId": "1001", "locationName": "Main Campus", "orgName": "Springfield Schools", "expires": "2027-09-01T00:00:00Z", "mdmInfo": null,
           "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 600, "deviceAssignable": true, "revocable": true}]},
          {"uId": "1002", "locationName": "North Campus", "orgName": "Springfield Schools", "expires": "2027-10-01T00:00:00Z", "mdmInfo": null,
           "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 300, "deviceAssignable": true, "revocable": true}]}
        ]}
        """

    /// A roster CSV of `devices` iPads with serials shaped like Apple's 12-character ones.
    static func roster(devices: Int) -> String {
        let models = ["iPad (10th generation)", "iPad (9th generation)", "iPad Air (5th generation)"]
        let groups = ["grade-5", "grade-6", "grade-7", "grade-8", "staff"]
        var csv = "serial_number,name,model,group\n"
        for (index, serial) in serials(devices).enumerated() {
            csv += "\(serial),iPad \(index + 1),\(models[index % models.count]),\(groups[index % groups.count])\n"
        }
        return csv
    }

    /// Deterministic, distinct serials: a plant-like prefix and nine characters from the set
    /// Apple uses (digits and consonants, no vowels to avoid words).
    static func serials(_ count: Int) -> [String] {
        let prefixes = ["DMP", "DMQ", "F9F", "GG7", "H4T", "DLX"]
        let alphabet = Array("0123456789CDFGHJKLMNPQRTVWXY")
        var generator = SplitMix64(seed: 2_026)
        var seen = Set<String>()
        var serials: [String] = []
        // Bounded: collisions among 28^9 values are rare, and each try adds at most one serial.
        for _ in 0..<(count * 4) where serials.count < count {
            var serial = prefixes[Int(generator.next() % UInt64(prefixes.count))]
            for _ in 0..<9 { serial.append(alphabet[Int(generator.next() % UInt64(alphabet.count))]) }
            if seen.insert(serial).inserted { serials.append(serial) }
        }
        return serials
    }
}

/// A small seeded generator (Steele, Lea and Flood's SplitMix64): the same serials every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
