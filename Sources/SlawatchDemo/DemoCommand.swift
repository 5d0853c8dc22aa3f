import Foundation
import PostgresClient
import SlawatchApp
import SlawatchCore

/// `slawatch demo`: the embedded default. Starts a throwaway PostgreSQL under `./.slawatch/`
/// (or uses `--database`), loads the reference help desk with sample tickets, migrates, runs one
/// cycle of the worker with the rules, and prints the dashboard.
public enum DemoCommand {
    /// `slawatch demo [--size N] [--keep] [--stop] [--database URL] [--dir DIR] [--format table|json]`.
    public static let command = SlawatchCommand(
        help: CommandHelp(
            name: "demo",
            summary: "a throwaway PostgreSQL, the reference help desk, one worker cycle, the dashboard",
            options: [
                .init("size", value: "N", "how many sample tickets to load, from 0 to 2000000", default: "200"),
                .init("keep", "leave the throwaway PostgreSQL running and print its URL"),
                .init("stop", "stop a throwaway PostgreSQL left running by --keep"),
                .init("dir", value: "DIR", "the throwaway PostgreSQL's data directory", default: "./.slawatch/pg"),
                .init("format", value: "FORMAT", "the dashboard's format: table or json", default: "table"),
            ],
            examples: ["slawatch demo --size 2000 --keep", "slawatch demo --stop"]),
        run: run)

    static func run(_ context: CommandContext) async throws(CommandError) {
        if context.args.has("stop") {
            let directory = context.args["dir"] ?? "./.slawatch/pg"
            // Without starting anything: a cluster that is not running (or not there) is already stopped.
            do { try ThrowawayPostgres.stop(directory: directory) } catch { throw .runtime("\(error)") }
            context.output("stopped the demo's PostgreSQL in \(directory)\n")
            return
        }
        let size = try context.args.int("size") ?? 200
        guard size >= 0 && size <= 2_000_000 else {
            throw .usage("--size expects a number of tickets from 0 to 2000000")
        }
        // Checked first: a broken rules directory should stop the demo before it starts a server.
        _ = try context.loadRules()
        var environment = context.environment
        var server: ThrowawayPostgres?
        if context.databaseURL == nil || context.args["database"] == nil {
            let directory = context.args["dir"] ?? "./.slawatch/pg"
            do {
                server = try ThrowawayPostgres(directory: directory)
            } catch {
                throw .runtime("\(error)")
            }
            environment["DATABASE_URL"] = server!.url
            context.output("PostgreSQL (throwaway) at \(server!.url), data in \(directory)\n")
        }
        let url = context.args["database"] ?? environment["DATABASE_URL"]!
        let connection: PostgresConnection
        do { connection = try PostgresConnection(url: url) } catch {
            throw CommandError(.databaseUnreachable, error.message)
        }
        do {
            try connection.execute(ReferenceHelpDesk.schemaSQL)
            let existing = try connection.query("SELECT count(*) FROM public.tickets").rows[0].int(0)
            if existing == 0 && size > 0 {
                let now = Date(timeIntervalSince1970: Double(context.now.microseconds) / 1_000_000)
                let parameters = ReferenceHelpDesk.sampleDataParameters(count: size, now: now, seed: 0.2026).map(
                    PostgresParameter.text)
                try connection.query(ReferenceHelpDesk.sampleDataSQL, parameters)
                context.output("loaded the reference help desk with \(size) sample tickets\n")
            } else {
                context.output("the reference help desk already holds \(existing) tickets; keeping them\n")
            }
        } catch {
            throw .runtime("loading the reference help desk: \(error)")
        }
        var base = ["--rules", context.rulesPath, "--database", url]
        if context.nowWasGiven { base += ["--now", context.now.iso8601] }
        // The cycle's notifications (JSON lines from the log channel) are summed up, not dumped.
        let lines = LineCounter()
        let status = await Slawatch.main(
            arguments: ["run", "--once"] + base, environment: environment, output: lines.add, errors: { _ in })
        if status != 0 {
            throw CommandError(
                CommandError.ExitCode(rawValue: status) ?? .runtime, "demo: 'slawatch run --once' failed")
        }
        context.output("one worker cycle: \(lines.count) notifications delivered to the log channel; e.g.\n")
        for line in lines.first { context.output("  " + line) }
        context.output("\n")
        let dashboard = await Slawatch.main(
            arguments: ["dashboard", "--format", context.args["format"] ?? "table"] + base, environment: environment,
            output: context.output, errors: context.errors)
        if dashboard != 0 {
            throw CommandError(
                CommandError.ExitCode(rawValue: dashboard) ?? .runtime, "demo: 'slawatch dashboard' failed")
        }
        if let server {
            if context.args.has("keep") {
                let dirOption = context.args["dir"].map { " --dir \($0)" } ?? ""
                context.output(
                    "\nThe demo's PostgreSQL keeps running. Try:\n  export DATABASE_URL=\(server.url)\n  .build/debug/slawatch ticket TKT-2026-00001\n  .build/debug/slawatch events\nStop it with: .build/debug/slawatch demo --stop\(dirOption)\n"
                )
            } else {
                server.stop()
            }
        }
    }
}
