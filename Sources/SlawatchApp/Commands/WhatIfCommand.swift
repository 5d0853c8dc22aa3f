import Foundation
import SlawatchCore
import SlawatchStore

/// `slawatch whatif --proposed DIR`: the tickets created in `[since, until)` evaluated under the
/// current rules and the proposed ones, side by side (README, "What-if and forecast"). One read
/// of the source feeds both evaluations; nothing is written.
enum WhatIfCommand {
    /// The default window: the last 30 days before `until`.
    static let defaultWindow: Int64 = 30 * 86_400_000_000

    static func run(_ context: CommandContext) async throws(CommandError) {
        let args = context.args
        guard let proposedPath = args["proposed"] else {
            throw .usage(
                "usage: slawatch whatif --proposed DIR [--since T] [--until T] [--format text|json|html]; --proposed is required"
            )
        }
        let format = try context.format(allowed: ["text", "json", "html"], default: "text")
        let until = try instant(args["until"], option: "until") ?? context.now
        let since = try instant(args["since"], option: "since") ?? (until + (-defaultWindow))
        guard since < until else {
            throw .usage("--since must be before --until (\(since.iso8601) is not before \(until.iso8601))")
        }
        // The proposed rules first, as `check` would report them.
        let proposed = try RulesDirectory.loadForEvaluation(proposedPath, environment: context.environment)
        let rules = try context.loadRules()
        let report: WhatIfReport = try await context.database().command { connection in
            // The source views are the current rules'; the columns either set's conditions mention are read.
            let source = try SourceRepository(
                connection: connection, rules: rules, alsoColumns: proposed.referencedSourceColumns)
            let stream = try SourceStream(settings: connection.settings, source: source, withClocks: false)
            let comparison = WhatIfComparison(
                current: rules, proposed: proposed, since: since, until: until, now: context.now)
            while let (ticket, history, _) = try stream.next() { comparison.add(ticket, history: history) }
            return comparison.report
        }
        switch format {
        case "json": context.output(report.json())
        case "html": context.output(report.html())
        default: context.output(report.text())
        }
    }

    static func instant(_ text: String?, option: String) throws(CommandError) -> Instant? {
        guard let text else { return nil }
        guard let value = Instant(iso8601: text) else {
            throw .usage("--\(option) expects an ISO 8601 instant such as 2026-03-01T00:00:00Z, found '\(text)'")
        }
        return value
    }
}
