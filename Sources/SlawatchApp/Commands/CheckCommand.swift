import Foundation
import SlawatchCore
import SlawatchStore

/// `slawatch check`: validate the rules and say so, or list every problem by file and JSON path.
enum CheckCommand {
    static func run(_ context: CommandContext) throws(CommandError) {
        let rules = try context.loadRules()
        context.output(
            "\(context.rulesPath): OK — \(rules.calendars.count) calendars, \(rules.policies.count) policies, \(rules.channels.count) channels, \(rules.routes.count) routes, \(rules.reports.count) reports\n"
        )
    }
}
