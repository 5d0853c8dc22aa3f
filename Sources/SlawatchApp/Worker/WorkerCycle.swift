import Foundation
import SlawatchCore
import SlawatchStore

/// One full cycle of the worker: evaluate every ticket (when this process holds the evaluator
/// lock), record new events with their deliveries, then send what is due.
///
/// The worker keeps one connection for its cycles (its session holds the evaluator's lock), on
/// a thread of its own: a cycle's evaluation runs there whole, in one hop from the worker's task,
/// and so do the deliveries' claims and records.
final class WorkerCycle {
    let rules: RuleSet
    let database: ConnectionThread
    let workerID: String
    let dryRun: Bool
    let output: (String) -> Void
    let log: Logger
    let dispatcher: Dispatcher
    /// Every cycle evaluates every ticket (`run --full`).
    let alwaysFull: Bool
    private var holdsEvaluatorLock = false
    /// Kept between incremental cycles of this worker: the source views' description and the
    /// versions seen (the second connection stays with the first, on its thread).
    private var source: SourceRepository.Layout?
    private var seen: EvaluatedVersions?
    /// Its calendars' timelines are built once per worker, not once per cycle.
    private lazy var evaluator = SLAEvaluator(rules: rules)
    /// The worker runs cycle after cycle (not `--once`): it opens its second connection at its
    /// first incremental cycle rather than in the first that needs it.
    let runsManyCycles: Bool
    /// Below this many tickets a `--once` cycle uses one connection only (a worker that runs many
    /// cycles has its second connection open already).
    static let companionFrom = 200
    /// How often a worker evaluates every ticket even when nothing says it must: a safety net for
    /// changes an incremental cycle cannot see (a history row inserted alone, a ticket written with
    /// an `updated_at` already in the past). Nil: automatic (``FullPassSchedule``).
    let fullEvery: Int64?
    /// How far back an incremental cycle looks before its previous one.
    static let overlap = FullPassSchedule.overlap
    private(set) var metrics = WorkerMetrics()

    struct Report {
        /// Tickets with a clock, the settled ones (stopped, unchanged, not recomputed) included.
        var evaluated = 0
        var settled = 0
        var unmatched = 0
        var events = 0
        var notified = 0
        var tally = Dispatcher.Tally()
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

    /// Changed clocks (and their events) a full pass writes at a time.
    static let chunkSize = 20_000

    init(
        rules: RuleSet, database: ConnectionThread, workerID: String, dryRun: Bool, alwaysFull: Bool = false,
        fullEvery: Int64? = nil, runsManyCycles: Bool = false, output: @escaping (String) -> Void, log: Logger
    ) {
        self.alwaysFull = alwaysFull
        self.runsManyCycles = runsManyCycles
        self.fullEvery = fullEvery
        self.rules = rules
        self.database = database
        self.workerID = workerID
        self.dryRun = dryRun
        self.output = output
        self.log = log
        dispatcher = Dispatcher(rules: rules, database: database, worker: workerID, output: output, log: log)
    }

    /// Gives up the evaluator's role, for a worker that stops. Closing the connection would release
    /// it too, but only once the server has noticed: a `run --once` right after this one could
    /// find it still held and skip evaluating.
    func stop() async {
        _ = try? await database.withConnection { connection in
            if let seen, !dryRun { try? ClockStore(connection: connection).setEvaluatedVersions(seen) }
            guard holdsEvaluatorLock else { return }
            _ = try? WorkerStore(connection: connection).releaseEvaluatorLock()
            holdsEvaluatorLock = false
        }
    }

    /// Whether some route sends reminders, so that cycles need to know which tickets are active.
    private var remindersWanted: Bool { rules.routes.contains { $0.repeatMicros != nil } }

    func run(now: Instant) async throws -> Report {
        let started = Date()
        var report = try await database.withConnection { try self.evaluate($0, now: now) }
        report.phase("rest")
        if !dryRun { report.tally = try await dispatcher.deliverDue(now: now) }
        let backlog = dryRun ? 0 : try await database.withConnection { try WorkerStore(connection: $0).deliveryBacklog() }
        report.phase("deliver")
        let seconds = Date().timeIntervalSince(started)
        metrics.record(report, backlog: backlog, seconds: seconds)
        var fields = Dictionary(uniqueKeysWithValues: report.phases.filter { $0.1 >= 0.0005 }.map { ("\($0.0)_s", String(format: "%.3f", $0.1)) })
        fields.merge([
            "cycle_s": String(format: "%.4f", seconds), "evaluated": String(report.evaluated), "settled": String(report.settled), "events": String(report.events), "notified": String(report.notified),
            "sent": String(report.tally.sent), "failed": String(report.tally.failed), "dead": String(report.tally.dead),
            "evaluator": String(report.evaluatedHere), "full": String(report.full), "dry_run": String(dryRun),
        ]) { $1 }
        log.info("cycle", fields)
        return report
    }

    /// The cycle's evaluation, on the worker's connection and its thread: heartbeat, the
    /// evaluator's lock, and (holding it) a full pass or an incremental cycle.
    private func evaluate(_ connection: StoreConnection, now: Instant) throws -> Report {
        var report = Report()
        let worker = WorkerStore(connection: connection)
        if !dryRun { try worker.heartbeat(worker: workerID, now: now) }
        if !holdsEvaluatorLock {
            holdsEvaluatorLock = try worker.tryEvaluatorLock()
        }
        if holdsEvaluatorLock {
            report.evaluatedHere = true
            let clocks = ClockStore(connection: connection)
            let runner = ReportRunner(connection: connection, rules: rules, log: log)
            let state = dryRun ? [:] : try clocks.workerState()
            // Where an incremental cycle looks from; nil when this cycle is a full pass.
            let since = try FullPassSchedule(fullEvery: fullEvery, alwaysFull: alwaysFull, dryRun: dryRun).kind(
                now: now, lastFull: state["full"].map(Instant.init(microseconds:)), lastDuration: state["full_duration"],
                lastSeen: state["seen"].map(Instant.init(microseconds:)), reportDue: { try runner.anyDue(now: now) }
            ).since
            report.full = since == nil
            if let since {
                try evaluateChanged(connection, now: now, since: since, report: &report, clocks: clocks)
            } else {
                let passStarted = Date()
                try evaluateEverything(connection, now: now, report: &report, runner: runner, clocks: clocks)
                if !dryRun { try clocks.setState("full_duration", Int64(Date().timeIntervalSince(passStarted) * 1_000_000)) }
            }
        }
        return report
    }

    /// A full pass: every ticket, streamed one at a time so that memory follows the batch, not
    /// the help desk. A ticket whose stored clock is exactly what it evaluates to now (same version
    /// of the ticket, same clock, next crossing still ahead) can have no new event and needs no
    /// write; only the others are batched to the event store and the clock store.
    private func evaluateEverything(
        _ connection: StoreConnection, now: Instant, report: inout Report, runner: ReportRunner, clocks: ClockStore
    ) throws {
        let source = try SourceRepository(connection: connection, rules: rules)
        var reportsDue = false
        if !dryRun && !rules.reports.isEmpty { reportsDue = try runner.anyDue(now: now) }
        // A report counts every ticket, so a pass that runs one evaluates the settled ones too.
        let stream = try SourceStream(settings: connection.settings, source: source, withClocks: !dryRun, skipSettled: !reportsDue)
        let evaluator = self.evaluator
        let store = EventStore(connection: connection, rules: rules)
        let cumulative = dryRun ? [:] : try clocks.runningSums(at: now)
        let remindersWanted = self.remindersWanted
        var unmatched: [UnmatchedTicket] = []
        var active: [String] = []
        var forReports: [EvaluatedTicket] = []
        var nextCrossing: Instant?
        var changed: [EvaluatedTicket] = []
        var histories: [String: [StatusChange]] = [:]
        var removed: [String] = []
        var seen = EvaluatedVersions()
        let lookBack = now + (-Self.overlap)
        func flush() throws {
            guard !changed.isEmpty || !removed.isEmpty else { return }
            let outcome = try store.record(changed, now: now, dryRun: dryRun)
            report.events += outcome.recorded
            report.notified += outcome.notified.count
            if dryRun {
                printDryRun(outcome)
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
                if let next = e.reading.nextCrossing, nextCrossing == nil || next < nextCrossing! { nextCrossing = next }
                if remindersWanted && (e.reading.status == .breached || e.reading.status == .at_risk) && e.reading.state != .stopped {
                    active.append(e.ticket.ticketID)
                }
                if reportsDue { forReports.append(e) }
                let recent = e.ticket.updatedAt > lookBack
                let storable = dryRun || (stored == nil && !recent) ? nil : ClockStore.storable(e, history: history, now: now, cumulative: cumulative)
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
        try reportUnmatched(connection, unmatched, now: now)
        guard !dryRun else { return }
        try clocks.remove(stream.orphanClocks)
        try clocks.setEvaluatedVersions(seen)
        self.seen = seen
        // Incremental cycles go on with the views' description as this pass read it.
        self.source = source.layout
        try clocks.setWatermark("seen", now)
        try clocks.setWatermark("full", now)
        report.phase("clocks")
        if remindersWanted {
            let reminders = try store.queueReminders(activeTickets: active, now: now)
            if reminders > 0 { log.info("reminders queued", ["count": String(reminders)]) }
        }
        if reportsDue {
            for run in try runner.runDue(tickets: forReports, now: now) {
                log.info(run.skipped ? "report run skipped" : "report run", ["report": run.report, "scheduled_at": run.scheduledAt.iso8601, "deliveries": String(run.deliveries)])
            }
        }
    }

    /// An incremental pass: the tickets updated since `since` and those whose next crossing is due.
    /// Never in a dry run, which is always a full pass.
    private func evaluateChanged(_ connection: StoreConnection, now: Instant, since: Instant, report: inout Report, clocks: ClockStore) throws {
        // What is kept between cycles is dropped when one fails: the views may have changed, or
        // the connections gone.
        var succeeded = false
        defer { if !succeeded { source = nil; connection.dropCompanion() } }
        let source = try self.source.map { SourceRepository(connection: connection, layout: $0) }
            ?? SourceRepository(connection: connection, rules: rules)
        self.source = source.layout
        var seen = try self.seen ?? clocks.evaluatedVersions()
        seen.forget(updatedAtOrBefore: since)
        report.phase("start")
        var ids: [String] = [], listed = Set<String>()
        for id in try source.ticketIDs(updatedAfter: since, except: seen) + clocks.due(now: now) where listed.insert(id).inserted {
            ids.append(id)
        }
        report.phase("changes")
        let split = ids.count >= Self.companionFrom || runsManyCycles
        var (tickets, histories) = try withCompanion(connection, split) { try source.ticketsWithEarlierReadings(ids, alongside: $0) }
        // A view that repeats a ticket gives it one clock: the first row's.
        listed.removeAll(keepingCapacity: true)
        tickets.removeAll { !listed.insert($0.0.ticketID).inserted }
        report.phase("tickets")
        var evaluated: [EvaluatedTicket] = [], unmatched: [UnmatchedTicket] = []
        // Only tickets past a level their stored clock had not reached can have a new event; the
        // others need no look at the events table.
        var candidates: [EvaluatedTicket] = []
        evaluated.reserveCapacity(tickets.count)
        for (ticket, earlier) in tickets {
            switch evaluator.evaluate(ticket, changes: histories[ticket.ticketID] ?? [], now: now) {
            case .clock(let e):
                evaluated.append(e)
                if EventDetector.mayHaveUnrecorded(e, earlier: earlier) { candidates.append(e) }
            case .unmatched(let u): unmatched.append(u)
            }
        }
        report.evaluated = evaluated.count
        report.unmatched = unmatched.count
        report.phase("evaluate")
        try reportUnmatched(connection, unmatched, now: now)
        let store = EventStore(connection: connection, rules: rules)
        let outcome = try store.record(candidates, now: now, dryRun: false)
        report.events = outcome.recorded
        report.notified = outcome.notified.count
        report.phase("events")
        let cumulative = try clocks.runningSums(at: now)
        let stored = try withCompanion(connection, split) {
            try clocks.store(evaluated, histories: histories, now: now, cumulative: cumulative, removed: unmatched.map(\.ticket.ticketID), alongside: $0)
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
        if remindersWanted {
            let reminders = try store.queueReminders(activeTickets: try clocks.active(now: now), now: now)
            if reminders > 0 { log.info("reminders queued", ["count": String(reminders)]) }
        }
        report.nextCrossing = try clocks.nextCrossing(after: now)
        succeeded = true
    }

    /// Runs `body` with a second connection (when `wanted` and one can be had), for an
    /// incremental cycle to read and write half of its tickets on while the other half goes
    /// through the first. The second connection is a convenience: when it fails, it is dropped
    /// and `body` runs again on the first alone (reads and clock writes can be repeated).
    private func withCompanion<T>(_ connection: StoreConnection, _ wanted: Bool, _ body: (StoreConnection?) throws -> T) throws -> T {
        guard wanted, let second = connection.companion() else { return try body(nil) }
        do {
            return try body(second)
        } catch where !second.isHealthy && connection.isHealthy {
            log.warning("second database connection lost; going on with one", ["error": CommandError.from(error).message])
            connection.dropCompanion()
            return try body(nil)
        }
    }

    private func printDryRun(_ outcome: EventStore.Outcome) {
        for (notice, planned) in outcome.notified {
            let deliveries = "[" + planned.map { JSONText.object([("route", String($0.route)), ("channel", JSONText.string($0.channel)), ("recipient", JSONText.string($0.recipient))]) }.joined(separator: ", ") + "]"
            output(JSONText.object([("dry_run", "true"), ("event", ChannelPayload.noticeJSON(notice)), ("deliveries", deliveries)]) + "\n")
        }
    }

    /// Each ticket without a clock is reported once, not every cycle.
    private func reportUnmatched(_ connection: StoreConnection, _ unmatched: [UnmatchedTicket], now: Instant) throws {
        guard !unmatched.isEmpty else { return }
        if dryRun {
            for u in unmatched { log.warning("ticket has no SLA clock", ["ticket": u.ticket.code, "reason": u.reason]) }
            return
        }
        for (code, reason) in try WorkerStore(connection: connection).recordUnmatched(unmatched, now: now) {
            log.warning("ticket has no SLA clock", ["ticket": code, "reason": reason])
        }
    }
}

/// Counters since the worker started, written as Prometheus text exposition.
struct WorkerMetrics {
    var cycles = 0
    var events = 0
    var notified = 0
    var deliveries: [String: [String: Int]] = [:]
    var lastCycleSeconds = 0.0
    var backlog = 0
    var evaluated = 0

    mutating func record(_ report: WorkerCycle.Report, backlog: Int, seconds: Double) {
        cycles += 1
        events += report.events
        notified += report.notified
        for (channel, outcomes) in report.tally.byChannel {
            for (outcome, count) in outcomes { deliveries[channel, default: [:]][outcome, default: 0] += count }
        }
        lastCycleSeconds = seconds
        self.backlog = backlog
        evaluated = report.evaluated
    }

    var exposition: String {
        var lines = [
            "# HELP slawatch_cycles_total Worker cycles completed.", "# TYPE slawatch_cycles_total counter", "slawatch_cycles_total \(cycles)",
            "# HELP slawatch_events_total Threshold events recorded.", "# TYPE slawatch_events_total counter", "slawatch_events_total \(events)",
            "# HELP slawatch_events_notified_total Events that were notified.", "# TYPE slawatch_events_notified_total counter",
            "slawatch_events_notified_total \(notified)",
            "# HELP slawatch_deliveries_total Delivery attempts by channel and outcome.", "# TYPE slawatch_deliveries_total counter",
        ]
        for channel in deliveries.keys.sorted() {
            for outcome in deliveries[channel]!.keys.sorted() {
                lines.append("slawatch_deliveries_total{channel=\(JSONText.string(channel)),outcome=\(JSONText.string(outcome))} \(deliveries[channel]![outcome]!)")
            }
        }
        lines += [
            "# HELP slawatch_cycle_duration_seconds Duration of the last cycle.", "# TYPE slawatch_cycle_duration_seconds gauge",
            "slawatch_cycle_duration_seconds \(lastCycleSeconds)",
            "# HELP slawatch_delivery_backlog Deliveries pending or awaiting retry.", "# TYPE slawatch_delivery_backlog gauge",
            "slawatch_delivery_backlog \(backlog)",
            "# HELP slawatch_tickets_evaluated Tickets with a clock in the last evaluation.", "# TYPE slawatch_tickets_evaluated gauge",
            "slawatch_tickets_evaluated \(evaluated)",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
