import SlawatchCore
import SlawatchStore

/// An incremental cycle: the tickets updated since the previous cycle (looking back for late
/// commits) and those whose next crossing is due. Never in a dry run, which is always a full pass.
///
/// It keeps, from one cycle to the next of its worker, the source views' description and the
/// versions already evaluated; the second connection stays with the first, on its thread.
final class IncrementalCycle {
    let context: PassContext
    /// The worker runs cycle after cycle (not `--once`): it opens its second connection at its
    /// first incremental cycle rather than in the first that needs it.
    let runsManyCycles: Bool
    /// Below this many tickets a `--once` cycle uses one connection only.
    static let companionFrom = 200
    var layout: SourceRepository.Layout?
    var seen: EvaluatedVersions?

    init(context: PassContext, runsManyCycles: Bool) {
        self.context = context
        self.runsManyCycles = runsManyCycles
    }

    /// Starts from what a full pass stored.
    func take(_ handover: FullPass.Handover) {
        seen = handover.seen
        layout = handover.layout
    }

    func run(
        _ connection: StoreConnection, now: Instant, since: Instant, report: inout CycleReport, clocks: ClockStore
    ) throws {
        let rules = context.rules
        // What is kept between cycles is dropped when one fails: the views may have changed, or
        // the connections gone.
        var succeeded = false
        defer {
            if !succeeded {
                layout = nil
                connection.dropCompanion()
            }
        }
        let source =
            try layout.map { SourceRepository(connection: connection, layout: $0) }
            ?? SourceRepository(connection: connection, rules: rules)
        layout = source.layout
        var seen = try self.seen ?? clocks.evaluatedVersions()
        seen.forget(updatedAtOrBefore: since)
        report.phase("start")
        var ids: [String] = []
        var listed = Set<String>()
        for id in try source.ticketIDs(updatedAfter: since, except: seen) + clocks.due(now: now)
        where listed.insert(id).inserted {
            ids.append(id)
        }
        report.phase("changes")
        let split = ids.count >= Self.companionFrom || runsManyCycles
        var (tickets, histories) = try withCompanion(connection, split) {
            try source.ticketsWithEarlierReadings(ids, alongside: $0)
        }
        // A view that repeats a ticket gives it one clock: the first row's.
        listed.removeAll(keepingCapacity: true)
        tickets.removeAll { !listed.insert($0.0.ticketID).inserted }
        report.phase("tickets")
        var evaluated: [EvaluatedTicket] = []
        var unmatched: [UnmatchedTicket] = []
        // Only tickets past a level their stored clock had not reached can have a new event; the
        // others need no look at the events table.
        var candidates: [EvaluatedTicket] = []
        evaluated.reserveCapacity(tickets.count)
        for (ticket, earlier) in tickets {
            switch context.evaluator.evaluate(ticket, changes: histories[ticket.ticketID] ?? [], now: now) {
            case .clock(let e):
                evaluated.append(e)
                if EventDetector.mayHaveUnrecorded(e, earlier: earlier) { candidates.append(e) }
            case .unmatched(let u): unmatched.append(u)
            }
        }
        report.evaluated = evaluated.count
        report.unmatched = unmatched.count
        report.phase("evaluate")
        try context.reportUnmatched(connection, unmatched, now: now)
        let store = EventStore(connection: connection, rules: rules)
        let outcome = try store.record(candidates, now: now, dryRun: false)
        report.events = outcome.recorded
        report.notified = outcome.notified.count
        report.superseded.merge(outcome.superseded, uniquingKeysWith: +)
        report.phase("events")
        let cumulative = try clocks.runningSums(at: now)
        let stored = try withCompanion(connection, split) {
            try clocks.store(
                evaluated, histories: histories, now: now, cumulative: cumulative,
                removed: unmatched.map(\.ticket.ticketID), alongside: $0)
        }
        // A version counts as seen while its clock is stored. The set is written when the worker
        // stops (and by full passes): one left behind by a crash is older, which costs the next
        // worker some evaluations again.
        for e in evaluated {
            if stored.contains(e.ticket.ticketID) { seen.insert(e.ticket) } else { seen.remove(e.ticket) }
        }
        for u in unmatched { seen.remove(u.ticket) }
        self.seen = seen
        try clocks.setWatermark("seen", now)
        report.phase("clocks")
        if context.remindersWanted {
            try context.queueReminders(store, activeTickets: try clocks.active(now: now), now: now)
        }
        report.nextCrossing = try clocks.nextCrossing(after: now)
        succeeded = true
    }

    /// Runs `body` with a second connection (when `wanted` and one can be had), for the cycle to
    /// read and write half of its tickets on while the other half goes through the first. The
    /// second connection is a convenience: when it fails, it is dropped and `body` runs again on
    /// the first alone (reads and clock writes can be repeated).
    private func withCompanion<T>(
        _ connection: StoreConnection, _ wanted: Bool, _ body: (StoreConnection?) throws -> T
    ) throws -> T {
        guard wanted, let second = connection.companion() else { return try body(nil) }
        do {
            return try body(second)
        } catch  where !second.isHealthy && connection.isHealthy {
            context.log.warning(
                "second database connection lost; going on with one", ["error": CommandError.from(error).message])
            connection.dropCompanion()
            return try body(nil)
        }
    }
}
