import Foundation
import SlawatchCore
import SlawatchStore

/// A full pass: every ticket, streamed one at a time so that memory follows the batch, not the
/// help desk. A ticket whose stored clock is exactly what it evaluates to now (same version of
/// the ticket, same clock, next crossing still ahead) can have no new event and needs no write;
/// only the others are batched to the event store and the clock store. A pass that runs a report
/// evaluates every ticket, the settled ones too.
struct FullPass {
    let context: PassContext
    /// Changed clocks (and their events) written at a time.
    static let chunkSize = 20_000

    /// What an incremental cycle after this pass starts from: the versions it stored and the
    /// views' description it read. Nil in a dry run, which stores nothing.
    struct Handover {
        let seen: EvaluatedVersions
        let layout: SourceRepository.Layout
    }

    func run(
        _ connection: StoreConnection, now: Instant, report: inout CycleReport, runner: ReportRunner, clocks: ClockStore
    ) throws -> Handover? {
        let rules = context.rules
        let dryRun = context.dryRun
        let source = try SourceRepository(connection: connection, rules: rules)
        var reportsDue = false
        if !dryRun && !rules.reports.isEmpty { reportsDue = try runner.anyDue(now: now) }
        let stream = try SourceStream(
            settings: connection.settings, source: source, withClocks: !dryRun, skipSettled: !reportsDue)
        let evaluator = context.evaluator
        let store = EventStore(connection: connection, rules: rules)
        let cumulative = dryRun ? [:] : try clocks.runningSums(at: now)
        let remindersWanted = context.remindersWanted
        var unmatched: [UnmatchedTicket] = []
        var active: [String] = []
        var forReports: [EvaluatedTicket] = []
        var nextCrossing: Instant?
        var changed: [EvaluatedTicket] = []
        var histories: [String: [StatusChange]] = [:]
        var removed: [String] = []
        var seen = EvaluatedVersions()
        let lookBack = now + (-FullPassSchedule.overlap)
        func flush() throws {
            guard !changed.isEmpty || !removed.isEmpty else { return }
            let outcome = try store.record(changed, now: now, dryRun: dryRun)
            report.events += outcome.recorded
            report.notified += outcome.notified.count
            report.superseded.merge(outcome.superseded, uniquingKeysWith: +)
            if dryRun {
                context.printDryRun(outcome)
            } else {
                try clocks.store(changed, histories: histories, now: now, cumulative: cumulative, removed: removed)
            }
            changed.removeAll(keepingCapacity: true)
            histories.removeAll(keepingCapacity: true)
            removed.removeAll(keepingCapacity: true)
        }
        while let (ticket, history, stored) = try stream.next() {
            switch evaluator.evaluate(consume ticket, changes: history, now: now) {
            case .clock(let e):
                report.evaluated += 1
                if let next = e.reading.nextCrossing, nextCrossing == nil || next < nextCrossing! {
                    nextCrossing = next
                }
                if remindersWanted && (e.reading.status == .breached || e.reading.status == .at_risk)
                    && e.reading.state != .stopped
                {
                    active.append(e.ticket.ticketID)
                }
                if reportsDue { forReports.append(e) }
                let recent = e.ticket.updatedAt > lookBack
                let storable =
                    dryRun || (stored == nil && !recent)
                    ? nil : ClockStore.storable(e, history: history, now: now, cumulative: cumulative)
                if dryRun || stored == nil || storable != stored {
                    if !history.isEmpty { histories[e.ticket.ticketID] = history }
                    changed.append(e)
                }
                // What the next incremental cycle will look back over and find stored already.
                if recent && storable != nil { seen.insert(e.ticket) }
            case .unmatched(let u):
                unmatched.append(u)
                if stored != nil { removed.append(u.ticket.ticketID) }
            }
            if changed.count + removed.count >= Self.chunkSize { try flush() }
        }
        try flush()
        report.evaluated += stream.settled
        report.settled = stream.settled
        report.unmatched = unmatched.count
        report.nextCrossing = nextCrossing
        report.phase("evaluate")
        try context.reportUnmatched(connection, unmatched, now: now)
        guard !dryRun else { return nil }
        try clocks.remove(stream.orphanClocks)
        try clocks.setEvaluatedVersions(seen)
        try clocks.setWatermark("seen", now)
        try clocks.setWatermark("full", now)
        report.phase("clocks")
        if remindersWanted { try context.queueReminders(store, activeTickets: active, now: now) }
        if reportsDue {
            for run in try runner.runDue(tickets: forReports, now: now) {
                context.log.info(
                    run.skipped ? "report run skipped" : "report run",
                    [
                        "report": run.report, "scheduled_at": run.scheduledAt.iso8601,
                        "deliveries": String(run.deliveries),
                    ])
            }
        }
        // Incremental cycles go on with the views' description as this pass read it.
        return Handover(seen: seen, layout: source.layout)
    }
}
