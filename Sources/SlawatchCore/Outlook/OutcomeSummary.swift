/// One rule set's figures over the tickets of a what-if: in total and by policy, area and priority.
///
/// Only counters: a what-if over a million tickets keeps one group per policy, area and priority.
/// Tickets without an area are counted under the area `""`.
public struct OutcomeSummary: Sendable, Hashable {
    public var total = OutcomeGroup()
    public var byPolicy: [String: OutcomeGroup] = [:]
    public var byArea: [String: OutcomeGroup] = [:]
    public var byPriority: [String: OutcomeGroup] = [:]

    public init() {}

    public mutating func add(_ ticket: EvaluatedTicket) {
        // The crossings are found once and added to the four groups the ticket is in.
        let tally = OutcomeGroup.Tally(ticket)
        total.add(tally)
        byPolicy[ticket.policy.name, default: OutcomeGroup()].add(tally)
        byArea[ticket.ticket.area ?? "", default: OutcomeGroup()].add(tally)
        byPriority[ticket.ticket.priority, default: OutcomeGroup()].add(tally)
    }

    /// `{"total": G, "by_policy": {NAME: G}, "by_area": {…}, "by_priority": {…}}`, names in code point order.
    public func json() -> String {
        func groups(_ d: [String: OutcomeGroup]) -> String {
            JSONText.object(d.keys.sorted(by: OutcomeSummary.codePointOrder).map { ($0, d[$0]!.json()) })
        }
        return JSONText.object([
            ("total", total.json()), ("by_policy", groups(byPolicy)), ("by_area", groups(byArea)),
            ("by_priority", groups(byPriority)),
        ])
    }

    static func codePointOrder(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
    }
}
