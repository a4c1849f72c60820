import Allot
import AllotCore
import Foundation
import Hummingbird

/// A tenant's content tokens: upload a `.vpptoken`, renew, remove, take over, sync, list.
/// A token file travels only in request bodies; no answer carries it or any part of it.
struct TokensController {
    let engine: Allot

    struct TokenJSON: ResponseEncodable {
        let id: Int64
        let locationUid: String
        let locationName: String
        let orgName: String
        let expiresAt: String
        let expiresInDays: Int
        let state: String
        let ownerName: String?
        let priority: Int
        let usable: Bool
        let lastSyncAt: String?

        init(_ token: TokenRecord, now: Int64 = Int64(Date().timeIntervalSince1970)) {
            id = token.id.rawValue
            locationUid = token.locationUid
            locationName = token.locationName
            orgName = token.orgName
            expiresAt = iso8601(token.expiresAt)
            expiresInDays = Int((token.expiresAt - now) / 86_400)
            state = token.state.rawValue
            ownerName = token.ownerName
            priority = token.priority
            usable = token.isUsable(now: now)
            lastSyncAt = token.lastSyncAt.map(iso8601)
        }
    }

    struct TokenList: ResponseEncodable {
        let tokens: [TokenJSON]
    }

    struct SyncAnswer: ResponseEncodable {
        let tokens: [TokenSyncReport]
    }

    func addRoutes(to group: RouterGroup<AllotRequestContext>) {
        group.get("tokens", use: list)
        group.post("tokens", use: add)
        group.post("tokens/{token}/renew", use: renew)
        group.delete("tokens/{token}", use: remove)
        group.post("tokens/{token}/takeover", use: takeOver)
        group.post("tokens/{token}/sync", use: syncOne)
        group.post("sync", use: syncAll)
    }

    @Sendable func list(_ request: Request, context: AllotRequestContext) async throws -> TokenList {
        TokenList(tokens: try await engine.tokenList(tenant: try context.requireTenant()).map { TokenJSON($0) })
    }

    @Sendable func add(_ request: Request, context: AllotRequestContext) async throws -> EditedResponse<TokenJSON> {
        let tenant = try context.requireTenant()
        let takeover = try request.queryBool("takeover")
        let priority = try request.queryInt("priority") ?? 0
        let file = try await Self.tokenFile(request)
        let token = try await engine.addToken(tenant: tenant, fileContents: file, takeover: takeover, priority: priority)
        return EditedResponse(status: .created, response: TokenJSON(token))
    }

    @Sendable func renew(_ request: Request, context: AllotRequestContext) async throws -> TokenJSON {
        let tenant = try context.requireTenant()
        let reference = try context.parameters.require("token")
        let file = try await Self.tokenFile(request)
        return TokenJSON(try await engine.renewToken(tenant: tenant, token: reference, fileContents: file))
    }

    @Sendable func remove(_ request: Request, context: AllotRequestContext) async throws -> RevocationReport {
        try await engine.removeToken(tenant: try context.requireTenant(), token: try context.parameters.require("token"))
    }

    @Sendable func takeOver(_ request: Request, context: AllotRequestContext) async throws -> TakeoverReport {
        let tenant = try context.requireTenant()
        return try await engine.takeOver(tenant: tenant, token: try context.parameters.require("token"), cleanUp: try request.queryBool("cleanUp"))
    }

    @Sendable func syncOne(_ request: Request, context: AllotRequestContext) async throws -> SyncAnswer {
        SyncAnswer(tokens: try await engine.sync(tenant: try context.requireTenant(), token: try context.parameters.require("token")))
    }

    @Sendable func syncAll(_ request: Request, context: AllotRequestContext) async throws -> SyncAnswer {
        SyncAnswer(tokens: try await engine.sync(tenant: try context.requireTenant()))
    }

    /// The raw `.vpptoken` file of the body (as `curl --data-binary @file.vpptoken` sends it).
    static func tokenFile(_ request: Request) async throws -> String {
        let bytes = try await request.bodyBytes(limit: ServerLimits.tokenFileBytesMax)
        guard !bytes.isEmpty else { throw APIError.invalidInput("send the .vpptoken file as the request body, e.g. curl --data-binary @Main.vpptoken") }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw APIError.invalidInput("the body is not a .vpptoken file: it is not text")
        }
        return text
    }
}

extension RevocationReport: ResponseEncodable {}
extension TakeoverReport: ResponseEncodable {}
extension ImportReport: ResponseEncodable {}
extension BatchOutcome: ResponseEncodable {}
extension PushReport: ResponseEncodable {}
