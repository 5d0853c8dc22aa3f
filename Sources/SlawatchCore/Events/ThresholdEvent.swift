/// A crossing on a ticket's clock, as the README's Events defines it: a warning level, the deadline, an
/// escalation step, or a stop after a breach.
///
/// Its `id` is derived from (ticket, kind, level, target) only, so the same crossing always has the
/// same id: storing events under it makes a re-run, a restart or a second worker unable to emit one
/// twice, and a new target (the priority changed) gives new ids, which re-arms every level.
public struct ThresholdEvent: Sendable, Hashable {
    public let ticketID: String
    public let kind: EventKind
    /// The percentage for a warning, the step in seconds for an escalation, 0 otherwise.
    public let level: Double
    public let targetMicros: Int64
    /// When the clock crossed it (for `met_after_breach`, when the ticket entered its stop status).
    public let crossedAt: Instant?

    public init(ticketID: String, kind: EventKind, level: Double, targetMicros: Int64, crossedAt: Instant?) {
        self.ticketID = ticketID
        self.kind = kind
        self.level = level
        self.targetMicros = targetMicros
        self.crossedAt = crossedAt
    }

    public var id: String {
        let levelText = level == level.rounded() ? String(Int64(level)) : String(level)
        return "\(ticketID)/\(kind.rawValue)/\(levelText)/\(targetMicros)"
    }

    /// Later crossings first; at the same instant, the more severe kind and the higher level.
    static func crossedLater(_ a: ThresholdEvent, _ b: ThresholdEvent) -> Bool {
        let ta = a.crossedAt ?? .distantPast
        let tb = b.crossedAt ?? .distantPast
        if ta != tb { return ta > tb }
        if a.kind.severity != b.kind.severity { return a.kind.severity > b.kind.severity }
        return a.level > b.level
    }
}

extension EventKind {
    var severity: Int {
        switch self {
        case .warning: return 0
        case .breached: return 1
        case .escalated: return 2
        case .metAfterBreach: return 3
        }
    }
}

/// Turns a ticket's clock reading into the events it has crossed.
public enum EventDetector {
    /// Every crossing the reading shows, whether or not it was seen before.
    public static func crossings(of ticket: EvaluatedTicket) -> [ThresholdEvent] {
        let r = ticket.reading
        let id = ticket.ticket.ticketID
        var events: [ThresholdEvent] = []
        for t in r.thresholds where t.crossed {
            let kind: EventKind
            switch t.kind {
            case .warning: kind = .warning
            case .breach: kind = .breached
            case .escalation: kind = .escalated
            }
            events.append(
                ThresholdEvent(
                    ticketID: id, kind: kind, level: t.kind == .breach ? 0 : t.level, targetMicros: r.targetMicros,
                    crossedAt: t.at))
        }
        if r.state == .stopped && r.isOverdue {
            events.append(
                ThresholdEvent(
                    ticketID: id, kind: .metAfterBreach, level: 0, targetMicros: r.targetMicros,
                    crossedAt: r.stoppedSince))
        }
        return events
    }

    /// What an earlier evaluation of a ticket under the same rules saw: every crossing it showed
    /// was recorded then.
    public struct EarlierReading: Sendable, Hashable {
        public var policy: String
        public var targetMicros: Int64
        public var elapsedMicros: Int64
        public var stopped: Bool
        public init(policy: String, targetMicros: Int64, elapsedMicros: Int64, stopped: Bool) {
            self.policy = policy
            self.targetMicros = targetMicros
            self.elapsedMicros = elapsedMicros
            self.stopped = stopped
        }
    }

    /// Whether `ticket` shows a crossing that `earlier` did not, so that it may have an event not
    /// yet recorded. Event ids depend on the policy's target, not on when the level was reached:
    /// with the same policy and target, a level crossed at the earlier elapsed time is the same
    /// event.
    public static func mayHaveUnrecorded(_ ticket: EvaluatedTicket, earlier: EarlierReading?) -> Bool {
        let r = ticket.reading
        guard let earlier, earlier.policy == ticket.policy.name, earlier.targetMicros == r.targetMicros else {
            return !crossings(of: ticket).isEmpty
        }
        for t in r.thresholds where t.crossed {
            let seen =
                t.kind == .breach ? earlier.elapsedMicros > t.elapsedMicros : earlier.elapsedMicros >= t.elapsedMicros
            if !seen { return true }
        }
        if r.state == .stopped && r.isOverdue && !(earlier.stopped && earlier.elapsedMicros > earlier.targetMicros) {
            return true
        }
        return false
    }

    /// Of the events newly recorded for one ticket in one evaluation, the one to notify: the
    /// latest crossed. A stopped ticket is notified only of `met_after_breach`: warnings and
    /// breaches of work that is already done are history, not news.
    public static func toNotify(_ fresh: [ThresholdEvent], state: ClockState) -> ThresholdEvent? {
        let candidates = state == .stopped ? fresh.filter { $0.kind == .metAfterBreach } : fresh
        return candidates.min(by: ThresholdEvent.crossedLater)
    }
}
