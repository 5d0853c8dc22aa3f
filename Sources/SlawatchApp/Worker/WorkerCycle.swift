import Foundation
import SlawatchCore
import SlawatchStore

/// One cycle of the worker's evaluation: a heartbeat, the evaluator's lock, and (holding it) a full
/// pass or an incremental cycle that records new events with their deliveries; then the cycle's
/// metrics and log line, with what the worker's deliveries did since the previous cycle.
///
/// The worker keeps one connection for its cycles (its session holds the evaluator's lock), on
/// a thread of its own: a cycle's evaluation runs there whole, in one hop from the worker's task.
/// Sending is not part of a cycle: the worker's delivery loop does it on connections of its own
/// (``WorkerService``), so an evaluation never waits on a receiver.
final class WorkerCycle {
    let rules: RuleSet
    let database: ConnectionThread
    let workerID: String
    let dryRun: Bool
    let output: @Sendable (String) -> Void
    let log: Logger
    /// Every cycle evaluates every ticket (`run --full`).
    let alwaysFull: Bool
    /// How often a worker evaluates every ticket even when nothing says it must: a safety net for
    /// changes an incremental cycle cannot see (a history row inserted alone, a ticket written with
    /// an `updated_at` already in the past). Nil: automatic (``FullPassSchedule``).
    let fullEvery: Int64?
    private var holdsEvaluatorLock = false
    /// Its calendars' timelines are built once per worker, and only by the evaluating one.
    private lazy var context = PassContext(
        rules: rules, evaluator: SLAEvaluator(rules: rules), dryRun: dryRun, output: output, log: log)
    private lazy var incremental = IncrementalCycle(context: context, runsManyCycles: runsManyCycles)
    let runsManyCycles: Bool
    private(set) var metrics = WorkerMetrics()

    init(
        rules: RuleSet, database: ConnectionThread, workerID: String, dryRun: Bool, alwaysFull: Bool = false,
        fullEvery: Int64? = nil, runsManyCycles: Bool = false, output: @escaping @Sendable (String) -> Void,
        log: Logger
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
    }

    /// Gives up the evaluator's role, for a worker that stops. Closing the connection would release
    /// it too, but only once the server has noticed: a `run --once` right after this one could
    /// find it still held and skip evaluating.
    func stop() async {
        let seen = holdsEvaluatorLock ? incremental.seen : nil
        _ = try? await database.withConnection { connection in
            if let seen, !dryRun { try? ClockStore(connection: connection).setEvaluatedVersions(seen) }
            guard holdsEvaluatorLock else { return }
            _ = try? WorkerStore(connection: connection).releaseEvaluatorLock()
            holdsEvaluatorLock = false
        }
    }

    /// Evaluates at `now`; ``finish(_:tally:started:)`` then logs the cycle.
    func run(now: Instant) async throws -> CycleReport {
        var report = try await database.withConnection { try self.evaluate($0, now: now) }
        report.phase("rest")
        return report
    }

    /// Records the cycle's metrics and logs its line, with `tally`: what the deliveries did since the
    /// previous cycle (in a `--once` cycle, its own sends).
    func finish(_ report: CycleReport, tally: Dispatcher.Tally, started: Date) async throws {
        var report = report
        report.tally = tally
        let backlog =
            dryRun
            ? 0 : try await database.withConnection { try WorkerStore(connection: $0).deliveryBacklog() }
        report.phase("deliver")
        let seconds = Date().timeIntervalSince(started)
        metrics.record(report, backlog: backlog, seconds: seconds)
        var fields = Dictionary(
            uniqueKeysWithValues: report.phases.filter { $0.1 >= 0.0005 }.map {
                ("\($0.0)_s", String(format: "%.3f", $0.1))
            })
        fields.merge([
            "cycle_s": String(format: "%.4f", seconds), "evaluated": String(report.evaluated),
            "settled": String(report.settled), "events": String(report.events), "notified": String(report.notified),
            "sent": String(report.tally.sent), "failed": String(report.tally.failed), "dead": String(report.tally.dead),
            "evaluator": String(report.evaluatedHere), "full": String(report.full), "dry_run": String(dryRun),
        ]) { $1 }
        log.info("cycle", fields)
    }

    /// The cycle's evaluation, on the worker's connection and its thread: heartbeat, the
    /// evaluator's lock, and (holding it) a full pass or an incremental cycle.
    private func evaluate(_ connection: StoreConnection, now: Instant) throws -> CycleReport {
        var report = CycleReport()
        let worker = WorkerStore(connection: connection)
        if !dryRun { try worker.heartbeat(worker: workerID, now: now) }
        if !holdsEvaluatorLock {
            holdsEvaluatorLock = try worker.tryEvaluatorLock()
        }
        guard holdsEvaluatorLock else { return report }
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
            try incremental.run(connection, now: now, since: since, report: &report, clocks: clocks)
        } else {
            let passStarted = Date()
            let handover = try FullPass(context: context).run(
                connection, now: now, report: &report, runner: runner, clocks: clocks)
            if let handover { incremental.take(handover) }
            if !dryRun {
                try clocks.setState("full_duration", Int64(Date().timeIntervalSince(passStarted) * 1_000_000))
            }
        }
        return report
    }
}
