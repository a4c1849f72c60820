import AllotStore
import Testing

/// The ledger keeps one check value of its token key: the first recorded wins, on both backends.
@Suite(.timeLimit(.minutes(5))) struct KeyCheckTests {
    @Test(arguments: TestBackend.all) func theFirstCheckValueRecordedStaysAndAnotherDoesNotReplaceIt(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        #expect(try f.ledger.keyCheckValue() == nil)
        #expect(try f.ledger.recordKeyCheckValue("first") == "first")
        // A second node recording its own (another key) reads the first back.
        #expect(try f.ledger.recordKeyCheckValue("second") == "first")
        #expect(try f.reopen().keyCheckValue() == "first")
        #expect(try f.count("key_check") == 1)
    }
}
