import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct PagingTests {
    @Test func assetsComeInPagesAndTheLastHasNoNextPageIndex() async throws {
        // 3 seeded assets + 8 extra = 11 assets, 4 per page: pages of 4, 4, 3.
        let fixture = try SimulatorFixture(extraAssets: 8)
        try await fixture.simulator.setPageSize(4)
        let token = try fixture.token()
        var seen: [String] = []
        var pageIndex: Int? = 0
        var pagesRead = 0
        while let index = pageIndex, pagesRead < 10 {
            let page = try await fixture.simulator.assets(token: token, query: AssetsQuery(pageIndex: index))
            #expect(page.currentPageIndex == index)
            #expect(page.totalPages == 3)
            #expect(page.size == 11)
            #expect(page.uId == SimulatorFixture.mainCampus)
            seen += page.assets.map(\.adamId)
            pageIndex = page.nextPageIndex
            pagesRead += 1
        }
        #expect(pagesRead == 3)
        #expect(seen.count == 11)
        #expect(Set(seen).count == 11)
    }

    @Test func pageIndexPastTheEndAnswers9602() async throws {
        let fixture = try SimulatorFixture(extraAssets: 8)
        try await fixture.simulator.setPageSize(4)
        let error = await appleError { try await fixture.simulator.assets(token: fixture.token(), query: AssetsQuery(pageIndex: 3)) }
        #expect(error?.errorNumber == 9602)
        #expect(error?.httpStatus == 400)
    }

    @Test func emptyListHasOnePageZeroWithoutNext() async throws {
        let fixture = try SimulatorFixture()
        let page = try await fixture.simulator.assignments(token: fixture.token(), query: AssignmentsQuery())
        #expect(page.assignments.isEmpty)
        #expect(page.totalPages == 1)
        #expect(page.size == 0)
        #expect(page.nextPageIndex == nil)
    }

    @Test func assignmentsPageAndFilterBySerialAndAsset() async throws {
        let fixture = try SimulatorFixture()
        try await fixture.simulator.setPageSize(2)
        _ = try await fixture.assign([SimulatorFixture.app, SimulatorFixture.fixedApp], SimulatorFixture.serials(3))
        let token = try fixture.token()

        let first = try await fixture.simulator.assignments(token: token, query: AssignmentsQuery())
        #expect(first.size == 6)
        #expect(first.totalPages == 3)
        #expect(first.nextPageIndex == 1)
        let last = try await fixture.simulator.assignments(token: token, query: AssignmentsQuery(pageIndex: 2))
        #expect(last.nextPageIndex == nil)

        let oneSerial = try await fixture.simulator.assignments(token: token, query: AssignmentsQuery(serialNumber: "C02000001"))
        #expect(oneSerial.size == 2)
        let oneApp = try await fixture.simulator.assignments(
            token: token, query: AssignmentsQuery(adamId: SimulatorFixture.fixedApp.adamId, pricingParam: "STDQ"))
        #expect(oneApp.size == 3)
        #expect(oneApp.assignments.allSatisfy { $0.adamId == SimulatorFixture.fixedApp.adamId })
    }

    /// Every combination of filters answers exactly what filtering the whole list answers, in
    /// its order: the serial filter finds a serial through each asset's index, not its own.
    @Test func everyCombinationOfFiltersAnswersWhatFilteringTheWholeListAnswers() async throws {
        let fixture = try SimulatorFixture()
        let token = try fixture.token()
        _ = try await fixture.assign([SimulatorFixture.app, SimulatorFixture.fixedApp], SimulatorFixture.serials(3))
        let since = try await fixture.simulator.assignments(token: token, query: AssignmentsQuery()).versionId
        _ = try await fixture.assign([SimulatorFixture.fixedApp, SimulatorFixture.app], ["C02000000", "C02000007", "C02000001"])
        // The same serial at another location is never answered to this one.
        _ = try await fixture.assign([SimulatorFixture.app], ["C02000001", "C02000009"], uId: SimulatorFixture.annex)
        let whole = try await fixture.simulator.assignments(token: token, query: AssignmentsQuery()).assignments
        #expect(whole.count == 8)
        // Rows the second event added: everything after the first event's six.
        let added = Array(whole[6...])

        for adamId in [nil, SimulatorFixture.app.adamId, SimulatorFixture.fixedApp.adamId, "999"] {
            for pricingParam in [nil, "STDQ", "PLUS"] {
                for serial in [nil, "C02000001", "C02000007", "C02000009"] {
                    for sinceVersionId in [nil, since] {
                        let query = AssignmentsQuery(adamId: adamId, pricingParam: pricingParam, serialNumber: serial, sinceVersionId: sinceVersionId)
                        let page = try await fixture.simulator.assignments(token: token, query: query)
                        let expected = (sinceVersionId == nil ? whole : added).filter { row in
                            (adamId.map { $0 == row.adamId } ?? true) && (pricingParam.map { $0 == row.pricingParam } ?? true)
                                && (serial.map { $0 == row.serialNumber } ?? true)
                        }
                        #expect(page.assignments == expected, "\(query)")
                        #expect(page.size == expected.count, "\(query)")
                    }
                }
            }
        }
    }

    @Test func versionIdMovesAfterEveryWriteAndNotAfterReads() async throws {
        let fixture = try SimulatorFixture()
        let token = try fixture.token()
        let v0 = try await fixture.simulator.assets(token: token, query: AssetsQuery()).versionId
        let again = try await fixture.simulator.assets(token: token, query: AssetsQuery()).versionId
        #expect(again == v0)

        _ = try await fixture.assign([SimulatorFixture.app], ["S1"])
        let v1 = try await fixture.simulator.assignments(token: token, query: AssignmentsQuery()).versionId
        #expect(v1 != v0)

        try await fixture.simulator.setTotal(location: SimulatorFixture.mainCampus, adamId: SimulatorFixture.app.adamId,
                                             pricingParam: "STDQ", total: 20)
        let v2 = try await fixture.simulator.assets(token: token, query: AssetsQuery()).versionId
        #expect(v2 != v1)

        try await fixture.simulator.claim(location: SimulatorFixture.mainCampus, mdmInfo: AppleSimulator.appleConfiguratorMDMInfo())
        let v3 = try await fixture.simulator.assets(token: token, query: AssetsQuery()).versionId
        #expect(v3 != v2)
        #expect(Set([v0, v1, v2, v3]).count == 4)
    }

    @Test func countsFollowAssignmentsAndSetTotal() async throws {
        let fixture = try SimulatorFixture(appTotal: 4)
        _ = try await fixture.assign([SimulatorFixture.app], SimulatorFixture.serials(3))
        var asset = try await fixture.asset(SimulatorFixture.app)
        #expect(asset.totalCount == 4)
        #expect(asset.assignedCount == 3)
        #expect(asset.availableCount == 1)

        // A refund below what is held: nothing available, the over-allocation stays visible.
        try await fixture.simulator.setTotal(location: SimulatorFixture.mainCampus, adamId: SimulatorFixture.app.adamId,
                                             pricingParam: "STDQ", total: 2)
        asset = try await fixture.asset(SimulatorFixture.app)
        #expect(asset.totalCount == 2)
        #expect(asset.assignedCount == 3)
        #expect(asset.availableCount == 0)
    }
}
