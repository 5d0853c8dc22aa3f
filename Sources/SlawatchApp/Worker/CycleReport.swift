import Foundation
import SlawatchCore

/// What one worker cycle did: how many tickets it evaluated and events it recorded, what its
/// sends gave, when the next crossing is due, and how long each phase took (for its log line).
struct CycleReport {
    /// Tickets with a clock, the settled ones (stopped, unchanged, not recomputed) included.
    var evaluated = 0
    var settled = 0
    var unmatched = 0
    var events = 0
    var notified = 0
    var tally = Dispatcher.Tally()
    /// Unsent deliveries the evaluation superseded by a later event, by channel.
    var superseded: [String: Int] = [:]
    /// The earliest instant a running ticket crosses its next level, if any.
    var nextCrossing: Instant?
    var evaluatedHere = false
    var full = false
    /// Seconds spent per phase, for the cycle's log line.
    var phases: [(String, Double)] = []
    private var lap = Date()

    /// Ends the current phase under `name` and starts the next.
    mutating func phase(_ name: String) {
        phases.append((name, Date().timeIntervalSince(lap)))
        lap = Date()
    }
}
