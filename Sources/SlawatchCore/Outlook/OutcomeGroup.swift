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
    public mutating func add(_ ticket: EvaluatedTicket) { add(Tally(ticket)) }

    /// What one ticket adds to every group it belongs to, found once for all of them.
    public struct Tally: Sendable {
        let breached: Bool
        let stopped: Bool
        /// Crossings per kind, in `EventKind.allCases` order.
        let events: [Int]

        public init(_ ticket: EvaluatedTicket) {
            let r = ticket.reading
            breached = r.isOverdue
            stopped = r.state == .stopped
            var events = [0, 0, 0, 0]
            for event in EventDetector.crossings(of: ticket) {
                switch event.kind {
                case .warning: events[0] += 1
                case .breached: events[1] += 1
                case .escalated: events[2] += 1
                case .metAfterBreach: events[3] += 1
                }
            }
            self.events = events
        }
    }

    /// Counts one ticket's tally.
    public mutating func add(_ tally: Tally) {
        tickets += 1
        if tally.breached { breached += 1 }
        if tally.stopped {
            stopped += 1
            if !tally.breached { met += 1 }
        }
        for (i, kind) in EventKind.allCases.enumerated() where tally.events[i] > 0 {
            events[kind, default: 0] += tally.events[i]
        }
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
