import Allot
import AllotCore
import Hummingbird
import Metrics
import Prometheus

/// The Prometheus registry of a server. `allot serve` bootstraps swift-metrics with it once
/// per process (the engine's counters land in it); a test passes a registry of its own.
public enum ServerMetrics {
    /// The process's registry, made and bootstrapped on first use (swift-metrics allows one
    /// bootstrap per process; a static `let` runs its initialiser exactly once).
    public static let processRegistry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    public enum Name {
        public static let outboxOperations = "allot_outbox_operations"
        public static let tokens = "allot_tokens"
        public static let syncLag = "allot_sync_lag_seconds"
        public static let webhookBacklog = "allot_webhook_backlog_events"
        public static let connectionsOpen = "allot_connections_open"
        public static let connectionsRefused = "allot_connections_refused_total"
    }
}

/// `GET /metrics`: Prometheus text. Counters come from where things happen (the engine's Apple
/// calls and batches); gauges are read from the ledger at each scrape. No tenant key: nothing
/// here names a tenant, a token or a device.
struct MetricsRoute {
    let engine: Allot
    let registry: PrometheusCollectorRegistry

    @Sendable func scrape(_ request: Request, context: AllotRequestContext) async throws -> Response {
        let gauges = try await engine.gauges()
        for (state, count) in gauges.outboxByState {
            registry.makeGauge(name: ServerMetrics.Name.outboxOperations, labels: [("state", state.rawValue)],
                               help: "Outbox operations by state").set(Double(count))
        }
        for (state, count) in gauges.tokensByState {
            registry.makeGauge(name: ServerMetrics.Name.tokens, labels: [("state", state.rawValue)], help: "Content tokens by state").set(Double(count))
        }
        registry.makeGauge(name: ServerMetrics.Name.syncLag, help: "Seconds since the active token synced longest ago (0 without active tokens)")
            .set(Double(gauges.syncLagSeconds ?? 0))
        registry.makeGauge(name: ServerMetrics.Name.webhookBacklog, help: "Events not yet delivered to webhooks")
            .set(Double(gauges.webhookBacklog))
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
    }
}
