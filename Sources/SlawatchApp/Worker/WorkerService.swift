import Foundation
import SlawatchCore
import SlawatchStore

/// The worker as a service: cycle after cycle until asked to stop (or one cycle with `--once`),
/// sleeping between cycles until the interval passes, a ticket's next crossing is due or a
/// delivery's retry is; a lost database connection is re-established with backoff.
///
/// A request to stop is honoured between cycles and during the sleep: the cycle in flight, its
/// sends included, always finishes, and the worker then gives up the evaluator's role.
///
/// A request to reload (SIGHUP) is honoured the same way: the rules directory is read and checked
/// again; invalid rules are logged, one line per problem, and the rules in force stay; valid ones
/// are compiled into the database as `migrate` does and apply from the next cycle, which starts at
/// once.
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
    let metricsFile: String?
    /// The first cycle's instant; with `nowIsSimulated` later ones follow from it, not from the
    /// wall clock (`--now`).
    let start: Instant
    let nowIsSimulated: Bool
    let output: @Sendable (String) -> Void
    let log: Logger

    func run(until shutdown: ShutdownRequest) async throws {
        var rules = self.rules
        func makeCycle() -> WorkerCycle {
            WorkerCycle(
                rules: rules, database: database, workerID: workerID, dryRun: dryRun, alwaysFull: alwaysFull,
                fullEvery: fullEvery, runsManyCycles: !once, output: output, log: log)
        }
        var cycle = makeCycle()
        var reloadsSeen = reload.count
        log.info("worker started", ["worker": workerID, "once": String(once), "dry_run": String(dryRun)])
        var now = start
        while true {
            let report: CycleReport
            do {
                report = try await cycle.run(now: now)
            } catch {
                guard !once, !(await database.isHealthy()) else { throw error }
                // Whatever the lost cycle had committed stays; what it had not is redone by the
                // next one (events are idempotent, claimed deliveries come back when their lease
                // ends).
                log.error("database connection lost; reconnecting", ["error": CommandError.from(error).message])
                guard await reconnect(until: shutdown) else { break }
                cycle = makeCycle()
                continue
            }
            if let metricsFile { Self.writeMetrics(cycle.metrics.exposition, to: metricsFile, log: log) }
            if once || shutdown.isRequested { break }
            // Sleep until the interval passes, a crossing is due, or a retry is due.
            var wake = now + interval
            if let next = report.nextCrossing, next > now { wake = min(wake, next) }
            let nextDue = try? await database.withConnection {
                try DeliveryQueue(connection: $0, worker: workerID).nextDue()
            }
            if let due = nextDue ?? nil, due > now { wake = min(wake, due) }
            let sleep = max(0, wake - (nowIsSimulated ? now : Self.wallClock()))
            if await pause(microseconds: sleep, until: shutdown, reloadsSeen: reloadsSeen) { break }
            now = nowIsSimulated ? wake : Self.wallClock()
            if reload.count != reloadsSeen {
                // Several signals during one cycle read the directory once: its latest contents.
                reloadsSeen = reload.count
                if let reloaded = await reloadRules(replacing: cycle, now: now) {
                    rules = reloaded
                    cycle = makeCycle()
                }
            }
        }
        await cycle.stop()
        log.info("worker stopped", ["worker": workerID])
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

    /// Tries to open the worker's connection again, waiting 1 s, then twice as long each time up
    /// to 30 s; false when a stop was requested first.
    private func reconnect(until shutdown: ShutdownRequest) async -> Bool {
        var delay: Int64 = 1_000_000
        while !(await shutdown.sleep(microseconds: delay)) {
            if (try? await database.reconnect()) != nil {
                log.info("database connection re-established")
                return true
            }
            delay = min(delay * 2, 30_000_000)
        }
        return false
    }

    static func wallClock() -> Instant {
        Instant(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000))
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
