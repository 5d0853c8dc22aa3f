import Foundation
import SlawatchCore
import SlawatchStore

/// `slawatch forecast [--within DURATION]`: the running clocks that will breach within the
/// horizon if nothing changes, by area, with their due time in their calendar's local time
/// (README, "What-if and forecast").
enum ForecastCommand {
    static func run(_ context: CommandContext) async throws(CommandError) {
        let format = try context.format(allowed: ["text", "json"], default: "text")
        let text = context.args["within"] ?? "8h"
        let within: Int64
        do { within = try DurationText.parse(text) } catch {
            throw .usage("--within expects a duration such as 8h or 1d: \(error.description)")
        }
        guard within > 0 else { throw .usage("--within expects a duration above zero, found '\(text)'") }
        let rules = try context.loadRules()
        let items: [ForecastItem] = try await context.database().command { connection in
            let source = try SourceRepository(connection: connection, rules: rules)
            let stream = try SourceStream(settings: connection.settings, source: source, withClocks: false)
            let evaluator = SLAEvaluator(rules: rules)
            let forecast = Forecast(now: context.now, within: within)
            var items: [ForecastItem] = []
            while let (ticket, history, _) = try stream.next() {
                guard case .clock(let e) = evaluator.evaluate(ticket, changes: history, now: context.now),
                    let item = forecast.item(e)
                else { continue }
                items.append(item)
            }
            return Forecast.ordered(items)
        }
        context.output(format == "json" ? Forecast.json(items) : Forecast.text(items, within: within))
    }
}
