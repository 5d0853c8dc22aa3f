/// A ticket whose outcome differs between the current and the proposed rules: breached under one
/// and not the other, or a clock under one and none under the other.
public struct ChangedTicket: Sendable, Hashable {
    public let code: String
    public let area: String?
    public let priority: String
    public let current: TicketOutcome?
    public let proposed: TicketOutcome?

    public init(code: String, area: String?, priority: String, current: TicketOutcome?, proposed: TicketOutcome?) {
        self.code = code
        self.area = area
        self.priority = priority
        self.current = current
        self.proposed = proposed
    }

    /// Whether two outcomes of one ticket differ as a what-if lists them; a `due_at` that moved
    /// without changing the verdict is not a change.
    public static func differs(_ a: TicketOutcome?, _ b: TicketOutcome?) -> Bool {
        switch (a, b) {
        case (nil, nil): return false
        case (let x?, let y?): return x.breached != y.breached
        default: return true
        }
    }

    /// `{"code", "current": O, "proposed": O}`.
    public func json() -> String {
        JSONText.object([
            ("code", JSONText.string(code)), ("current", TicketOutcome.json(current)),
            ("proposed", TicketOutcome.json(proposed)),
        ])
    }
}
