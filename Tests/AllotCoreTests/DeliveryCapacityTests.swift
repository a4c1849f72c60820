import AllotCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct DeliveryCapacityTests {
    static let pages = AssetKey(adamId: "361309726")
    static let keynote = AssetKey(adamId: "361285480")

    func op(_ id: Int64, _ kind: OutboxKind, _ serials: String..., asset: AssetKey = pages, state: OutboxState = .pending,
            attempts: Int = 0) -> LaneRound.Candidate {
        LaneRound.Candidate(footprint: DeliveryOrder.Footprint(id: id, order: id, kind: kind, asset: asset, serials: serials),
                            state: state, nextAttemptAt: 0, leaseExpiresAt: nil, attempts: attempts)
    }

    func take(_ window: [LaneRound.Candidate], total: Int, confirmed: Int = 0, elsewhere: Int = 0) -> [Int64] {
        LaneRound.take(window, now: 10, pools: [Self.pages: DeliveryCapacity.Pool(total: total, elsewhere: elsewhere, confirmed: confirmed)])
    }

    @Test func aLicenceFreedByARevokeGoesToTheNextDeviceOnlyOnceAppleAppliedTheRevoke() {
        // Assign X, revoke X, assign Y on a pool of one: X's associate goes; Y's waits for X's
        // disassociate, which waits for X's associate (per serial).
        #expect(take([op(1, .associate, "X"), op(2, .disassociate, "X"), op(3, .associate, "Y")], total: 1) == [1])
        // X's associate sent and still PENDING at Apple: Y still waits.
        #expect(take([op(1, .associate, "X", state: .sent, attempts: 1), op(2, .disassociate, "X"), op(3, .associate, "Y")], total: 1) == [1])
        // X's associate finished: its disassociate goes, Y still waits for it to be applied.
        #expect(take([op(2, .disassociate, "X"), op(3, .associate, "Y")], total: 1) == [2])
        #expect(take([op(2, .disassociate, "X", state: .sent, attempts: 1), op(3, .associate, "Y")], total: 1) == [2])
        // Applied: Y goes.
        #expect(take([op(3, .associate, "Y")], total: 1) == [3])
    }

    @Test func aRevokeOfAConfirmedDeviceHoldsItsLicenceUntilApplied() {
        // X was confirmed, then revoked (its row gone); Y took the licence in the ledger.
        #expect(take([op(2, .disassociate, "X"), op(3, .associate, "Y")], total: 1, confirmed: 0) == [2])
        // Another confirmed device elsewhere in the pool changes nothing of that.
        #expect(take([op(2, .disassociate, "X"), op(3, .associate, "Y")], total: 2, confirmed: 1) == [2])
        // With a licence to spare, Y need not wait.
        #expect(take([op(2, .disassociate, "X"), op(3, .associate, "Y")], total: 2) == [2, 3])
    }

    @Test func laterAssociatesOfAPoolKeepTheirOrderBehindOneThatWaits() {
        let window = [op(1, .disassociate, "X"), op(2, .associate, "Y", "Z"), op(3, .associate, "W")]
        // Y and Z need two licences, W one; two confirmed of three plus X still held: Y and Z
        // wait, and W, though one licence would fit it once X goes, waits behind them.
        #expect(take(window, total: 3, confirmed: 1) == [1])
    }

    @Test func otherPoolsAndGiveBacksNeverWaitForRoom() {
        let window = [op(1, .disassociate, "X"), op(2, .associate, "Y"), op(3, .associate, "Y", asset: Self.keynote),
                      op(4, .disassociate, "Q")]
        #expect(take(window, total: 1) == [1, 3, 4])
    }

    @Test func aResendAndAnAssociateOfSerialsAppleMayHoldNeedNoRoom() {
        // Sent before (attempts 1) and to be sent again: Apple may hold it already.
        #expect(take([op(1, .disassociate, "X"), op(2, .associate, "Y", attempts: 1)], total: 1) == [1, 2])
    }

    @Test func anOverAllocatedPoolStillSendsWhatNoGiveBackWouldMakeRoomFor() {
        // Apple's total fell to 1 with two confirmed: waiting would wait for ever; Apple decides
        // and its 9709 is handled as over-allocation.
        var room = DeliveryCapacity.Room(unfinished: [], pools: [Self.pages: DeliveryCapacity.Pool(total: 1, elsewhere: 0, confirmed: 2)])
        #expect(room.admit(DeliveryOrder.Footprint(id: 1, order: 1, kind: .associate, asset: Self.pages, serials: ["Y"])) == .overAllocated)
        #expect(take([op(1, .associate, "Y")], total: 1, confirmed: 2) == [1])
    }

    @Test func licencesElsewhereTakeRoomToo() {
        #expect(take([op(1, .disassociate, "X"), op(2, .associate, "Y")], total: 2, elsewhere: 1) == [1])
        #expect(take([op(1, .disassociate, "X"), op(2, .associate, "Y")], total: 3, elsewhere: 1) == [1, 2])
    }

    @Test func whatASyncCountsOnItsWayHoldsEachSerialOnce() {
        let unfinished = LaneRound.unfinished([
            op(1, .associate, "A", "B", state: .sent, attempts: 1),   // may be at Apple
            op(2, .disassociate, "A"),                                 // A counted once
            op(3, .associate, "C"),                                    // never sent: not at Apple
            op(4, .disassociate, "C"),                                 // C never reached Apple
            op(5, .disassociate, "D"),                                 // confirmed before, on its way out
            op(6, .associate, "E", asset: Self.keynote, attempts: 2),
        ], now: 10)
        #expect(DeliveryCapacity.countsOnTheirWay(unfinished) == [Self.pages: 3, Self.keynote: 1])
    }

    @Test func aPoolWithRoomForEverythingOnItsWayIsNotCountedExactly() {
        #expect(DeliveryCapacity.hasRoomForAll(total: 10, elsewhere: 2, rows: 5, serialsOnTheirWay: 3))
        #expect(!DeliveryCapacity.hasRoomForAll(total: 10, elsewhere: 2, rows: 5, serialsOnTheirWay: 4))
    }

    /// The property against a model of Apple: random assigns and revokes on a pool kept at
    /// capacity by the ledger, lane rounds taking what `LaneRound` allows, Apple applying
    /// accepted events in any order and answering polls whenever: Apple never has to refuse an
    /// associate for want of licences, no operation waits for ever, and once everything is
    /// delivered Apple holds exactly what the ledger holds.
    @Test(arguments: Array(1...40) as [UInt64])
    func randomAssignsAndRevokesAtCapacityNeverMeet9709AndAlwaysDrain(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let total = Int.random(in: 1...4, using: &random)
        let elsewhere = Int.random(in: 0...1, using: &random)
        var model = CapacityModel(total: total + elsewhere, elsewhere: elsewhere)
        let serials = (0..<8).map { "S\($0)" }
        for _ in 0..<200 {
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<30: model.assign(serials.randomElement(using: &random)!)
            case 30..<50: model.revoke(serials.randomElement(using: &random)!)
            case 50..<75: model.laneRound()
            default: model.appleSettles(any: Int.random(in: 0..<8, using: &random))
            }
            #expect(model.refusals == 0)
            #expect(model.apple.count + model.elsewhere <= model.total)
        }
        for _ in 0..<500 where !model.outbox.isEmpty {
            model.laneRound()
            model.appleSettles(any: 0)
        }
        #expect(model.outbox.isEmpty, "operations left waiting: \(model.outbox)")
        #expect(model.refusals == 0)
        #expect(model.apple == Set(model.rows.keys))
        #expect(model.rows.values.allSatisfy { $0 })
    }
}

/// One token's pool of one app: the ledger's rows and outbox, and Apple applying what it
/// accepted in any order; just enough to play the lane's rounds against.
private struct CapacityModel {
    struct Operation: CustomStringConvertible {
        let id: Int64
        let kind: OutboxKind
        let serials: [String]
        var state: OutboxState = .pending
        var attempts = 0
        var applied = false
        var description: String { "\(id) \(kind) \(serials) \(state)" }
    }

    let total: Int
    let elsewhere: Int
    /// The ledger's assignment rows: serial → confirmed.
    var rows: [String: Bool] = [:]
    /// The associate that made each row (a confirm touches only its own rows).
    var madeBy: [String: Int64] = [:]
    var outbox: [Operation] = []
    var apple = Set<String>()
    var refusals = 0
    private var nextId: Int64 = 1
    static let asset = DeliveryCapacityTests.pages

    init(total: Int, elsewhere: Int) {
        self.total = total
        self.elsewhere = elsewhere
    }

    mutating func assign(_ serial: String) {
        // The ledger's own invariant: a new assignment never takes the pool above its total.
        guard rows[serial] == nil, rows.count + elsewhere < total else { return }
        rows[serial] = false
        madeBy[serial] = nextId
        enqueue(.associate, serial)
    }

    mutating func revoke(_ serial: String) {
        guard rows.removeValue(forKey: serial) != nil else { return }
        enqueue(.disassociate, serial)
    }

    private mutating func enqueue(_ kind: OutboxKind, _ serial: String) {
        outbox.append(Operation(id: nextId, kind: kind, serials: [serial]))
        nextId += 1
    }

    mutating func laneRound() {
        let window = outbox.map { operation in
            LaneRound.Candidate(footprint: DeliveryOrder.Footprint(id: operation.id, order: operation.id, kind: operation.kind,
                                                                   asset: Self.asset, serials: operation.serials),
                                state: operation.state, nextAttemptAt: 0, leaseExpiresAt: nil, attempts: operation.attempts)
        }
        let confirmed = rows.values.count { $0 }
        let onTheirWay = outbox.reduce(0) { $0 + $1.serials.count }
        let pools = DeliveryCapacity.hasRoomForAll(total: total, elsewhere: elsewhere, rows: rows.count, serialsOnTheirWay: onTheirWay)
            ? [:] : [Self.asset: DeliveryCapacity.Pool(total: total, elsewhere: elsewhere, confirmed: confirmed)]
        for id in LaneRound.take(window, now: 1, pools: pools) {
            guard let index = outbox.firstIndex(where: { $0.id == id }) else { continue }
            switch outbox[index].state {
            case .pending:
                outbox[index].state = .sent
                outbox[index].attempts += 1
            case .sent where outbox[index].applied:
                // The poll finds the event finished: the ledger confirms what is still its.
                let operation = outbox.remove(at: index)
                if operation.kind == .associate {
                    for serial in operation.serials where madeBy[serial] == operation.id && rows[serial] != nil { rows[serial] = true }
                }
            default:
                break
            }
        }
    }

    /// Apple applies one of the events it accepted, any of them (Apple does not promise order).
    mutating func appleSettles(any pick: Int) {
        let accepted = outbox.indices.filter { outbox[$0].state == .sent && !outbox[$0].applied }
        guard !accepted.isEmpty else { return }
        let index = accepted[pick % accepted.count]
        for serial in outbox[index].serials {
            switch outbox[index].kind {
            case .associate:
                if apple.contains(serial) { continue }
                if apple.count + elsewhere + 1 > total { refusals += 1 } else { apple.insert(serial) }
            case .disassociate, .revoke:
                apple.remove(serial)
            case .registerUsers, .retireUsers:
                continue
            }
        }
        outbox[index].applied = true
    }
}
