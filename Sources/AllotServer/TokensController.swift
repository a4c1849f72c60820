import Allot
import AllotCore
import AllotViews
import Foundation
import Hummingbird

/// A tenant's content tokens: upload a `.vpptoken`, renew, remove, take over, sync, list.
/// A token file travels only in request bodies; no answer carries it or any part of it.
struct TokensController {

    func addRoutes(to group: RouterGroup<AllotRequestContext>) {
        group.get("tokens", use: list)
        group.post("tokens", use: add)
        group.post("tokens/{token}/renew", use: renew)
        group.delete("tokens/{token}", use: remove)
        group.post("tokens/{token}/takeover", use: takeOver)
        group.post("tokens/{token}/sync", use: syncOne)
        group.post("sync", use: syncAll)
    }

    @Sendable func list(_ request: Request, context: AllotRequestContext) async throws -> TokenListView {
        TokenListView(try await context.engine.tokenList(tenant: try context.requireTenant()))
    }

    /// Adds the token (201), or with `dryRun=true` says what adding would do and changes
    /// nothing (200, refusals included: they are the answer).
    @Sendable func add(_ request: Request, context: AllotRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let takeover = try request.queryBool("takeover")
        let priority = try request.queryInt("priority") ?? 0
        let dryRun = try request.queryBool("dryRun")
        let file = try await Self.tokenFile(request)
        if dryRun {
            let inspection = try await context.engine.inspectTokenFile(tenant: tenant, fileContents: file, takeover: takeover)
            return try TokenInspectionView(inspection).response(from: request, context: context)
        }
        let token = try await context.engine.addToken(tenant: tenant, fileContents: file, takeover: takeover, priority: priority)
        return try EditedResponse(status: .created, response: TokenView(token)).response(from: request, context: context)
    }

    /// Renews the token, or with `dryRun=true` says what renewing would do and changes nothing.
    @Sendable func renew(_ request: Request, context: AllotRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let reference = try context.parameters.require("token")
        let dryRun = try request.queryBool("dryRun")
        let file = try await Self.tokenFile(request)
        if dryRun {
            let inspection = try await context.engine.inspectTokenFile(tenant: tenant, fileContents: file, renewing: reference)
            return try TokenInspectionView(inspection).response(from: request, context: context)
        }
        return try TokenView(try await context.engine.renewToken(tenant: tenant, token: reference, fileContents: file)).response(from: request, context: context)
    }

    @Sendable func remove(_ request: Request, context: AllotRequestContext) async throws -> RevocationView {
        RevocationView(try await context.engine.removeToken(tenant: try context.requireTenant(), token: try context.parameters.require("token")))
    }

    @Sendable func takeOver(_ request: Request, context: AllotRequestContext) async throws -> TakeoverView {
        let tenant = try context.requireTenant()
        return TakeoverView(try await context.engine.takeOver(tenant: tenant, token: try context.parameters.require("token"), cleanUp: try request.queryBool("cleanUp")))
    }

    @Sendable func syncOne(_ request: Request, context: AllotRequestContext) async throws -> SyncView {
        SyncView(try await context.engine.sync(tenant: try context.requireTenant(), token: try context.parameters.require("token")))
    }

    @Sendable func syncAll(_ request: Request, context: AllotRequestContext) async throws -> SyncView {
        SyncView(try await context.engine.sync(tenant: try context.requireTenant()))
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
