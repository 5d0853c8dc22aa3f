/// What one rule set makes of one ticket in a what-if: its policy, whether it is breached
/// (`vencido`) as of now, and its `due_at` (nil when the calendar never reaches it).
public struct TicketOutcome: Sendable, Hashable {
    public let policy: String
    public let breached: Bool
    public let dueAt: Instant?

    public init(policy: String, breached: Bool, dueAt: Instant?) {
        self.policy = policy
        self.breached = breached
        self.dueAt = dueAt
    }

    public init(_ ticket: EvaluatedTicket) {
        self.init(policy: ticket.policy.name, breached: ticket.reading.isOverdue, dueAt: ticket.reading.dueAt)
    }

    /// `{"policy", "breached", "due_at"}`; `null` for no clock.
    static func json(_ outcome: TicketOutcome?) -> String {
        guard let o = outcome else { return "null" }
        return JSONText.object([
            ("policy", JSONText.string(o.policy)), ("breached", o.breached ? "true" : "false"),
            ("due_at", JSONText.optional(o.dueAt?.iso8601)),
        ])
    }
}
