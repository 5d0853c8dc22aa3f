import Foundation
import SlawatchCore
import SlawatchStore

/// `slawatch run`: the worker (``WorkerService``) in a ``ServiceGroup``. `--once` runs one cycle
/// and exits (cron style); otherwise the first SIGTERM or SIGINT lets the current cycle finish,
/// then exits 0, a second one stops at once, and SIGHUP reloads the rules between cycles.
enum RunCommand {
    static func run(_ context: CommandContext) async throws(CommandError) {
        let args = context.args
        let once = args.has("once")
        let dryRun = args.has("dry-run")
        let full = args.has("full")
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
        var wait: Int64 = 30_000_000
        if let text = args["wait"] {
            guard let micros = DurationText.microseconds(text), micros >= 0 else {
                throw .usage("--wait expects a duration such as 30s or 2m, found '\(text)'")
            }
            wait = micros
        }
        let rules = try context.loadRules()
        // The worker's own connection, kept from cycle to cycle: its session holds the evaluator's lock.
        // It is opened (and the rules compiled into the database) by the worker, which waits for
        // PostgreSQL when it is not there yet.
        let database = ConnectionThread(settings: try context.connectionSettings())
        let reload = ReloadRequest()
        let worker = WorkerService(
            rules: rules, rulesPath: context.rulesPath, environment: context.environment, reload: reload,
            database: database,
            workerID: "\(ProcessInfo.processInfo.hostName)/\(getpid())/\(UUID().uuidString.prefix(8))",
            once: once, dryRun: dryRun, alwaysFull: full, fullEvery: fullEvery, interval: interval, waitMicros: wait,
            metricsFile: args["metrics-file"], start: context.now, nowIsSimulated: context.nowWasGiven,
            output: context.output, log: context.log)
        // A single cycle (cron) is not made to wait for: a signal ends it as it ends any process.
        let log = context.log
        var stopAtOnce: @Sendable (Int32) -> Void = ServiceGroup.exitAtOnce
        if log.format == .json {
            // The same news as one log object, so that every line of a JSON log is one.
            stopAtOnce = { number in
                log.error("second signal: stopping at once", ["signal": String(number)])
                exit(1)
            }
        }
        let group = ServiceGroup(
            services: [worker], signals: once ? [] : [SIGTERM, SIGINT], reload: once ? nil : reload,
            stopAtOnce: stopAtOnce)
        do {
            try await group.run()
        } catch {
            switch error {
            case is CommandError, is StoreError: throw CommandError.from(error)
            default: throw .runtime("cycle failed: \(error)")
            }
        }
    }
}
