import SlawatchCore
import SlawatchStore

/// Reads every source ticket with its history and computes its clock.
struct SourceEvaluation {
    var evaluated: [EvaluatedTicket] = []
    var unmatched: [UnmatchedTicket] = []
    var histories: [String: [StatusChange]] = [:]

    /// Every ticket, or one by code.
    static func run(
        rules: RuleSet, connection: StoreConnection, now: Instant, code: String? = nil, alsoColumns: Set<String> = []
    ) throws(StoreError) -> SourceEvaluation {
        let source = try SourceRepository(connection: connection, rules: rules, alsoColumns: alsoColumns)
        let tickets = try source.tickets(code: code)
        let changes = try source.statusChanges(ticketIDs: code != nil ? tickets.map(\.ticketID) : nil)
        let evaluator = SLAEvaluator(rules: rules)
        var result = SourceEvaluation()
        result.histories = changes
        result.evaluated.reserveCapacity(tickets.count)
        for ticket in tickets {
            switch evaluator.evaluate(ticket, changes: changes[ticket.ticketID] ?? [], now: now) {
            case .clock(let e): result.evaluated.append(e)
            case .unmatched(let u): result.unmatched.append(u)
            }
        }
        return result
    }
}
