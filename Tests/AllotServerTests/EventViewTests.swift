import Allot
import AllotCore
import AllotViews
import Foundation
import Testing

/// An event as both faces publish it and as webhooks post it (`EventView`): every moment its
/// kind records in `detail` as seconds since 1970 gets its RFC 3339 twin beside it.
@Suite(.timeLimit(.minutes(5))) struct EventViewTests {
    @Test func everyRecordedMomentGetsItsRFC3339TwinAndKeepsItsSeconds() throws {
        let kinds = EventKind.allCases.filter { !$0.detailMoments.isEmpty }
        #expect(Set(kinds) == [.tokenRenewed, .tokenExpiring, .tokenExpiryFromApple])
        let seconds = 1_788_220_800.0
        for kind in kinds {
            var fields: [String: JSONValue] = ["other": .string("kept")]
            for (offset, name) in kind.detailMoments.enumerated() { fields[name] = .number(seconds + Double(offset)) }
            guard case .object(let published) = EventView.withMomentTimes(.object(fields), kind: kind) else {
                Issue.record("\(kind): the detail stays an object")
                continue
            }
            #expect(published["other"] == .string("kept"))
            for (offset, name) in kind.detailMoments.enumerated() {
                #expect(published[name] == .number(seconds + Double(offset)), "\(kind).\(name) keeps its seconds")
                guard case .string(let text)? = published[name + EventKind.momentSuffix] else {
                    Issue.record("\(kind).\(name)Time is missing")
                    continue
                }
                let date = try #require(ISO8601DateFormatter().date(from: text), "\(text) is RFC 3339")
                #expect(date.timeIntervalSince1970 == seconds + Double(offset))
                #expect(text.hasSuffix("Z"), "UTC: \(text)")
            }
            #expect(published.count == fields.count + kind.detailMoments.count)
        }
        #expect(EventView.withMomentTimes(.object(["from": .number(seconds), "to": .number(seconds)]), kind: .tokenExpiryFromApple)
                == .object(["from": .number(seconds), "to": .number(seconds),
                            "fromTime": .string("2026-09-01T00:00:00Z"), "toTime": .string("2026-09-01T00:00:00Z")]))
    }

    @Test func aDetailWithoutTheMomentOrOfAnotherKindIsLeftAsRecorded() {
        let states: JSONValue = .object(["from": .string("active"), "to": .string("expired"), "reason": .string("date passed")])
        #expect(EventView.withMomentTimes(states, kind: .tokenExpired) == states)
        #expect(EventView.withMomentTimes(.object(["daysLeft": .number(7)]), kind: .tokenExpiring) == .object(["daysLeft": .number(7)]))
        #expect(EventView.withMomentTimes(.string("not json"), kind: .tokenRenewed) == .string("not json"))
        #expect(EventView.withMomentTimes(.object(["expiresAt": .number(1)]), kind: nil) == .object(["expiresAt": .number(1)]))
    }
}
