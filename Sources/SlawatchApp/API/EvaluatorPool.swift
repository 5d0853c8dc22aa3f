import SlawatchCore
import Synchronization

/// Evaluators of one rule set lent to requests, one request at a time each, and kept between them.
///
/// An ``SLAEvaluator`` builds each calendar's working timeline the first time a clock asks it (a year
/// and more of working intervals, each day through the time zone's offsets); a request that made its own
/// evaluator paid that for a single ticket. A kept evaluator answers from the timelines it built, with
/// the same figures (a timeline widens itself when asked about an instant outside it, and its answers do
/// not depend on what it covers). At most `capacity` idle evaluators are kept; more concurrent requests
/// get new ones, which are kept too when they come back while there is room.
final class EvaluatorPool: @unchecked Sendable {
    // @unchecked: `idle` is read and written only inside `lock`; a lent evaluator is used only by the
    // thread that borrowed it, until it is given back.
    let rules: RuleSet
    let capacity: Int
    private let lock = Mutex(())
    private var idle: [SLAEvaluator] = []

    init(rules: RuleSet, capacity: Int = 64) {
        self.rules = rules
        self.capacity = max(0, capacity)
    }

    /// Runs `body` with an evaluator of these rules that no other thread uses meanwhile.
    func withEvaluator<T>(_ body: (SLAEvaluator) throws -> T) rethrows -> T {
        let evaluator = borrow()
        defer { giveBack(evaluator) }
        return try body(evaluator)
    }

    private func borrow() -> SLAEvaluator {
        let kept: SLAEvaluator? = lock.withLock { _ in idle.popLast() }
        return kept ?? SLAEvaluator(rules: rules)
    }

    private func giveBack(_ evaluator: SLAEvaluator) {
        lock.withLock { _ in
            if idle.count < capacity { idle.append(evaluator) }
        }
    }
}
