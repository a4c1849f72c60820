// The `--fairness` table, in the style of the other allot-bench modes: one row per binary and
// round, the binaries grouped, so "before" and "after" of one session read side by side.
import BenchmarkSupport
import Foundation

extension Fairness {
    /// The issue's goals: each small assignment held within this, and the big delivery at least
    /// this fraction of the allowed rate.
    static let smallGoalSeconds = 1.0
    static let bigGoalRatio = 0.8

    static func report(_ runs: [Run], setup: Setup) {
        guard let limits = runs.first?.limits else { return }
        func seconds(_ value: Double?) -> String { value.map { String(format: "%.2f s", $0) } ?? "> \(Int(smallSecondsMax)) s" }
        /// Median and max of a sample in which nil (never held) counts as the longest.
        func medianMax(_ values: [Double?]) -> String {
            let sorted = values.map { $0 ?? .infinity }.sorted()
            let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
            func shown(_ value: Double) -> String { seconds(value.isFinite ? value : nil) }
            return "\(shown(median)) / \(shown(sorted.last!))"
        }
        print("")
        print("Fairness: one tenant's \(format(Double(setup.devices))) devices delivered by `allot serve` while \(smallTenants) other tenants "
            + "assign one device each over HTTP; \(latencyMs) ms a call (`allot sim serve --latency-ms`), Apple's limit "
            + "\(limits.maxRequestPerSecond) calls/s per token enforced, \(format(Double(limits.maxSerialNumbers))) serials per call")
        print(setup.bigOverHTTP
            ? "The big roll-out is committed over HTTP (`allDevices`) while the worker runs; its delivery is timed from that request."
            : "The big roll-out is committed with `allot assign --all-devices --no-push` while `allot serve` is stopped; its delivery "
                + "is timed from `allot serve` starting again.")
        print("")
        print("| allot | round | small assignment held after, during the big delivery (median / max of \(smallTenants)) "
            + "| floor: each alone (median / max of \(smallTenants)) | big held when they asked | small ones held before it ended "
            + "| small HTTP answer (median) "
            + "| big delivery (held/s) | allowed (held/s) | ratio | big: until Apple held all (its commit) | allot CPU during the big delivery |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for run in runs.sorted(by: { ($0.binary.index, $0.round) < ($1.binary.index, $1.round) }) {
            print("| \(run.binary.label) | \(run.round) | \(medianMax(run.during.smallHeld)) | \(medianMax(run.floorHeld)) "
                + "| \(format(Double(run.during.bigAtSmallRequests))) of \(format(Double(run.devices))) | \(run.during.heldDuringBigDelivery) of \(smallTenants) | \(seconds(Measure.median(run.during.smallAnswered))) "
                + "| \(format(run.during.bigRate))\(run.during.bigHeld < run.devices ? " (stopped: \(format(Double(run.during.bigHeld))) held)" : "") "
                + "| \(format(run.allowedRate)) | \(ratio(run.ratio)) "
                + "| \(String(format: "%.1f s", run.during.bigSeconds)) (\(String(format: "%.1f s", run.rollOutSeconds))) "
                + "| \(String(format: "%.1f s", run.cpuSeconds)) |")
        }
        print("")
        print("Goals: each small assignment held within \(String(format: "%.1f", smallGoalSeconds)) s of its request; "
            + "the big delivery at \(ratio(bigGoalRatio)) of the allowed rate or more. "
            + "Held: the simulator's state has the assignment (read every \(smallPollMilliseconds) ms). The simulator writes it when "
            + "allot's poll arrives and spends its latency on the answer, so the floor is the send's round trip plus allot's own "
            + "waits (allot learns of it one latency later). "
            + "Allowed = \(limits.maxRequestPerSecond) calls/s ÷ 2 × \(format(Double(limits.maxSerialNumbers))) serials: "
            + "one token's operations at Apple's rate, each one send of a full call and one status poll. "
            + "Big delivery = the big tenant's assignments Apple held per second, from the first held until all were. "
            + "Big held when they asked: the big delivery was under way when the small tenants sent theirs. Held before it ended: "
            + "small assignments Apple held while it still lacked some of the big delivery (not: they waited for all of it). CPU: `allot serve`'s user + system time over the big delivery (from its start until Apple held all).")
    }
}
