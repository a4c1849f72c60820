/// The name someone probably meant: the known one within a small edit distance of what was
/// typed. One rule for every suggestion (a command, an option, a tenant, an event kind, an
/// app), so the faces suggest alike.
public enum NearestName {
    /// Characters compared, at most: names are slugs, kinds and app ids, a few dozen long.
    public static let charactersMax = 64

    /// The candidate within a small edit distance of `word` (2, or a third of its length),
    /// the nearest, ties broken by order; nil when none is close.
    public static func nearest(_ word: String, among candidates: [String]) -> String? {
        let allowed = max(2, word.count / 3)
        let scored = candidates.map { ($0, editDistance(word, $0)) }.filter { $0.1 <= allowed }
        return scored.min { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }?.0
    }

    /// Levenshtein distance over the first `charactersMax` characters of each.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.prefix(charactersMax)), b = Array(b.prefix(charactersMax))
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
