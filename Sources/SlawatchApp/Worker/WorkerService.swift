import Foundation
import SlawatchCore
import SlawatchStore
import Synchronization

/// The worker as a service: two tasks on connections of their own. The evaluation loop runs cycle
/// after cycle (or one with `--once`), sleeping between cycles until the interval passes or a
/// ticket's next crossing is due; each cycle records events with their deliveries and rings the
/// delivery loop's doorbell. The delivery loop claims and sends whatever is due, continuously, woken
/// by the doorbell, by a retry falling due, or every second (another worker may be the evaluator).
/// Every worker delivers; one at a time evaluates. So an evaluation never waits on a receiver, and
/// a storm being sent to a slow one never delays the next crossing's detection.
///
/// The database being unavailable never stops a worker: at the start it waits for PostgreSQL,
/// and a connection that fails later (its own, a full pass's reading connections, the delivery
/// loop's) is retried with backoff, each failure logged. `--once` waits at most `--wait` in all,
/// then fails (exit code 3).
///
/// A request to stop is honoured between cycles and during the sleep: the cycle in flight always
/// finishes, and the worker then gives up the evaluator's role; the delivery loop claims nothing
/// more and finishes the messages on their way.
///
/// A request to reload (SIGHUP) is honoured the same way: the rules directory is read and checked
/// again; invalid rules are logged, one line per problem, and the rules in force stay; valid ones
/// are compiled into the database as `migrate` does and apply from the next cycle, which starts at
/// once, and to the delivery loop's next claim.
struct WorkerService: Service {
    let name = "worker"
    /// The rules it starts with.
    let rules: RuleSet
    /// Where a reload reads the rules from, and the environment their `${VAR}`s come from (the
    /// process's, as at the start: a reload does not read the environment again).
    let rulesPath: String
    let environment: [String: String]
    let reload: ReloadRequest
    /// The worker's own connection, kept from cycle to cycle: its session holds the evaluator's lock.
    let database: ConnectionThread
    let workerID: String
    let once: Bool
    let dryRun: Bool
    let alwaysFull: Bool
    let fullEvery: Int64?
    let interval: Int64
    /// How long `--once` waits for an unavailable database before it gives up.
    let waitMicros: Int64
    let metricsFile: String?
    /// The first cycle's instant; with `nowIsSimulated` later ones follow from it, not from the
    /// wall clock (`--now`).
    let start: Instant
    let nowIsSimulated: Bool
    let output: @Sendable (String) -> Void
    let log: Logger

    /// What the delivery loop hands to the evaluation loop: the rules in force (and how many times
    /// they changed), and what its sends did since the last cycle's log line.
    private final class Shared: Sendable {
        private struct State {
            var rules: RuleSet
            var generation = 0
            var tally = Dispatcher.Tally()
        }
        private let state: Mutex<State>
        /// Rung after each evaluation cycle.
        let doorbell = CountedSignal()

        init(rules: RuleSet) { state = Mutex(State(rules: rules)) }

        var rules: (RuleSet, Int) { state.withLock { ($0.rules, $0.generation) } }
        func replace(_ rules: RuleSet) {
            state.withLock {
                $0.rules = rules
                $0.generation += 1
            }
        }
        func add(_ tally: Dispatcher.Tally) { state.withLock { $0.tally.merge(tally) } }
        func takeTally() -> Dispatcher.Tally {
            state.withLock { state in
                defer { state.tally = Dispatcher.Tally() }
                return state.tally
            }
        }
    }

    func run(until shutdown: ShutdownRequest) async throws {
        let giveUp = Instant.wallNow() + waitMicros
        guard try await prepare(until: shutdown, giveUp: once ? giveUp : nil) else { return }
        log.info("worker started", ["worker": workerID, "once": String(once), "dry_run": String(dryRun)])
        let shared = Shared(rules: rules)
        if once {
            try await runOnce(giveUp: giveUp)
        } else {
            let clock = nowIsSimulated ? SendClock(startingAt: start) : SendClock.wall
            try await withThrowingTaskGroup(of: Void.self) { group in
                if !dryRun { group.addTask { await self.deliveryLoop(clock: clock, shared: shared, until: shutdown) } }
                group.addTask { try await self.evaluationLoop(shared: shared, until: shutdown) }
                do {
                    try await group.waitForAll()
                } catch {
                    // The evaluation failed for good: the deliveries on their way still finish.
                    shutdown.request()
                    try? await group.waitForAll()
                    throw error
                }
            }
        }
        log.info("worker stopped", ["worker": workerID])
    }

    /// Connects and compiles the rules into the database, waiting for PostgreSQL while it is
    /// unavailable (until `giveUp`, when there is one); false when a stop was requested first.
    private func prepare(until shutdown: ShutdownRequest, giveUp: Instant?) async throws -> Bool {
        try await retrying("connecting to PostgreSQL", on: database, until: shutdown, giveUp: giveUp) {
            try await database.withConnection { connection -> Bool in
                if !dryRun { try Schema.migrate(connection, rules: rules, now: start) }
                return true
            }
        } != nil
    }

    /// One evaluation, then every delivery due, then the cycle's line (`run --once`). With `--now`
    /// the sends' clock reads `--now` when sending begins, after the evaluation: a test's instants
    /// then move only by the time the sends themselves take.
    private func runOnce(giveUp: Instant) async throws {
        let never = ShutdownRequest()
        let started = Date()
        let cycle = makeCycle(rules)
        guard
            let report = try await retrying(
                "evaluating", on: database, until: never, giveUp: giveUp, { try await cycle.run(now: start) })
        else { return }
        var tally = Dispatcher.Tally()
        if !dryRun {
            let clock = nowIsSimulated ? SendClock(startingAt: start) : SendClock.wall
            let renewals = ConnectionThread(settings: database.settings.forDelivery)
            let dispatcher = Dispatcher(
                rules: rules, database: database, renewals: renewals, worker: workerID, output: output, log: log)
            // Everything due, claim after claim (each round claims until nothing is due); a failure is
            // retried like the evaluation's. Bounded: what is still due after this many rounds waits
            // for the next run.
            for _ in 0..<100 {
                guard
                    let round = try await retrying(
                        "delivering", on: database, until: never, giveUp: giveUp,
                        { try await dispatcher.deliverDue(clock: clock) })
                else { break }
                tally.merge(round)
                // Another round only for what was withdrawn (its lease had become uncertain): a
                // rate limit's deferrals wait for their slot like every other later delivery.
                if round.withdrawn == 0 { break }
                if !(try await anyDue(clock: clock)) { break }
            }
        }
        try await cycle.finish(report, tally: tally, started: started)
        if let metricsFile { Self.writeMetrics(cycle.metrics.exposition, to: metricsFile, log: log) }
        await cycle.stop()
    }

    /// Whether a delivery is due now (by `clock`) on the worker's connection.
    private func anyDue(clock: SendClock) async throws -> Bool {
        let next = try await database.withConnection { try DeliveryQueue(connection: $0, worker: workerID).nextDue() }
        return next.map { $0 <= clock.now() } ?? false
    }

    private func makeCycle(_ rules: RuleSet) -> WorkerCycle {
        WorkerCycle(
            rules: rules, database: database, workerID: workerID, dryRun: dryRun, alwaysFull: alwaysFull,
            fullEvery: fullEvery, runsManyCycles: !once, output: output, log: log)
    }

    /// Cycle after cycle until asked to stop.
    private func evaluationLoop(shared: Shared, until shutdown: ShutdownRequest) async throws {
        var rules = self.rules
        var cycle = makeCycle(rules)
        var reloadsSeen = reload.count
        var now = start
        var delay: Int64 = 1_000_000
        while !shutdown.isRequested {
            let started = Date()
            let report: CycleReport
            do {
                report = try await cycle.run(now: now)
                delay = 1_000_000
            } catch {
                guard await Self.isUnavailability(error, on: database) else { throw error }
                // Whatever the lost cycle had committed stays; what it had not is redone by the
                // next one (events are idempotent).
                log.error(
                    "evaluation failed: the database is unavailable; retrying",
                    ["error": CommandError.from(error).message, "retry_in": DurationText.format(delay)])
                if await shutdown.sleep(microseconds: delay) { break }
                delay = min(delay * 2, 30_000_000)
                if !(await database.isHealthy()) {
                    guard (try? await database.reconnect()) != nil else { continue }
                    log.info("database connection re-established")
                    // A new session: the evaluator's lock, if it was held, went with the old one.
                    cycle = makeCycle(rules)
                }
                now = nowIsSimulated ? now : Instant.wallNow()
                continue
            }
            shared.doorbell.request()
            try? await cycle.finish(report, tally: shared.takeTally(), started: started)
            if let metricsFile { Self.writeMetrics(cycle.metrics.exposition, to: metricsFile, log: log) }
            if shutdown.isRequested { break }
            // Sleep until the interval passes or a crossing is due.
            var wake = now + interval
            if let next = report.nextCrossing, next > now { wake = min(wake, next) }
            let sleep = max(0, wake - (nowIsSimulated ? now : Instant.wallNow()))
            if await pause(microseconds: sleep, until: shutdown, reloadsSeen: reloadsSeen) { break }
            now = nowIsSimulated ? wake : Instant.wallNow()
            if reload.count != reloadsSeen {
                // Several signals during one cycle read the directory once: its latest contents.
                reloadsSeen = reload.count
                if let reloaded = await reloadRules(replacing: cycle, now: now) {
                    rules = reloaded
                    shared.replace(reloaded)
                    cycle = makeCycle(rules)
                }
            }
        }
        await cycle.stop()
    }

    /// Claims and sends what is due, continuously, on connections of its own, until asked to stop
    /// (the messages on their way then finish). Never gives up on the database.
    private func deliveryLoop(clock: SendClock, shared: Shared, until shutdown: ShutdownRequest) async {
        let connection = ConnectionThread(settings: database.settings.forDelivery)
        let renewals = ConnectionThread(settings: database.settings.forDelivery)
        var (rules, generation) = shared.rules
        func makeDispatcher() -> Dispatcher {
            Dispatcher(
                rules: rules, database: connection, renewals: renewals, worker: workerID, output: output, log: log)
        }
        var dispatcher = makeDispatcher()
        var heldElsewhere = false
        var delay: Int64 = 1_000_000
        while !shutdown.isRequested {
            let (current, changed) = shared.rules
            if changed != generation {
                (rules, generation) = (current, changed)
                dispatcher = makeDispatcher()
            }
            let rung = shared.doorbell.count
            let round: Dispatcher.Tally
            do {
                round = try await dispatcher.deliverDue(clock: clock, stop: shutdown)
                delay = 1_000_000
            } catch {
                log.error(
                    "delivery failed; retrying",
                    ["error": CommandError.from(error).message, "retry_in": DurationText.format(delay)])
                if await shutdown.sleep(microseconds: delay) { break }
                delay = min(delay * 2, 30_000_000)
                for thread in [connection, renewals] where !(await thread.isHealthy()) {
                    _ = try? await thread.reconnect()
                }
                continue
            }
            shared.add(round)
            if !round.isEmpty {
                heldElsewhere = false
                continue
            }
            // Nothing was due: wait for the doorbell, the next retry, or a second (another worker
            // may be the evaluator).
            var wait: Int64 = 1_000_000
            let next = try? await connection.withConnection {
                try DeliveryQueue(connection: $0, worker: workerID).nextDue()
            }
            // Due yet not claimed: committed since the claim (claimed again at once), or, when that
            // happens twice running, held by another worker: looked at again a little later, or every
            // idle worker would spin on claims while one sends a storm.
            if let due = next ?? nil {
                wait = min(wait, max(heldElsewhere ? Self.heldElsewhereMicros : 0, due - clock.now()))
                heldElsewhere = due <= clock.now()
            } else {
                heldElsewhere = false
            }
            await Self.wait(microseconds: wait, for: shared.doorbell, beyond: rung, until: shutdown)
        }
    }

    /// How soon an idle delivery loop claims again when what is due is held by another worker.
    static let heldElsewhereMicros: Int64 = 250_000

    /// Sleeps for `microseconds`, or until `doorbell` rings beyond `seen` or a stop is requested.
    private static func wait(
        microseconds: Int64, for doorbell: CountedSignal, beyond seen: Int, until shutdown: ShutdownRequest
    ) async {
        guard microseconds > 0, !shutdown.isRequested, doorbell.count == seen else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await shutdown.wait() }
            group.addTask { await doorbell.wait(beyond: seen) }
            group.addTask { try? await Task.sleep(nanoseconds: UInt64(microseconds) * 1000) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Runs `body` until it succeeds, retrying while the database is unavailable: each failure
    /// logged, waits from 1 s doubling up to 30 s, the connection `thread` reopened when it broke.
    /// Nil when a stop was requested first; throws a failure that is not the database's
    /// unavailability, or the last one once `giveUp` has passed.
    private func retrying<T>(
        _ doing: String, on thread: ConnectionThread, until shutdown: ShutdownRequest, giveUp: Instant?,
        _ body: () async throws -> T
    ) async throws -> T? {
        var delay: Int64 = 1_000_000
        while true {
            do {
                return try await body()
            } catch {
                guard await Self.isUnavailability(error, on: thread) else { throw error }
                if let giveUp, Instant.wallNow() + delay > giveUp {
                    log.error("\(doing) failed: the database is unavailable; giving up", [
                        "error": CommandError.from(error).message
                    ])
                    throw error
                }
                log.error(
                    "\(doing) failed: the database is unavailable; retrying",
                    ["error": CommandError.from(error).message, "retry_in": DurationText.format(delay)])
                if await shutdown.sleep(microseconds: delay) { return nil }
                delay = min(delay * 2, 30_000_000)
                if !(await thread.isHealthy()) { _ = try? await thread.reconnect() }
            }
        }
    }

    /// Whether `error` says the database is (perhaps only for now) unavailable: a connection that
    /// cannot be opened or was lost, a server shutting down or not accepting connections yet.
    static func isTransient(_ error: any Error) -> Bool {
        guard let error = error as? StoreError else { return false }
        if error.code == .unavailable { return true }
        guard let state = error.sqlState else { return false }
        // 08: connection exceptions; 57P01-57P03: admin or crash shutdown, cannot connect now.
        return state.hasPrefix("08") || state.hasPrefix("57P")
    }

    /// Whether `error`, raised on `thread`, is the database's unavailability: transient by its kind,
    /// or any failure that left the connection broken, whatever libpq called it.
    static func isUnavailability(_ error: any Error, on thread: ConnectionThread) async -> Bool {
        if isTransient(error) { return true }
        return await !thread.isHealthy()
    }

    /// Sleeps for `microseconds`, or until a stop is requested or a reload beyond `reloadsSeen`
    /// is; says whether a stop was requested.
    private func pause(microseconds: Int64, until shutdown: ShutdownRequest, reloadsSeen: Int) async -> Bool {
        guard microseconds > 0, !shutdown.isRequested, reload.count == reloadsSeen else { return shutdown.isRequested }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await shutdown.wait() }
            group.addTask { [reload] in await reload.wait(beyond: reloadsSeen) }
            group.addTask { try? await Task.sleep(nanoseconds: UInt64(microseconds) * 1000) }
            await group.next()
            group.cancelAll()
        }
        return shutdown.isRequested
    }

    /// Reads and checks the rules again. Invalid ones are logged, one line per problem, and nil
    /// says the current rules stay. Valid ones are compiled into the database with `migrate`'s
    /// compilation, after `cycle` has given up the evaluator's role and saved what it keeps
    /// between cycles (which the compilation discards when the rules changed); a failure to
    /// compile is logged and leaves the current rules in force too, since its transaction
    /// changed nothing.
    private func reloadRules(replacing cycle: WorkerCycle, now: Instant) async -> RuleSet? {
        switch RulesReload.read(rulesPath, environment: environment) {
        case .invalid(let problems):
            for problem in problems {
                log.error("invalid rules", ["file": problem.file, "path": problem.path, "error": problem.message])
            }
            log.error(
                "rules not reloaded: the previous rules stay in force",
                ["rules": rulesPath, "problems": String(problems.count)])
            return nil
        case .rules(let rules):
            await cycle.stop()
            if !dryRun {
                do throws(CommandError) {
                    try await database.command { try Schema.migrate($0, rules: rules, now: now) }
                } catch {
                    log.error(
                        "rules not reloaded: the previous rules stay in force",
                        ["rules": rulesPath, "error": error.message])
                    return nil
                }
            }
            log.info(
                "rules reloaded",
                [
                    "rules": rulesPath, "policies": String(rules.policies.count),
                    "channels": String(rules.channels.count),
                    "routes": String(rules.routes.count), "reports": String(rules.reports.count),
                ])
            return rules
        }
    }

    static func writeMetrics(_ text: String, to path: String, log: Logger) {
        // Written beside and renamed, so a scraper never reads half a file.
        let temporary = path + ".tmp"
        do {
            try text.write(toFile: temporary, atomically: false, encoding: .utf8)
            _ = rename(temporary, path)
        } catch {
            log.warning("cannot write metrics file", ["path": path, "error": "\(error)"])
        }
    }
}
