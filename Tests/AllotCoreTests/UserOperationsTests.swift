import AllotCore
import Testing

/// The outbox rules as they apply to people: a user's registration at a location goes before
/// anything else on that user there, and Apple's failures are read by what they name (users, not
/// serials). Also the user planner and the people's roster, without a ledger.
@Suite(.timeLimit(.minutes(5))) struct UserOperationsTests {
    static let pages = AssetKey(adamId: "361309726")
    static let book = AssetKey(adamId: "1448295111")

    func op(_ id: Int64, _ kind: OutboxKind, _ asset: AssetKey = pages, _ ids: String...) -> DeliveryOrder.Footprint {
        DeliveryOrder.Footprint(id: id, order: id, kind: kind, asset: asset, serials: ids)
    }

    @Test func aRegistrationHoldsBackEveryLaterOperationOnItsUsersWhateverTheAsset() {
        let free = DeliveryOrder.free([
            op(1, .registerUsers, Self.book, "u1", "u2"),
            op(2, .associate, Self.pages, "u1"),
            op(3, .associate, Self.book, "u3"),
            op(4, .disassociate, Self.book, "u2"),
        ])
        #expect(free == [1, 3])
        // A retirement waits for the give-backs before it, on any asset.
        #expect(DeliveryOrder.free([op(1, .disassociate, Self.pages, "u1"), op(2, .retireUsers, Self.book, "u1")]) == [1])
    }

    @Test func usersCreatedOrRetiredCountNoLicenceOnTheirWay() {
        let unfinished = [
            DeliveryCapacity.Unfinished(footprint: op(1, .registerUsers, Self.pages, "u1"), mayHaveReachedApple: true),
            DeliveryCapacity.Unfinished(footprint: op(2, .associate, Self.pages, "u1"), mayHaveReachedApple: true),
        ]
        #expect(DeliveryCapacity.onTheirWay(unfinished).held[Self.pages] == ["u1"])
        #expect(DeliveryCapacity.onTheirWay(Array(unfinished.prefix(1))).held.isEmpty)
    }

    @Test func anAssociateOfUsersReleasesTheUsersAppleNamesAndIgnoresSerials() {
        let step = OutboxStep(kind: .associate, state: .sent, serials: ["u1", "u2"], attempts: 1, sentAt: 0, subject: .users)
        let notRegistered = EventItemFailure(verdict: .itemRefused, message: "9609: Unable to find registered user.", serials: nil,
                                             namesUsersOnly: true, clientUserIds: ["u2"])
        let report = EventReport(phase: .complete, numRequested: 2, numCompleted: 1, failures: [notRegistered])
        guard case .complete(let released, _, _, _) = OutboxMachine.next(step, answer: .event(report), now: 10, settings: OutboxSettings()) else {
            Issue.record("a finished event completes the operation")
            return
        }
        #expect(released == ["u2"])
        // The same failure on a device operation names nothing it asked.
        let devices = OutboxStep(kind: .associate, state: .sent, serials: ["SERIAL0001"], attempts: 1, sentAt: 0)
        #expect(OutboxMachine.next(devices, answer: .event(report), now: 10, settings: OutboxSettings())
                == .complete(released: [], reason: nil, resync: false))
        // And a failure naming serials only is nothing a user operation asked.
        let serialsOnly = EventItemFailure(verdict: .itemRefused, message: "9707", serials: ["SERIAL0001"])
        #expect(OutboxMachine.next(step, answer: .event(EventReport(phase: .complete, numRequested: 2, numCompleted: 2, failures: [serialsOnly])),
                                   now: 10, settings: OutboxSettings()) == .complete(released: [], reason: nil, resync: false))
    }

    @Test func theUserPlannerNeverGivesAPersonTwoLicencesNorAPoolMoreThanItsFree() {
        let asset = AssetRef(id: AssetID(1), deviceAssignable: false)
        let candidates = [AssetID(1): [PoolCandidate(tokenId: TokenID(1), available: 1, expiresAt: 10, priority: 0),
                                       PoolCandidate(tokenId: TokenID(2), available: 1, expiresAt: 20, priority: 0)]]
        var planner = UserBatchPlanner(direction: .assign, policy: .mostAvailable, assets: [Self.book: asset], candidates: candidates)
        var ledger = InMemoryUserLedger(users: ["ann": UserRef(id: UserID(1), retired: false), "ben": UserRef(id: UserID(2), retired: false),
                                                "cid": UserRef(id: UserID(3), retired: false), "old": UserRef(id: UserID(4), retired: true)])
        let items = ["ann", "ann", " ann ", "ben", "cid", "old", "zed", ""].map { UserItem(asset: Self.book, userId: $0) }
        let plan = try? planner.plan(items, ledger: &ledger)
        #expect(plan?.outcomes.map(\.result) == [.assigned, .alreadyAssigned, .alreadyAssigned, .assigned, .noLicense, .unknownUser, .unknownUser, .invalidUserId])
        #expect(plan?.poolDeltas.values.reduce(0, +) == 2)
        #expect(Set(ledger.assignments.values) == [TokenID(1), TokenID(2)], "one from each location, the latest expiry first")
    }

    @Test func thePeoplesRosterReadsCommonHeadersAndRejectsBadLines() throws {
        let roster = try UserRoster(csv: Array("\u{FEFF}\"User ID\"\tEmail\tApple ID\tClass\nann\tann@x.example\t\t7a\nbad\tnot mail\t\t7a\n\t\t\t\nann\tann2@x.example\t\t7b\n".utf8))
        #expect(roster.delimiter == "\t")
        #expect(roster.rows.map(\.userId) == ["ann"])
        #expect(roster.rows.first?.email == "ann2@x.example" && roster.rows.first?.group == "7b")
        #expect(roster.rejected.map(\.line) == [3, 4])
        #expect(throws: RosterError.self) { try UserRoster(csv: Array("name,email\nann,a@b.c\n".utf8)) }
    }
}
