/// How long the rest of a piece of work will take, for a progress line: the pace so far applied
/// to what is left. Pushes and roll-outs go at a steady pace (Apple's per-token request rate,
/// chunks of one size), so the pace so far is the best guess there is; before anything is done
/// there is no pace, and no guess.
public enum TimeLeft {
    /// Seconds left, nil before the first unit of work is done. Work done beyond the total (a
    /// request sent again) counts as the total: the estimate never goes below zero.
    public static func seconds(done: Int, total: Int, elapsedSeconds: Double) -> Double? {
        guard done > 0, elapsedSeconds >= 0 else { return nil }
        let left = max(0, total - done)
        return elapsedSeconds / Double(min(done, max(total, 1))) * Double(left)
    }

    /// `42s`, `3m 5s`, `2h 10m`: whole seconds, rounded up so that "0s" means done.
    public static func text(seconds: Double) -> String {
        let whole = Int(max(0, seconds).rounded(.up))
        return whole < 60 ? "\(whole)s" : whole < 3600 ? "\(whole / 60)m \(whole % 60)s" : "\(whole / 3600)h \(whole / 60 % 60)m"
    }
}
