import AllotCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct WebhookRetryTests {
    let policy = WebhookRetryPolicy()
    let eventAt: Int64 = 1_000_000

    @Test func aDeliveredEventMovesTheCursorWhateverFailedBefore() {
        for failed in [0, 1, 7] {
            #expect(policy.step(after: .delivered, failedBefore: failed, eventAt: eventAt, now: eventAt + 5) == .advance)
        }
    }

    @Test func failedTriesWaitLongerEachTimeUpToTheCeiling() {
        var now = eventAt
        var failed = 0
        var waits: [Int64] = []
        // Follow the schedule a receiver that never answers gets, until the give-up.
        for _ in 0..<1_000 {
            switch policy.step(after: .failed(retryAfterSeconds: nil), failedBefore: failed, eventAt: eventAt, now: now) {
            case .retry(let at, let attempts):
                #expect(attempts == failed + 1)
                #expect(at > now)
                #expect(at <= eventAt + policy.giveUpAfterSeconds, "no try is planned after the window closes")
                waits.append(at - now)
                now = at
                failed = attempts
            case .giveUp(let closedBefore):
                #expect(now >= eventAt + policy.giveUpAfterSeconds)
                #expect(closedBefore == now - policy.giveUpAfterSeconds)
                #expect(Array(waits.prefix(4)) == [5, 10, 20, 40])
                #expect(waits.dropLast().allSatisfy { $0 <= policy.backoff.delaySecondsMax })
                #expect(zip(waits, waits.dropFirst()).dropLast().allSatisfy { $0 <= $1 }, "waits never shrink before the last")
                #expect(failed < 40, "a day of a dead receiver is tens of tries, not thousands: \(failed)")
                return
            case .advance:
                Issue.record("a failure never advances")
                return
            }
        }
        Issue.record("the schedule never gave up")
    }

    @Test func theReceiversRetryAfterIsObeyed() {
        let step = policy.step(after: .failed(retryAfterSeconds: 600), failedBefore: 0, eventAt: eventAt, now: eventAt)
        #expect(step == .retry(at: eventAt + 600, attempts: 1))
    }

    @Test func theLastTryIsAtTheCloseOfTheWindowNotPastIt() {
        let now = eventAt + policy.giveUpAfterSeconds - 30
        let step = policy.step(after: .failed(retryAfterSeconds: nil), failedBefore: 10, eventAt: eventAt, now: now)
        #expect(step == .retry(at: eventAt + policy.giveUpAfterSeconds, attempts: 11))
    }

    @Test func aFailureOfAnEventOlderThanTheWindowGivesItUpAtOnce() {
        // A server that was stopped for two days tries the old event once; if that fails, it gives up.
        let now = eventAt + 2 * 86_400
        #expect(policy.step(after: .failed(retryAfterSeconds: nil), failedBefore: 0, eventAt: eventAt, now: now)
                == .giveUp(closedBefore: now - 86_400))
    }

    @Test func urlsThatAreNotHTTPOrMalformedAreRefusedInOneSentence() throws {
        for bad in ["", "   ", "ftp://example.com/x", "mailto:ops@example.com", "example.com/hook", "https://", "http://user:pw@example.com/x",
                    "https://example.com/x#frag", "https://exa mple.com/", "https://" + String(repeating: "a", count: 2_100) + ".com"] {
            #expect(throws: AllotError.self, "\(bad)") { try WebhookURL(parsing: bad) }
            do { _ = try WebhookURL(parsing: bad) } catch {
                #expect(error.code == .invalidInput)
                #expect(!error.message.contains("pw@"), "a password in the URL is not echoed")
                #expect(!error.message.contains("\n"), "one sentence: \(error.message)")
            }
        }
        #expect(try WebhookURL(parsing: "https://mdm.example.com/allot-events?tenant=7").text == "https://mdm.example.com/allot-events?tenant=7")
        #expect(try WebhookURL(parsing: "http://127.0.0.1:8080/hook").text == "http://127.0.0.1:8080/hook")
    }
}
