import SlawatchCore

/// One element of the dashboard (README, "The dashboard"): a ticket that has a clock, with the clock's
/// three figures. The CLI makes it from the engine's evaluation, the HTTP API reads it from the SQL
/// function; both write it with the same code.
public struct DashboardEntry: Sendable {
    public var ticketID: String
    public var code: String
    public var category: String?
    public var requesterEmail: String?
    public var status: String
    public var priority: String
    public var area: String?
    /// `updated_at`, or `created_at` without one.
    public var updatedAt: Instant
    public var slaHours: Double
    public var hoursRemaining: Double
    public var isOverdue: Bool

    public init(_ e: EvaluatedTicket) {
        let t = e.ticket
        ticketID = t.ticketID
        code = t.code
        category = t.category
        requesterEmail = t.requesterEmail
        status = t.status
        priority = t.priority
        area = t.area
        updatedAt = t.updatedAt
        slaHours = e.reading.slaHours
        hoursRemaining = e.reading.hoursRemaining
        isOverdue = e.reading.isOverdue
    }

    init(
        ticketID: String, code: String, category: String?, requesterEmail: String?, status: String, priority: String,
        area: String?, updatedAt: Instant, slaHours: Double, hoursRemaining: Double, isOverdue: Bool
    ) {
        self.ticketID = ticketID
        self.code = code
        self.category = category
        self.requesterEmail = requesterEmail
        self.status = status
        self.priority = priority
        self.area = area
        self.updatedAt = updatedAt
        self.slaHours = slaHours
        self.hoursRemaining = hoursRemaining
        self.isOverdue = isOverdue
    }
}
