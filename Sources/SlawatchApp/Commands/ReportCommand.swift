import Foundation
import SlawatchCore
import SlawatchStore

/// `slawatch report NAME --print | --send`: render a report now (text by default, `--format
/// html|json`), or send it now through its channels.
enum ReportCommand {
    static func run(_ context: CommandContext) async throws(CommandError) {
        guard context.args.positional.count == 1, let name = context.args.positional.first else {
            throw .usage("usage: slawatch report NAME [--print | --send] [--format text|html|json]")
        }
        let send = context.args.has("send")
        if send && context.args.has("print") { throw .usage("--print and --send exclude each other") }
        let format = try context.format(allowed: ["text", "html", "json"], default: "text")
        let rules = try context.loadRules()
        guard let report = rules.reports.first(where: { $0.name == name }) else {
            let known = rules.reports.map(\.name).joined(separator: ", ")
            throw .usage("no report named '\(name)' in the rules (defined: \(known.isEmpty ? "none" : known))")
        }
        let database = try await context.database()
        let evaluation = try await database.command {
            try SourceEvaluation.run(rules: rules, connection: $0, now: context.now)
        }
        let schedule = ReportSchedule(cron: report.schedule, timeZoneIdentifier: report.timeZoneIdentifier)
        // The period is the one that ends now: since the last scheduled instant before now.
        let periodStart = schedule.previous(atOrBefore: context.now + (-1)) ?? (context.now + (-86_400_000_000))
        let previousStart =
            schedule.previous(atOrBefore: periodStart + (-1)) ?? (periodStart + (-(context.now - periodStart)))
        if !send {
            let language = report.channels.compactMap { rules.channels[$0]?.language }.first ?? "es"
            let contents = ReportRunner.contents(
                report, tickets: evaluation.evaluated, periodStart: periodStart, periodEnd: context.now,
                previousStart: previousStart)
            switch format {
            case "json":
                context.output("[\n" + contents.map { "  " + $0.content.json() }.joined(separator: ",\n") + "\n]\n")
            case "html":
                context.output(contents.map { $0.content.html(language: language) }.joined(separator: "\n") + "\n")
            default:
                context.output(contents.map { $0.content.text(language: language) }.joined(separator: "\n----\n\n"))
            }
            return
        }
        do {
            let log = context.log
            let worker = "report/\(getpid())"
            let (count, claimedFrom, claimed) = try await database.withConnection { connection in
                try Schema.migrate(connection, rules: rules, now: context.now)
                // A manual run is recorded as such; a scheduled run at the same instant still takes
                // the row over (ReportRunner claims a 'manual' row), and their deliveries differ.
                let count = try connection.transaction {
                    try ReportStore(connection: connection).recordManualRun(name, at: context.now)
                    return try ReportRunner(connection: connection, rules: rules, log: log).enqueue(
                        report, tickets: evaluation.evaluated, scheduledAt: context.now, periodStart: periodStart,
                        previousStart: previousStart, now: context.now, manual: true)
                }
                // The lease counts from the claim statement, not from the migration before it.
                let claimedFrom = LeaseKeeper.clock()
                return (
                    count, claimedFrom,
                    try DeliveryQueue(connection: connection, worker: worker).claim(
                        now: context.now, limit: 10_000, report: name)
                )
            }
            let dispatcher = Dispatcher(
                rules: rules, database: database, worker: worker, output: context.output, log: context.log)
            let clock = context.nowWasGiven ? SendClock(startingAt: context.now) : SendClock.wall
            let tally = try await dispatcher.dispatch(claimed, claimedFrom: claimedFrom, clock: clock)
            if context.log.format == .json {
                context.log.info(
                    "report sent",
                    [
                        "report": name, "deliveries": String(count), "sent": String(tally.sent),
                        "failed": String(tally.failed), "dead": String(tally.dead),
                    ])
            } else {
                context.errors(
                    "report \(name): \(count) deliveries; sent \(tally.sent), failed \(tally.failed) (retried by the worker), dead \(tally.dead)\n"
                )
            }
        } catch let error as CommandError {
            throw error
        } catch {
            let mapped = CommandError.from(error)
            throw CommandError(mapped.exitCode, "report \(name): \(mapped.message)")
        }
    }
}
