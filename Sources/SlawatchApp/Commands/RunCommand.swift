import Dispatch
import Foundation
import SlawatchCore
import SlawatchStore
import Synchronization

/// `slawatch run`: the worker. `--once` runs one full cycle and exits (cron style); otherwise it
/// loops every `--interval` (default 30s) and also wakes as soon as a ticket's next crossing or a
/// delivery's retry is due. SIGTERM or SIGINT lets the current cycle finish, then exits 0.
enum RunCommand {
    static func run(_ context: CommandContext) async throws(CommandError) {
        let args = context.args
        let once = args.has("once"), dryRun = args.has("dry-run"), full = args.has("full")
        var interval: Int64 = 30_000_000
        if let text = args["interval"] {
            guard let micros = DurationText.microseconds(text), micros > 0 else {
                throw .usage("--interval expects a duration such as 30s or 2m, found '\(text)'")
            }
            interval = micros
        }
        var fullEvery: Int64?
        if let text = args["full-every"], text != "auto" {
            guard let micros = DurationText.microseconds(text), micros > 0 else {
                throw .usage("--full-every expects auto or a duration such as 10m or 1h, found '\(text)'")
            }
            fullEvery = micros
        }
        let rules = try context.loadRules()
        // The worker's own connection, kept from cycle to cycle: its session holds the evaluator's lock.
        let database = ConnectionThread(settings: try context.connectionSettings())
        try await database.command { connection in
            if !dryRun { try Schema.migrate(connection, rules: rules, now: context.now) }
        }
        let workerID = "\(ProcessInfo.processInfo.hostName)/\(getpid())/\(UUID().uuidString.prefix(8))"
        func makeCycle() -> WorkerCycle {
            WorkerCycle(
                rules: rules, database: database, workerID: workerID, dryRun: dryRun,
                alwaysFull: full, fullEvery: fullEvery, runsManyCycles: !once, output: context.output, log: context.log)
        }
        var cycle = makeCycle()
        let shutdown = ShutdownSignal(install: !once)
        context.log.info("worker started", ["worker": workerID, "once": String(once), "dry_run": String(dryRun)])
        var now = context.now
        while true {
            let report: WorkerCycle.Report
            do {
                report = try await cycle.run(now: now)
            } catch {
                if !once, !(await database.isHealthy()) {
                    // Whatever the lost cycle had committed stays; what it had not is redone by the
                    // next one (events are idempotent, claimed deliveries come back when their lease
                    // ends).
                    context.log.error("database connection lost; reconnecting", ["error": CommandError.from(error).message])
                    var delay: UInt64 = 1
                    while !shutdown.requested {
                        try? await Task.sleep(nanoseconds: delay * 1_000_000_000)
                        if (try? await database.reconnect()) != nil {
                            cycle = makeCycle()
                            context.log.info("database connection re-established")
                            break
                        }
                        delay = min(delay * 2, 30)
                    }
                    continue
                }
                if let error = error as? CommandError { throw error }
                if let error = error as? StoreError { throw CommandError(error) }
                throw .runtime("cycle failed: \(error)")
            }
            if let path = args["metrics-file"] { writeMetrics(cycle.metrics.exposition, to: path, log: context.log) }
            if once || shutdown.requested { break }
            // Sleep until the interval passes, a crossing is due, or a retry is due.
            var wake = now + interval
            if let next = report.nextCrossing, next > now { wake = min(wake, next) }
            let nextDue = try? await database.withConnection { try DeliveryQueue(connection: $0, worker: workerID).nextDue() }
            if let due = nextDue ?? nil, due > now { wake = min(wake, due) }
            let wallNow = Instant(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000))
            var remaining = max(0, wake - (context.nowWasGiven ? now : wallNow))
            while remaining > 0 && !shutdown.requested {
                let step = min(remaining, 100_000)
                try? await Task.sleep(nanoseconds: UInt64(step) * 1000)
                remaining -= step
            }
            if shutdown.requested { break }
            now = context.nowWasGiven ? wake : Instant(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000))
        }
        await cycle.stop()
        context.log.info("worker stopped", ["worker": workerID])
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

/// Turns SIGTERM and SIGINT into a flag the worker checks between cycles and while it sleeps.
///
/// `@unchecked Sendable`: `sources` is written only in `init` and read by nobody afterwards (it
/// only keeps the sources alive); the flag is atomic.
final class ShutdownSignal: @unchecked Sendable {
    private let flag = Atomic<Bool>(false)
    private var sources: [DispatchSourceSignal] = []

    var requested: Bool { flag.load(ordering: .acquiring) }

    init(install: Bool) {
        guard install else { return }
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [unowned self] in self.flag.store(true, ordering: .releasing) }
            source.resume()
            sources.append(source)
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
