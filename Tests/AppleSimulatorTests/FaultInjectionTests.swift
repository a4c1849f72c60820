import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct FaultInjectionTests {
    @Test func theNextCallsAnswer503With9729AndRetryAfterThenRecover() async throws {
        let fixture = try SimulatorFixture()
        try await fixture.simulator.injectFaults(.temporarilyUnavailable(retryAfterSeconds: 7), count: 2)
        let token = try fixture.token()
        for _ in 0..<2 {
            let error = await appleError { try await fixture.simulator.assets(token: token, query: AssetsQuery()) }
            #expect(error?.httpStatus == 503)
            #expect(error?.errorNumber == 9729)
            #expect(error?.retryAfterSeconds == 7)
            #expect(error?.classification == .retryLater)
        }
        _ = try await fixture.simulator.assets(token: token, query: AssetsQuery())
    }

    @Test func theNextCallsAnswer429With9646() async throws {
        let fixture = try SimulatorFixture()
        try await fixture.simulator.injectFaults(.tooManyRequests, count: 1)
        let error = await appleError { try await fixture.simulator.serviceConfig() }
        #expect(error?.httpStatus == 429)
        #expect(error?.errorNumber == 9646)
        #expect(error?.retryAfterSeconds == nil)
        _ = try await fixture.simulator.serviceConfig()
    }

    @Test func aFaultedWriteRecordsNoEvent() async throws {
        let fixture = try SimulatorFixture()
        try await fixture.simulator.injectFaults(.internalError, count: 1)
        let error = await appleError {
            try await fixture.simulator.associate(token: fixture.token(), AssociationRequest(assets: [SimulatorFixture.app], serialNumbers: ["S1"]))
        }
        #expect(error?.errorNumber == 9603)
        #expect(error?.httpStatus == 500)
        #expect(try await fixture.simulator.allAssignments().isEmpty)
    }

    @Test func faultsPersistAcrossInstancesAndAreServedInOrder() async throws {
        let fixture = try SimulatorFixture()
        try await fixture.simulator.injectFaults(.tooManyRequests, count: 1)
        try await fixture.simulator.injectFaults(.temporarilyUnavailable(retryAfterSeconds: 3), count: 1)
        let other = try AppleSimulator(statePath: fixture.statePath)
        let first = await appleError { try await other.serviceConfig() }
        let second = await appleError { try await fixture.simulator.serviceConfig() }
        #expect(first?.errorNumber == 9646)
        #expect(second?.errorNumber == 9729)
        _ = try await other.serviceConfig()
    }
}
