/// A running clock that will breach within a forecast's horizon if nothing changes.
public struct ForecastItem: Sendable, Hashable {
    public let code: String
    public let title: String
    public let area: String?
    public let priority: String
    public let dueAt: Instant
    /// `dueAt` in the policy calendar's local time, with its offset (UTC for a 24x7 calendar).
    public let dueLocal: String
    /// The calendar's zone, nil for a 24x7 calendar.
    public let zone: String?
    public let hoursRemaining: Double

    public init(
        code: String, title: String, area: String?, priority: String, dueAt: Instant, dueLocal: String, zone: String?,
        hoursRemaining: Double
    ) {
        self.code = code
        self.title = title
        self.area = area
        self.priority = priority
        self.dueAt = dueAt
        self.dueLocal = dueLocal
        self.zone = zone
        self.hoursRemaining = hoursRemaining
    }

    /// `{"code", "area", "priority", "due_at", "due_local", "horas_restantes"}`.
    public func json() -> String {
        JSONText.object([
            ("code", JSONText.string(code)), ("area", JSONText.optional(area)), ("priority", JSONText.string(priority)),
            ("due_at", JSONText.string(dueAt.iso8601)), ("due_local", JSONText.string(dueLocal)),
            ("horas_restantes", JSONText.number(hoursRemaining)),
        ])
    }
}
