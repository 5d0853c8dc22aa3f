/// A ticket with its clock, as the dashboard, routes and reports see it.
public struct EvaluatedTicket: Sendable, FilterSubject {
    public let ticket: SourceTicket
    public let policy: Policy
    public let reading: ClockReading

    public func value(of column: String) -> FieldValue? {
        switch column {
        case "sla_status": return .text(reading.status.rawValue)
        case "sla_horas": return .number(reading.slaHours)
        case "horas_restantes": return .number(reading.hoursRemaining)
        case "vencido": return .bool(reading.isOverdue)
        case "due_at": return reading.dueAt.map(FieldValue.instant) ?? .null
        default: return ticket.value(of: column)
        }
    }
}

/// Why a ticket has no clock.
public struct UnmatchedTicket: Sendable, Hashable {
    public let ticket: SourceTicket
    public let reason: String
}

/// Applies a rule set to tickets: chooses each ticket's policy and computes its clock.
///
/// Holds one `WorkingTimeline` per calendar, so it is not `Sendable`; give each concurrent
/// evaluation its own evaluator.
public final class SLAEvaluator {
    public let rules: RuleSet
    private var timelines: [String: WorkingTimeline] = [:]
    private var lastTimeline: (Policy, WorkingTimeline)?

    public init(rules: RuleSet) { self.rules = rules }

    public enum Outcome: Sendable {
        case clock(EvaluatedTicket)
        case unmatched(UnmatchedTicket)
    }

    // `consuming`: the ticket moves into the outcome instead of being copied field by field.
    public func evaluate(_ ticket: consuming SourceTicket, changes: [StatusChange], now: Instant) -> Outcome {
        guard let policy = rules.policy(for: ticket) else {
            return .unmatched(UnmatchedTicket(ticket: ticket, reason: "no policy matches the ticket"))
        }
        guard let target = policy.targets[ticket.priority] else {
            let known = policy.targets.keys.sorted().joined(separator: ", ")
            return .unmatched(
                UnmatchedTicket(
                    ticket: ticket,
                    reason:
                        "policy \"\(policy.name)\" has no target for priority \"\(ticket.priority)\" (targets: \(known))"
                ))
        }
        let history = StatusHistory(
            createdAt: ticket.createdAt, updatedAt: ticket.updatedAt, currentStatus: ticket.status, changes: changes)
        let reading = SLAClock.evaluate(
            history: history, targetHours: target, policy: policy.clock, timeline: timeline(for: policy), now: now)
        return .clock(EvaluatedTicket(ticket: ticket, policy: policy, reading: reading))
    }

    /// The timeline of a policy's calendar, shared by every policy on that calendar.
    public func timeline(for policy: Policy) -> WorkingTimeline {
        // Most tickets in a row share a policy: no lookup by name for them.
        if let (last, t) = lastTimeline, last === policy { return t }
        let t = timelines[policy.calendarName] ?? WorkingTimeline(calendar: policy.calendar)
        timelines[policy.calendarName] = t
        lastTimeline = (policy, t)
        return t
    }
}

@available(*, unavailable)
extension SLAEvaluator: Sendable {}
