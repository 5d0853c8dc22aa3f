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
        if case .missingVariable(let name)? = rules.api?.jwt?.secret {
            // Valid rules all the same: only `serve` and `token` need the secret.
            context.output("note: api.jwt.secret names \(name), which is not set; serve and token need it\n")
        }
    }
}
