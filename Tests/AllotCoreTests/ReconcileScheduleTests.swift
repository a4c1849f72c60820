import AllotCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct ReconcileScheduleTests {
    @Test func tenThousandTokensAreSpreadEvenlyOverTheInterval() {
        let interval = SyncInterval.default
        let now: Int64 = 1_800_000_000
        let buckets = 100
        var counts = [Int](repeating: 0, count: buckets)
        var perSecond: [Int64: Int] = [:]
        for id in 1...10_000 {
            let due = ReconcileSchedule.nextDue(token: TokenID(Int64(id)), interval: interval, after: now)
            #expect(due > now)
            #expect(due <= now + interval.seconds + 2 * Int64(Double(interval.seconds) * ReconcileSchedule.jitterFraction))
            counts[Int((due % interval.seconds) * Int64(buckets) / interval.seconds)] += 1
            perSecond[due, default: 0] += 1
        }
        // 100 a bucket on average: never bunched, never empty.
        #expect(counts.max()! <= 110, "busiest 36 s: \(counts.max()!)")
        #expect(counts.min()! >= 90, "quietest 36 s: \(counts.min()!)")
        // About 2.8 a second on average; a uniform random spread would put ~12 in its busiest second.
        #expect(perSecond.values.max()! <= 12, "busiest second: \(perSecond.values.max()!)")
    }

    @Test func everyTokenIsSyncedOncePerIntervalWithinItsJitter() {
        let interval = SyncInterval(seconds: 600)
        let jitter = Int64(Double(interval.seconds) * ReconcileSchedule.jitterFraction)
        for id in [1, 2, 17, 9_999, 1_000_000] as [Int64] {
            var last: Int64 = 1_700_000_000
            for _ in 0..<50 {
                let next = ReconcileSchedule.nextDue(token: TokenID(id), interval: interval, after: last)
                #expect(next > last)
                #expect(next - last <= interval.seconds + 2 * jitter)
                #expect(next - last >= interval.seconds - 2 * jitter || last == 1_700_000_000)
                last = next
            }
        }
    }

    @Test func theScheduleIsAPureFunction() {
        let a = ReconcileSchedule.nextDue(token: TokenID(42), interval: .default, after: 1_800_000_123)
        let b = ReconcileSchedule.nextDue(token: TokenID(42), interval: .default, after: 1_800_000_123)
        #expect(a == b)
        // A short interval (tests use 1 s and 2 s) still moves forward.
        let short = SyncInterval(seconds: 1)
        #expect(ReconcileSchedule.nextDue(token: TokenID(3), interval: short, after: 100) == 101)
    }

    @Test func syncIntervalsReadAsSecondsMinutesHoursOrDays() throws {
        #expect(try SyncInterval(parsing: "45s").seconds == 45)
        #expect(try SyncInterval(parsing: "10m").seconds == 600)
        #expect(try SyncInterval(parsing: "1h").seconds == 3_600)
        #expect(try SyncInterval(parsing: "2d").seconds == 172_800)
        #expect(SyncInterval.default.description == "1h")
        for bad in ["", "h", "10", "0s", "-5m", "1.5h", "8d", "10 m", "1w", "99999999999999999999s"] {
            #expect(throws: SyncIntervalError.self) { try SyncInterval(parsing: bad) }
        }
        let message = (try? SyncInterval(parsing: "ten")).map { _ in "" } ?? SyncIntervalError(text: "ten").description
        #expect(message.contains("'ten'") && message.contains("45s, 10m, 1h"))
    }
}

@Suite(.timeLimit(.minutes(5))) struct AlertRulesTests {
    static let day: Int64 = 86_400

    @Test func eachExpiryMilestoneIsAnnouncedOnceTheNearestFirst() {
        let expiry: Int64 = 2_000_000_000
        var announced = Set<Int>()
        var said: [Int] = []
        // Walk from 40 days before expiry to after it, an hour at a time.
        var now = expiry - 40 * Self.day
        while now < expiry + Self.day {
            if let milestone = ExpiryMilestones.due(expiresAt: expiry, now: now, announced: announced) {
                announced.insert(milestone)
                said.append(milestone)
            }
            now += 3_600
        }
        #expect(said == [30, 15, 7, 1])
    }

    @Test func aTokenFirstSeenCloseToExpiryAnnouncesOnlyTheNearestMilestone() {
        let expiry: Int64 = 2_000_000_000
        #expect(ExpiryMilestones.due(expiresAt: expiry, now: expiry - 10 * Self.day, announced: []) == 15)
        #expect(ExpiryMilestones.due(expiresAt: expiry, now: expiry - 10 * Self.day, announced: [15]) == nil)
        #expect(ExpiryMilestones.due(expiresAt: expiry, now: expiry - 31 * Self.day, announced: []) == nil)
        #expect(ExpiryMilestones.due(expiresAt: expiry, now: expiry + 1, announced: []) == nil)
    }

    @Test func licencesLowFiresOncePerCrossingAndAgainAfterRecovery() throws {
        let thresholds = LicenceThresholds.default
        #expect(thresholds.percents == [20, 10])
        // 100 licences: available 50, 19, 15, 9, 30, 9.
        let levels = [50, 19, 15, 9, 30, 9].map { thresholds.level(available: $0, total: 100, unlimited: false) }
        #expect(levels == [nil, 20, 20, 10, nil, 10])
        var previous: Int?
        var alerts: [Int] = []
        for level in levels {
            if let crossed = LicenceThresholds.crossing(from: previous, to: level) { alerts.append(crossed) }
            previous = level
        }
        #expect(alerts == [20, 10, 10])
        // Exactly 20% is not below 20%; nothing bought or unlimited is never low.
        #expect(thresholds.level(available: 20, total: 100, unlimited: false) == nil)
        #expect(thresholds.level(available: 0, total: 0, unlimited: false) == nil)
        #expect(thresholds.level(available: 0, total: 2_147_483_647, unlimited: true) == nil)
        // Over-allocated is below every threshold.
        #expect(thresholds.level(available: -3, total: 10, unlimited: false) == 10)
    }

    @Test func licenceThresholdsAreParsedOrRefusedInOneSentence() throws {
        #expect(try LicenceThresholds(parsing: "10,25").percents == [25, 10])
        #expect(try LicenceThresholds(parsing: "none").percents == [])
        #expect(try LicenceThresholds(parsing: "5").description == "5")
        for bad in ["", "0", "100", "10,10", "a", "10,", "1,2,3,4,5,6"] {
            #expect(throws: LicenceThresholdsError.self) { try LicenceThresholds(parsing: bad) }
        }
    }

    @Test func everyTokenStateThatNeedsAPersonRaisesAnAlert() {
        #expect(EventKind.alert(enteringState: .claimedElsewhere) == .tokenClaimed)
        #expect(EventKind.alert(enteringState: .expired) == .tokenExpired)
        #expect(EventKind.alert(enteringState: .revoked) == .tokenRevoked)
        #expect(EventKind.alert(enteringState: .active) == nil)
        // The spellings are a contract: distinct, snake_case.
        let spellings = EventKind.allCases.map(\.rawValue)
        #expect(Set(spellings).count == spellings.count)
        #expect(spellings.allSatisfy { $0.allSatisfy { $0.isLowercase || $0 == "_" } })
        #expect(EventKind.batch(.assign).rawValue == "assign_batch")
    }
}
