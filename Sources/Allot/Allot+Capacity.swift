import AllotCore
import AllotStore

extension Allot {
    /// The pools a lane round must count exactly before it sends associates
    /// (`DeliveryCapacity`): those of the window's associates about to be sent for the first
    /// time, less the pools with room for everything on its way.
    func poolsShortOfRoom(tenant: TenantID, token: TokenID, window: [LaneRound.Candidate]) throws -> [AssetKey: DeliveryCapacity.Pool] {
        let assets = LaneRound.assetsNeedingRoom(window, now: now)
        guard !assets.isEmpty else { return [:] }
        var pools: [AssetKey: DeliveryCapacity.Pool] = [:]
        for (key, figures) in try ledger.poolFigures(tenant: tenant, token: token, assets: assets) {
            let onTheirWay = window.reduce(0) { $1.footprint.asset == key ? $0 + $1.footprint.serials.count : $0 }
            if DeliveryCapacity.hasRoomForAll(total: figures.total, elsewhere: figures.elsewhere, rows: figures.rows, serialsOnTheirWay: onTheirWay) {
                continue
            }
            pools[key] = DeliveryCapacity.Pool(total: figures.total, elsewhere: figures.elsewhere,
                                               confirmed: try ledger.confirmedAssignments(token: token, asset: figures.asset))
        }
        return pools
    }
}
