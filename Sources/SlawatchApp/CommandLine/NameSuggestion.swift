/// The name someone most likely meant when they mistyped one: the closest by edit distance, for a
/// "did you mean" in a usage error.
enum NameSuggestion {
    /// The candidate nearest to `name`, or nil when none is near enough to be a likely typo: at most
    /// a third of the name's length away (and never more than two edits for a short name), or else
    /// the only candidate that starts with it (`dry` for `dry-run`). Ties go to the first in order.
    static func closest(to name: String, among candidates: [String]) -> String? {
        let limit = max(2, name.count / 3)
        var best: (name: String, distance: Int)?
        for candidate in candidates.sorted() {
            let d = distance(name, candidate)
            if d <= limit && d < (best?.distance ?? Int.max) { best = (candidate, d) }
        }
        if let best { return best.name }
        let extending = candidates.filter { !name.isEmpty && $0.hasPrefix(name) }
        return extending.count == 1 ? extending[0] : nil
    }

    /// The optimal string alignment distance: insertions, deletions, substitutions and swaps of two
    /// neighbouring characters each count one.
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a)
        let y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        // Three rows of the classic table are enough: the current one and the two before it.
        var before = [Int](repeating: 0, count: y.count + 1)
        var previous = Array(0...y.count)
        var current = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            current[0] = i
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1] {
                    current[j] = min(current[j], before[j - 2] + 1)
                }
            }
            (before, previous, current) = (previous, current, before)
        }
        return previous[y.count]
    }
}
