import AllotCore
import Testing

/// Every rule of the outbox machine, without a network: an operation, Apple's answer and the
/// time give one action.
@Suite(.timeLimit(.minutes(5))) struct OutboxMachineTests {
    let now: Int64 = 1_000_000
    var settings: OutboxSettings {
        var settings = OutboxSettings()
        settings.backoff = Backoff(baseSeconds: 2, delaySecondsMax: 900, attemptsMax: 5)
        return settings
    }

    func step(_ kind: OutboxKind = .associate, _ state: OutboxState = .pending, serials: [String] = ["A", "B"],
              attempts: Int = 0, sentAt: Int64? = nil) -> OutboxStep {
        OutboxStep(kind: kind, state: state, serials: serials, attempts: attempts, sentAt: sentAt)
    }

    func next(_ operation: OutboxStep, _ answer: AppleAnswer) -> OutboxAction {
        OutboxMachine.next(operation, answer: answer, now: now, settings: settings)
    }

    func event(_ phase: EventReport.Phase, completed: Int = 2, requested: Int = 2, _ failures: [EventItemFailure] = []) -> AppleAnswer {
        .event(EventReport(phase: phase, numRequested: requested, numCompleted: completed, failures: failures))
    }

    // MARK: Sending

    @Test func anAcceptedSendIsPolledAfterTheFirstPollDelay() {
        #expect(next(step(), .accepted(eventId: "e1")) == .awaitEvent(eventId: "e1", pollAt: now))
    }

    @Test func retryAfterIsObeyedAndHoldsTheToken() {
        let action = next(step(attempts: 0), .refused(.retryLater, message: "9729", retryAfterSeconds: 120))
        #expect(action == .backOff(until: now + 120, resend: true, reason: "Apple refused: 9729"))
    }

    @Test func backoffGrowsWithAttemptsWithoutRetryAfter() {
        #expect(next(step(attempts: 2), .refused(.retryLater, message: "9646", retryAfterSeconds: nil))
                == .backOff(until: now + 8, resend: true, reason: "Apple refused: 9646"))
    }

    @Test func aPollRefusedForAPassingReasonPollsAgainInsteadOfResending() {
        #expect(next(step(.associate, .sent, sentAt: now), .refused(.retryLater, message: "9603", retryAfterSeconds: nil))
                == .backOff(until: now + 2, resend: false, reason: "Apple refused: 9603"))
    }

    @Test func passingRefusalsAreGivenUpAfterTheAttemptLimit() {
        #expect(next(step(attempts: 4), .refused(.retryLater, message: "9603", retryAfterSeconds: nil))
                == .giveUp(reason: "gave up after 5 attempts: 9603"))
    }

    @Test func anUnreachableAppleIsNeverGivenUpOn() {
        let action = next(step(attempts: 50), .unreachable("HTTPClientError"))
        #expect(action == .backOff(until: now + 900, resend: true, reason: "Apple could not be reached (HTTPClientError)"))
    }

    @Test func deadTokensPauseTheirOperations() {
        #expect(next(step(), .refused(.tokenExpired, message: "9621", retryAfterSeconds: nil)) == .pauseToken(.expired, reason: "9621"))
        #expect(next(step(), .refused(.tokenRevoked, message: "9625", retryAfterSeconds: nil)) == .pauseToken(.revokedByApple, reason: "9625"))
        #expect(next(step(), .refused(.tokenInvalid, message: "9622", retryAfterSeconds: nil)) == .pauseToken(.rejected, reason: "9622"))
    }

    @Test func aRequestAppleCallsWrongIsGivenUpLoudly() {
        #expect(next(step(), .refused(.ourBug, message: "9702", retryAfterSeconds: nil)) == .giveUp(reason: "Apple refused: 9702"))
        #expect(next(step(), .refused(.itemRefused, message: "9707", retryAfterSeconds: nil)) == .giveUp(reason: "Apple refused: 9707"))
    }

    @Test func aSynchronous9709OnAssociateAsksAppleBeforeReleasing() {
        // Issue 17 point 4: giving up would leave licences counted with nothing at Apple.
        #expect(next(step(), .refused(.notEnoughLicences, message: "9709", retryAfterSeconds: nil))
                == .verify(reason: "Apple refused: 9709", shortOfLicences: true))
        // Apple was short of licences: the device answered `assigned` goes back to the queue.
        #expect(next(step(), .holds(["A"], reason: "9709", shortOfLicences: true))
                == .complete(released: ["B"], reason: "9709", resync: true, requeue: true))
        #expect(next(step(), .holds(["A"], reason: "9709")) == .complete(released: ["B"], reason: "9709", resync: true))
        // Nothing released, nothing to queue.
        #expect(next(step(), .holds(["A", "B"], reason: "9709", shortOfLicences: true))
                == .complete(released: [], reason: "9709", resync: true, requeue: false))
    }

    @Test func alreadyDoneRefusalsCountAsDone() {
        #expect(next(step(.associate), .refused(.alreadyAssigned, message: "9616", retryAfterSeconds: nil)) == .complete(released: [], reason: nil, resync: false))
        #expect(next(step(.disassociate), .refused(.licenceNotFound, message: "9610", retryAfterSeconds: nil)) == .complete(released: [], reason: nil, resync: false))
        #expect(next(step(.associate), .refused(.licenceNotFound, message: "9610", retryAfterSeconds: nil)) == .giveUp(reason: "Apple refused: 9610"))
    }

    // MARK: Polling

    @Test func aPendingEventIsPolledAtTheIntervalThenSentAgainAfterTenMinutes() {
        #expect(next(step(.associate, .sent, sentAt: now - 60), event(.pending, completed: 0))
                == .pollAgain(at: now + 30, note: nil, countsAsAttempt: false))
        #expect(next(step(.associate, .sent, sentAt: now - 600), event(.pending, completed: 0))
                == .resend(at: now, reason: "still PENDING after 600 s; sent again", countsAsAttempt: false, resync: false))
    }

    @Test func anUnknownEventIdIsSentAgainAndTheCountsResynced() {
        // Issue 17 point 4: polling the same lost eventId twenty times helps nobody.
        #expect(next(step(.associate, .sent, sentAt: now), .refused(.unknownEvent, message: "9708", retryAfterSeconds: nil))
                == .resend(at: now, reason: "Apple does not know the event any more; sent again", countsAsAttempt: true, resync: true))
    }

    @Test func aCompleteEventConfirmsEverything() {
        #expect(next(step(.associate, .sent), event(.complete)) == .complete(released: [], reason: nil, resync: false))
    }

    @Test func aFailedEventForAPassingReasonOrNamingNothingIsSentAgain() {
        let passing = EventItemFailure(verdict: .retryLater, message: "9603", serials: ["A", "B"])
        #expect(next(step(.associate, .sent, attempts: 1), event(.failed, completed: 0, [passing]))
                == .resend(at: now + 4, reason: "Apple's event failed", countsAsAttempt: true, resync: false))
        #expect(next(step(.associate, .sent, attempts: 1), event(.failed, completed: 0))
                == .resend(at: now + 4, reason: "Apple's event failed", countsAsAttempt: true, resync: false))
    }

    @Test func refusedSerialsNamedByAppleAreReleasedAndTheCountsResynced() {
        let refused = EventItemFailure(verdict: .notEnoughLicences, message: "9709", serials: ["B"])
        #expect(next(step(.associate, .sent), event(.failed, completed: 1, [refused]))
                == .complete(released: ["B"], reason: "Apple refused: 9709", resync: true, requeue: true))
    }

    @Test func aPartialFailureNamingNoSerialsAsksAppleInsteadOfReleasingAll() {
        // Issue 17 point 3: 9709 with numCompleted 1 of 2 and no errorInfo.
        let unnamed = EventItemFailure(verdict: .notEnoughLicences, message: "9709", serials: nil)
        #expect(next(step(.associate, .sent), event(.failed, completed: 1, [unnamed])) == .verify(reason: "Apple refused: 9709", shortOfLicences: true))
    }

    @Test func aFailureNamingNoSerialsWithNothingCompletedReleasesAll() {
        let unnamed = EventItemFailure(verdict: .notEnoughLicences, message: "9709", serials: nil)
        #expect(next(step(.associate, .sent), event(.failed, completed: 0, [unnamed]))
                == .complete(released: ["A", "B"], reason: "Apple refused: 9709", resync: true, requeue: true))
    }

    @Test func aFailureAboutUsersOnlyReleasesNoSerial() {
        // Issue 17 point 3: 9609 with errorInfo.clientUserIds released both serials.
        let users = EventItemFailure(verdict: .other, message: "9609", serials: nil, namesUsersOnly: true)
        #expect(next(step(.associate, .sent), event(.failed, completed: 2, [users])) == .complete(released: [], reason: nil, resync: false))
    }

    @Test func alreadyAssignedFailuresOfAResentAssociateAreSuccess() {
        let already = EventItemFailure(verdict: .alreadyAssigned, message: "9616", serials: ["A"])
        #expect(next(step(.associate, .sent), event(.complete, [already])) == .complete(released: [], reason: nil, resync: false))
    }

    @Test func aRefusedDisassociateReleasesNothingButSaysWhy() {
        let kept = EventItemFailure(verdict: .itemRefused, message: "9706", serials: ["A"])
        #expect(next(step(.disassociate, .sent), event(.failed, completed: 1, [kept]))
                == .complete(released: [], reason: "Apple refused: 9706", resync: false))
        #expect(next(step(.disassociate), .holds(["A"], reason: "x")) == .complete(released: [], reason: "x", resync: true))
    }

    @Test func anUnknownEventStatusIsPolledAgainThenGivenUp() {
        #expect(next(step(.associate, .sent, attempts: 0), event(.unrecognised("LOST")))
                == .pollAgain(at: now + 30, note: "unknown event status LOST", countsAsAttempt: true))
        #expect(next(step(.associate, .sent, attempts: 4), event(.unrecognised("LOST")))
                == .giveUp(reason: "gave up after 5 attempts: unknown event status LOST"))
    }

    /// Whatever the answer, an associate never releases a serial it did not send, and a
    /// disassociate never releases anything.
    @Test func noAnswerReleasesASerialTheOperationDidNotCarry() {
        let verdicts = AppleVerdict.allCases
        let phases: [EventReport.Phase] = [.pending, .complete, .failed, .unrecognised("X")]
        for kind in OutboxKind.allCases {
            for verdict in verdicts {
                for phase in phases {
                    for completed in 0...2 {
                        for named in [nil, ["B", "Z"]] as [[String]?] {
                            let failure = EventItemFailure(verdict: verdict, message: "n", serials: named)
                            let action = next(step(kind, .sent, sentAt: now), event(phase, completed: completed, [failure]))
                            if case .complete(let released, _, _, _) = action {
                                #expect(released.isSubset(of: ["A", "B"]))
                                #expect(kind == .associate || released.isEmpty)
                            }
                        }
                    }
                }
            }
        }
    }
}
