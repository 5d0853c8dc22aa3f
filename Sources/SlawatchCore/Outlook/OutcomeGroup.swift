/// The figures of one group of tickets under one rule set, as `slawatch whatif` reports them
/// (README, "What-if and forecast"): tickets with a clock, breached (`vencido`) as of now, stopped,
/// met (stopped within target), and the events of each kind their clocks crossed up to now.
public struct OutcomeGroup: Sendable, Hashable {
    public var tickets = 0
    public var breached = 0
    public var stopped = 0
    public var met = 0
    /// Crossings per kind, as `EventDetector.crossings` finds them.
    public var events: [EventKind: Int] = [:]

    public init() {}

    /// Met out of stopped; nil when nothing stopped.
    public var attainment: Double? { stopped == 0 ? nil : Double(met) / Double(stopped) }

    /// Counts one evaluated ticket.
    public mutating func add(_ ticket: EvaluatedTicket) {
        let r = ticket.reading
        tickets += 1
        if r.isOverdue { breached += 1 }
        if r.state == .stopped {
            stopped += 1
            if !r.isOverdue { met += 1 }
        }
        for event in EventDetector.crossings(of: ticket) { events[event.kind, default: 0] += 1 }
    }

    /// `{"tickets", "breached", "stopped", "met", "attainment", "events": {KIND: n}}`, every kind listed.
    public func json() -> String {
        JSONText.object([
            ("tickets", String(tickets)), ("breached", String(breached)), ("stopped", String(stopped)),
            ("met", String(met)), ("attainment", attainment.map(JSONText.number) ?? "null"),
            ("events", JSONText.object(EventKind.allCases.map { ($0.rawValue, String(events[$0] ?? 0)) })),
        ])
    }
}
