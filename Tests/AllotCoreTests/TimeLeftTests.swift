import AllotCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct TimeLeftTests {
    @Test func thePaceSoFarAppliesToWhatIsLeft() {
        #expect(TimeLeft.seconds(done: 50, total: 200, elapsedSeconds: 5) == 15)
        #expect(TimeLeft.seconds(done: 200, total: 200, elapsedSeconds: 19) == 0)
    }

    @Test func beforeAnythingIsDoneThereIsNoGuess() {
        #expect(TimeLeft.seconds(done: 0, total: 200, elapsedSeconds: 3) == nil)
    }

    @Test func workDoneBeyondTheTotalNeverGivesANegativeTime() {
        #expect(TimeLeft.seconds(done: 210, total: 200, elapsedSeconds: 20) == 0)
        #expect(TimeLeft.seconds(done: 3, total: 0, elapsedSeconds: 1) == 0)
    }

    @Test func durationsAreWholeSecondsRoundedUp() {
        #expect(TimeLeft.text(seconds: 0) == "0s")
        #expect(TimeLeft.text(seconds: 0.2) == "1s")
        #expect(TimeLeft.text(seconds: 185) == "3m 5s")
        #expect(TimeLeft.text(seconds: 7_800) == "2h 10m")
    }
}
