import Foundation
import SlawatchCore
import SlawatchStore

/// The worker as a service: cycle after cycle until asked to stop (or one cycle with `--once`),
/// sleeping between cycles until the interval passes, a ticket's next crossing is due or a
/// delivery's retry is; a lost database connection is re-established with backoff.
///
/// A request to stop is honoured between cycles and during the sleep: the cycle in flight, its
/// sends included, always finishes, and the worker then gives up the evaluator's role.
struct WorkerService: Service {
    let name = "worker"
    let rules: RuleSet
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
        func makeCycle() -> WorkerCycle {
            WorkerCycle(
                rules: rules, database: database, workerID: workerID, dryRun: dryRun, alwaysFull: alwaysFull,
                fullEvery: fullEvery, runsManyCycles: !once, output: output, log: log)
        }
        var cycle = makeCycle()
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
            if await shutdown.sleep(microseconds: max(0, wake - (nowIsSimulated ? now : Self.wallClock()))) { break }
            now = nowIsSimulated ? wake : Self.wallClock()
        }
        await cycle.stop()
        log.info("worker stopped", ["worker": workerID])
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
