/// Evaluates the same tickets under the current rules and under proposed ones, side by side, as
/// `slawatch whatif` does (README, "What-if and forecast").
///
/// Tickets are fed one at a time, each with its history, so that one read of the source serves
/// both evaluations. Only the tickets created in `[since, until)` count. What it keeps is
/// counters (one `OutcomeSummary` per rule set) and the changed tickets, never every ticket.
///
/// Holds two `SLAEvaluator`s, so it is not `Sendable`.
public final class WhatIfComparison {
    public let since: Instant
    public let until: Instant
    public let now: Instant
    public private(set) var current = OutcomeSummary()
    public private(set) var proposed = OutcomeSummary()
    /// The tickets whose outcome differs, in the order they were fed; `sortedChanged` orders them.
    public private(set) var changed: [ChangedTicket] = []
    private let currentEvaluator: SLAEvaluator
    private let proposedEvaluator: SLAEvaluator

    public init(current: RuleSet, proposed: RuleSet, since: Instant, until: Instant, now: Instant) {
        self.since = since
        self.until = until
        self.now = now
        currentEvaluator = SLAEvaluator(rules: current)
        proposedEvaluator = SLAEvaluator(rules: proposed)
    }

    /// Counts one ticket under both rule sets; a ticket created outside `[since, until)` is ignored.
    public func add(_ ticket: SourceTicket, history: [StatusChange]) {
        guard ticket.createdAt >= since, ticket.createdAt < until else { return }
        let code = ticket.code
        let area = ticket.area
        let priority = ticket.priority
        let a = outcome(currentEvaluator.evaluate(ticket, changes: history, now: now), into: &current)
        let b = outcome(proposedEvaluator.evaluate(ticket, changes: history, now: now), into: &proposed)
        if ChangedTicket.differs(a, b) {
            changed.append(ChangedTicket(code: code, area: area, priority: priority, current: a, proposed: b))
        }
    }

    private func outcome(_ result: SLAEvaluator.Outcome, into summary: inout OutcomeSummary) -> TicketOutcome? {
        guard case .clock(let e) = result else { return nil }
        summary.add(e)
        return TicketOutcome(e)
    }

    /// The changed tickets by code (code points), so that the listing does not depend on the
    /// order the source gave them in.
    public var sortedChanged: [ChangedTicket] {
        changed.sorted { OutcomeSummary.codePointOrder($0.code, $1.code) }
    }

    /// What to show of the comparison so far.
    public var report: WhatIfReport { WhatIfReport(self) }
}

@available(*, unavailable)
extension WhatIfComparison: Sendable {}
