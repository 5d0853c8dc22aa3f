import Foundation
import SlawatchCore
import SlawatchStore

/// `slawatch migrate`: create or upgrade the `slawatch` schema and install the dashboard function
/// with the current rules compiled into it.
enum MigrateCommand {
    static func run(_ context: CommandContext) async throws(CommandError) {
        let rules: RuleSet
        if context.args["rules"] == nil && !FileManager.default.fileExists(atPath: context.rulesPath) {
            // The schema does not need rules; the dashboard function then has no policy to apply
            // until `migrate --rules DIR` (or the worker) compiles some.
            context.log.warning(
                "no ./rules directory: migrating without compiled rules; pass --rules DIR to compile yours")
            rules = .empty
        } else {
            rules = try context.loadRules()
        }
        try await context.database().command { try Schema.migrate($0, rules: rules, now: context.now) }
        context.output(
            "slawatch schema is up to date (\(Schema.migrationCount) migrations; \(rules.policies.count) policies, \(rules.calendars.count) calendars compiled)\n"
        )
    }
}
