import Allot
import AllotCore
import AllotStore
import Foundation
import Testing

/// Bad input gets a clear refusal or a per-item result, and never a partial write.
@Suite(.timeLimit(.minutes(5))) struct BadInputTests {
    let app = AssetKey(adamId: "361309726")
    static let injection = "'; DROP TABLE devices;--"

    func seeded(_ backend: TestBackend, _ label: String = #function) throws -> (LedgerFixture, Tenant, TokenID, [String]) {
        let f = try LedgerFixture(backend, label)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(app, total: 10, apple: 0)])
        let serials = try f.devices(tenant, prefix: "BAD", count: 3)
        _ = try f.assign(tenant, app, [serials[0]])
        return (f, tenant, token, serials)
    }

    /// Runs `body`, expects an AllotError with `code`, and checks nothing was written.
    func expectRefused(_ f: LedgerFixture, _ code: AllotError.Code, _ comment: Comment? = nil,
                       sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) throws {
        let before = try f.contents()
        let error = #expect(throws: AllotError.self, comment, sourceLocation: sourceLocation) { try body() }
        #expect(error?.code == code, comment, sourceLocation: sourceLocation)
        #expect(error.map { !$0.message.isEmpty && !$0.message.contains("\n") } == true, "one sentence", sourceLocation: sourceLocation)
        #expect(try f.contents() == before, comment, sourceLocation: sourceLocation)
    }

    // MARK: CSV

    @Test(arguments: [
        ("", "empty"),
        ("\u{FEFF}", "empty"),
        ("C02ABC12345A,iPad\nC02ABC12345B,iPad\n", "serial_number"),
        ("name,model\nAlice,iPad\n", "serial_number"),
        ("serial_number,\"name\n", "never closed"),
    ])
    func aFileThatCannotBeARosterIsRefusedWhole(csv: String, mentions: String) throws {
        for backend in TestBackend.all {
            try rosterIsRefusedWhole(backend, csv: csv, mentions: mentions)
        }
    }

    private func rosterIsRefusedWhole(_ backend: TestBackend, csv: String, mentions: String) throws {
        let (f, tenant, _, _) = try seeded(backend, "rosterRefused\(mentions.filter(\.isLetter))")
        try expectRefused(f, .invalidInput, "\(csv.debugDescription)") {
            _ = try f.ledger.importRoster(tenant: tenant.id, csv: Array(csv.utf8))
        }
        let error = #expect(throws: AllotError.self) { try f.ledger.importRoster(tenant: tenant.id, csv: Array(csv.utf8)) }
        #expect(error?.message.contains(mentions) == true, "\(String(describing: error?.message))")
    }

    @Test(arguments: TestBackend.all) func badLinesAreRejectedWithTheirNumbersAndTheGoodOnesImport(_ backend: TestBackend) throws {
        let (f, tenant, _, _) = try seeded(backend)
        let csv = """
            serial_number,name,group
            GOOD00000001,"quoted, with comma",g
            GOOD00000002,ok,g
            GOOD00000003,too,many,fields
            GOOD00000004,a"quote,g
            "GOOD00000005",fine,g
            ,no serial,g
            TOOLONGSERIAL12345,x,g
            \(Self.injection),x,g
            GOOD-0000006,x,g
            """
        let report = try f.ledger.importRoster(tenant: tenant.id, csv: Array(csv.utf8))
        #expect(report.imported == 3)
        #expect(report.updated == 0)
        #expect(report.rejected.map(\.line) == [4, 5, 7, 8, 9, 10])
        #expect(report.rejected[0].reason.contains("fields"))
        #expect(report.rejected[1].reason.contains("quote"))
        #expect(report.rejected[2].reason.contains("empty"))
        #expect(report.rejected[3].reason.contains("characters"))
        #expect(report.rejected[4].reason.contains("characters"))
        #expect(report.rejected[5].reason.contains("letters"))
        let serials = try f.ledger.devices(tenant: tenant.id).map(\.serialNumber)
        #expect(serials == ["BAD000000000", "BAD000000001", "BAD000000002", "GOOD00000001", "GOOD00000002", "GOOD00000005"])
        #expect(try f.ledger.devices(tenant: tenant.id)[3].name == "quoted, with comma")
        #expect(try f.count("devices") == 6)
    }

    @Test(arguments: TestBackend.all) func anUnterminatedQuoteRejectsItsLineAndSwallowsTheRest(_ backend: TestBackend) throws {
        let (f, tenant, _, _) = try seeded(backend)
        let csv = "serial_number,name\nGOOD00000007,ok\nGOOD00000008,\"unterminated\nGOOD00000009,x\n"
        let report = try f.ledger.importRoster(tenant: tenant.id, csv: Array(csv.utf8))
        #expect(report.imported == 1)
        #expect(report.rejected.map(\.line) == [3])
        #expect(report.rejected.first?.reason.contains("never closed") == true)
        #expect(try f.count("devices") == 4)
    }

    @Test(arguments: TestBackend.all) func aLineLongerThanTheLimitIsRejected(_ backend: TestBackend) throws {
        let (f, tenant, _, _) = try seeded(backend)
        let csv = "serial_number,name\nLONG00000001,\(String(repeating: "x", count: Roster.lineBytesMax))\nLONG00000002,ok\n"
        let report = try f.ledger.importRoster(tenant: tenant.id, csv: Array(csv.utf8))
        #expect(report.imported == 1)
        #expect(report.rejected.map(\.line) == [2])
    }

    // MARK: Batches

    @Test(arguments: TestBackend.all) func invalidSerialsAndUnknownAppsAndDevicesArePerItemResults(_ backend: TestBackend) throws {
        let (f, tenant, token, serials) = try seeded(backend)
        let items = [
            BatchItem(asset: app, serial: ""),
            BatchItem(asset: app, serial: "short"),
            BatchItem(asset: app, serial: String(repeating: "A", count: 15)),
            BatchItem(asset: app, serial: Self.injection),
            BatchItem(asset: app, serial: "C02-ABC-1234"),
            BatchItem(asset: app, serial: "UNKNOWNDEVICE"),
            BatchItem(asset: AssetKey(adamId: "999999"), serial: serials[1]),
            BatchItem(asset: AssetKey(adamId: app.adamId, pricingParam: .plus), serial: serials[1]),
            BatchItem(asset: app, serial: serials[2]),
        ]
        let before = try f.contents()
        for mode in [BatchMode.allOrNothing, .dryRun] {
            let outcome = try Workflows(f.ledger).runBatch(tenant: tenant, direction: .assign, items: items, mode: mode)
            #expect(outcome.items.map(\.result) == [.invalidSerial, .invalidSerial, .invalidSerial, .invalidSerial, .invalidSerial,
                                                    .unknownDevice, .unknownApp, .unknownApp, .assigned])
            #expect(outcome.items[3].serialNumber == Self.injection)
            #expect(outcome.items.dropLast().allSatisfy { $0.reason?.isEmpty == false })
            #expect(outcome.committed == false)
        }
        #expect(try f.contents() == before)
        let partial = try Workflows(f.ledger).runBatch(tenant: tenant, direction: .assign, items: items)
        #expect(partial.committed)
        #expect(partial.failedCount == 8)
        #expect(try f.pool(token, app)?.here == 2)
        #expect(try f.count("devices") == 3)
        #expect(try ledgerInvariantViolations(f.ledger.database) == [])
    }

    @Test(arguments: TestBackend.all) func anEmptyBatchIsRefused(_ backend: TestBackend) throws {
        let (f, tenant, _, _) = try seeded(backend)
        for direction in [BatchDirection.assign, .revoke] {
            for mode in BatchMode.allCases {
                try expectRefused(f, .invalidInput, "\(direction) \(mode)") {
                    _ = try Workflows(f.ledger).runBatch(tenant: tenant, direction: direction, items: [], mode: mode)
                }
            }
        }
    }

    @Test(arguments: TestBackend.all) func anOversizedBatchIsRefused(_ backend: TestBackend) throws {
        let (f, tenant, _, serials) = try seeded(backend)
        let items = Array(repeating: BatchItem(asset: app, serial: serials[1]), count: BatchLimits.itemsMax + 1)
        try expectRefused(f, .tooLarge) {
            _ = try Workflows(f.ledger).runBatch(tenant: tenant, direction: .assign, items: items)
        }
        try expectRefused(f, .tooLarge) {
            _ = try f.ledger.retireDevices(tenant: tenant.id, serials: Array(repeating: serials[1], count: BatchLimits.itemsMax + 1))
        }
    }

    @Test(arguments: TestBackend.all) func aBadIdempotencyKeyIsRefused(_ backend: TestBackend) throws {
        let (f, tenant, _, serials) = try seeded(backend)
        for key in ["", String(repeating: "k", count: BatchLimits.idempotencyKeyLengthMax + 1)] {
            try expectRefused(f, .invalidInput) {
                _ = try f.assign(tenant, app, [serials[1]], key: key)
            }
        }
        // SQL in a key is only text.
        let outcome = try f.assign(tenant, app, [serials[1]], key: Self.injection)
        #expect(try f.assign(tenant, app, [serials[1]], key: Self.injection) == outcome)
        try expectRefused(f, .idempotencyKeyReused) { _ = try f.assign(tenant, app, [serials[2]], key: Self.injection) }
        #expect(try f.count("devices") == 3)
    }

    @Test(arguments: TestBackend.all) func retireWithAnyBadSerialRetiresNothing(_ backend: TestBackend) throws {
        let (f, tenant, _, serials) = try seeded(backend)
        try expectRefused(f, .invalidInput) { _ = try f.ledger.retireDevices(tenant: tenant.id, serials: []) }
        try expectRefused(f, .invalidInput) { _ = try f.ledger.retireDevices(tenant: tenant.id, serials: [serials[0], Self.injection]) }
        try expectRefused(f, .notFound) { _ = try f.ledger.retireDevices(tenant: tenant.id, serials: [serials[0], "UNKNOWNDEVICE"]) }
    }

    // MARK: Names, slugs, tokens

    @Test(arguments: TestBackend.all) func sqlMetacharactersInNamesAreStoredVerbatim(_ backend: TestBackend) throws {
        let (f, tenant, _, serials) = try seeded(backend)
        let name = Self.injection + " \"quoted\" \\ back ' single ; % _ " + (backend == .sqlite ? "\u{0}nul" : "nul")
        if backend == .postgres {
            // PostgreSQL's text holds no U+0000: refused in one sentence, nothing written.
            try expectRefused(f, .invalidInput) {
                _ = try f.ledger.registerDevices(tenant: tenant.id, [DeviceInput(serial: SerialNumber(serials[1])!, name: "a\u{0}b")])
            }
        }
        _ = try f.ledger.registerDevices(tenant: tenant.id, [DeviceInput(serial: SerialNumber(serials[1])!, name: name, model: Self.injection, group: Self.injection)])
        let device = try #require(try f.ledger.devices(tenant: tenant.id).first { $0.serialNumber == serials[1] })
        #expect(device.name == name)
        #expect(device.model == Self.injection)
        #expect(device.group == Self.injection)
        #expect(try f.ledger.devices(tenant: tenant.id, group: Self.injection).map(\.serialNumber) == [serials[1]])
        #expect(try f.ledger.activeSerials(tenant: tenant.id, group: "%").isEmpty)

        let roster = "serial_number,name\n\(serials[2]),\"\(Self.injection)\"\n"
        #expect(try f.ledger.importRoster(tenant: tenant.id, csv: Array(roster.utf8)).updated == 1)
        #expect(try f.ledger.devices(tenant: tenant.id).first { $0.serialNumber == serials[2] }?.name == Self.injection)

        let other = try f.ledger.createTenant(slug: "shelbyville", name: Self.injection)
        #expect(try f.ledger.tenants().first { $0.id == other.id }?.name == Self.injection)
        let token = try f.ledger.addToken(tenant: other.id, NewToken(locationUid: Self.injection, locationName: Self.injection,
                                                                     orgName: Self.injection, secret: nil, expiresAt: f.clock.now + 86_400))
        #expect(try f.ledger.token(tenant: other.id, Self.injection)?.id == token)
        #expect(try f.ledger.token(tenant: other.id, Self.injection)?.orgName == Self.injection)
        #expect(try f.count("devices") == 3)
        #expect(try ledgerInvariantViolations(f.ledger.database) == [])
    }

    @Test(arguments: ["", "-leading-dash", "UPPER", "with space", "under_score", "ünïcode", "a;b", "x'--",
                      String(repeating: "a", count: Ledger.slugLengthMax + 1), BadInputTests.injection], TestBackend.all)
    func aBadTenantSlugIsRefused(slug: String, backend: TestBackend) throws {
        let f = try LedgerFixture(backend, "badSlug")
        try expectRefused(f, .invalidInput, "\(slug.debugDescription)") {
            _ = try f.ledger.createTenant(slug: slug, name: nil)
        }
        let error = #expect(throws: AllotError.self) { try f.ledger.requireTenant(slug: slug) }
        #expect(error?.code == .notFound)
    }

    @Test(arguments: TestBackend.all) func goodSlugsAreAcceptedOnceAndLongNamesRefused(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        _ = try f.ledger.createTenant(slug: "a", name: nil)
        _ = try f.ledger.createTenant(slug: String(repeating: "z", count: Ledger.slugLengthMax), name: "  padded  ")
        try expectRefused(f, .conflict) { _ = try f.ledger.createTenant(slug: "a", name: "again") }
        try expectRefused(f, .invalidInput) { _ = try f.ledger.createTenant(slug: "b", name: String(repeating: "n", count: 201)) }
        #expect(try f.ledger.tenants().map(\.name) == ["a", "padded"])
    }

    @Test(arguments: TestBackend.all) func aSnapshotNamingAnotherTenantsOrAMissingTokenIsRefused(_ backend: TestBackend) throws {
        let (f, tenant, _, _) = try seeded(backend)
        try expectRefused(f, .notFound) {
            _ = try f.ledger.applySnapshot(tenant: tenant.id, token: TokenID(9_999), assets: [SnapshotAsset(asset: app, total: 1, appleAssigned: 0)])
        }
        try expectRefused(f, .notFound) {
            try f.ledger.setTokenState(tenant: tenant.id, token: TokenID(9_999), .expired, reason: "test")
        }
    }
}
