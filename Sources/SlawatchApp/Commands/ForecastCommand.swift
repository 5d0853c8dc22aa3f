import Foundation
import SlawatchCore
import SlawatchStore

/// `slawatch forecast [--within DURATION]`: the running clocks that will breach within the
/// horizon if nothing changes, by area, with their due time in their calendar's local time
/// (README, "What-if and forecast"). Only the tickets the worker's stored clocks say may be due
/// are read when those clocks can be trusted (`ForecastCandidates`), every ticket otherwise or with
/// `--full-read`; the output is the same either way.
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
        let fullRead = context.args.has("full-read")
        let items: [ForecastItem] = try await context.database().command { connection in
            let source = try SourceRepository(connection: connection, rules: rules)
            let evaluator = SLAEvaluator(rules: rules)
            let forecast = Forecast(now: context.now, within: within)
            var items: [ForecastItem] = []
            func add(_ ticket: SourceTicket, _ history: [StatusChange]) {
                guard case .clock(let e) = evaluator.evaluate(ticket, changes: history, now: context.now),
                    let item = forecast.item(e)
                else { return }
                items.append(item)
            }
            // The worker's stored clocks narrow the tickets to evaluate down to those that may be
            // due; each is evaluated from the source exactly as the full read would.
            if !fullRead,
                let (tickets, histories) = try ForecastCandidates.tickets(
                    source: source, connection: connection, rules: rules, now: context.now, within: within)
            {
                for ticket in tickets { add(ticket, histories[ticket.ticketID] ?? []) }
                return Forecast.ordered(items)
            }
            let stream = try SourceStream(settings: connection.settings, source: source, withClocks: false)
            while let (ticket, history, _) = try stream.next() { add(ticket, history) }
            return Forecast.ordered(items)
        }
        context.output(format == "json" ? Forecast.json(items) : Forecast.text(items, within: within))
    }
}
