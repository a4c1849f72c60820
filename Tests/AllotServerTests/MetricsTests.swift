import Allot
import AllotServer
import AppleSimulator
import Crypto
import Foundation
import Prometheus
import Testing

/// GET /metrics after real work over HTTP: the counters the engine moved and the gauges read
/// from the ledger, in Prometheus text, without a key and without a tenant's name.
@Suite(.timeLimit(.minutes(5))) struct MetricsTests {
    /// `name{labels} value` lines of Prometheus text, by the whole series.
    struct Scrape {
        let series: [String: Double]

        init(_ text: String) {
            var series: [String: Double] = [:]
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
                series[String(line[..<space])] = value
            }
            self.series = series
        }

        /// The value of `name` whose labels include every one of `labels` (summed if several do).
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            let matches = series.filter { key, _ in
                let base = key.split(separator: "{", maxSplits: 1).first.map(String.init) ?? key
                guard base == name else { return false }
                return labels.allSatisfy { key.contains("\($0.key)=\"\($0.value)\"") }
            }
            return matches.isEmpty ? nil : matches.values.reduce(0, +)
        }
    }

    @Test func aScrapeAfterRealWorkCountsAppleCallsBatchesTokensTheOutboxAndTheWebhookBacklog() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let registry = PrometheusCollectorRegistry()
        var settings = EngineSettings()
        settings.pollIntervalSeconds = 0
        settings.paceRequests = false
        settings.metrics = EngineMetrics(factory: PrometheusMetricsFactory(registry: registry))
        let engine = try Allot(databasePath: world.databasePath, apple: world.simulator,
                               secrets: SecretBox(key: SymmetricKey(size: .bits256)), settings: settings)
        let text = try await withLiveServer(world, engine: engine, configure: { $0.metricsRegistry = registry }) { live in
            let key = try await live.createTenant("springfield", adminKey: world.adminKey)
            let base = "/v1/tenants/springfield"
            #expect(try await live.send(.POST, base + "/tokens", key: key, body: Array(try world.tokenFile("1001").utf8)).status == 201)
            _ = try await live.json(.POST, base + "/devices", key: key, ["devices": [["serialNumber": "SPR00000001"], ["serialNumber": "SPR00000002"]]])
            let batch = try await live.json(.POST, base + "/assignments", key: key,
                                            ["app": ServerWorld.sharedApp, "serialNumbers": ["SPR00000001", "SPR00000002", "NOPE0000001"]])
            #expect(batch.status == 200)
            _ = try await live.json(.POST, base + "/assignments", key: key,
                                    ["app": ServerWorld.sharedApp, "serialNumbers": ["SPR00000001"], "mode": "dry-run"])
            _ = try await live.json(.POST, base + "/webhooks", key: key, ["url": "https://mdm.example.invalid/allot"])
            // Apple says "too many requests" to the next call: counted with its error number.
            try await world.simulator.injectFaults(.tooManyRequests, count: 1)
            _ = try await live.send(.POST, base + "/sync", key: key)
            let scrape = try await live.send(.GET, "/metrics", key: nil)
            #expect(scrape.status == 200)
            #expect(scrape.headers.first { $0.0.lowercased() == "content-type" }?.1.hasPrefix("text/plain") == true)
            return scrape.text
        }
        let scrape = Scrape(text)
        #expect(scrape.value("allot_batches_total", ["direction": "assign", "result": "committed"]) == 1)
        #expect(scrape.value("allot_batches_total", ["direction": "assign", "result": "dry_run"]) == 1)
        #expect(scrape.value("allot_batch_items_total", ["direction": "assign", "result": "assigned"]) == 2)
        #expect(scrape.value("allot_batch_items_total", ["direction": "assign", "result": "unknown_device"]) == 1)
        #expect(scrape.value("allot_batch_items_total", ["direction": "assign", "result": "already_assigned"]) == 1, "the dry run's item")
        #expect(scrape.value("allot_tokens", ["state": "active"]) == 1)
        #expect(scrape.value("allot_tokens", ["state": "revoked"]) == 0)
        #expect(scrape.value("allot_outbox_operations", ["state": "pending"]) == 1, "one associate for the two serials, not pushed")
        #expect(scrape.value("allot_outbox_operations", ["state": "done"]) == 0)
        #expect(scrape.value("allot_webhook_backlog_events") == 1, "webhook_added waits: no sender runs here")
        #expect(scrape.value("allot_sync_lag_seconds").map { $0 >= 0 && $0 < 60 } == true)
        #expect(scrape.value("allot_apple_calls_total", ["call": "client_config", "result": "ok"]) ?? 0 >= 1)
        #expect(scrape.value("allot_apple_calls_total", ["call": "update_client_config", "result": "ok"]) == 1, "the claim when the token was added")
        #expect(scrape.value("allot_apple_calls_total", ["result": "apple_error", "error_number": "9646"]) == 1)
        #expect(scrape.value("allot_apple_call_duration_seconds_count", ["call": "client_config"]) ?? 0 >= 2)
        #expect(scrape.value("allot_apple_call_duration_seconds_bucket", ["call": "assets", "le": "+Inf"]) ?? 0 >= 1)
        #expect(!text.contains("springfield"), "no tenant named")
        #expect(!text.contains("SPR0000000"), "no serial")
        #expect(!text.contains("1001"), "no location")
    }
}
