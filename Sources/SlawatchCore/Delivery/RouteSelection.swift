/// One event of a ticket to notify, and the routes that notify it.
///
/// When one evaluation finds several levels of a ticket crossed (after downtime), all are recorded
/// but each route hears only of the latest crossed of the kinds it listens to, and only when its
/// `when` matches the ticket (README, Events and Routes). Choosing per route means a route that
/// listens only to `sla.breached` still hears of the breach when an escalation was crossed in the
/// same evaluation. A ticket already in a stop status is notified only of `sla.met_after_breach`
/// (``EventDetector/toNotify(_:state:)``).
public struct RouteSelection: Sendable, Hashable {
    public let event: ThresholdEvent
    /// Indexes into the rules' routes, ascending.
    public private(set) var routes: [Int]

    public init(event: ThresholdEvent, routes: [Int]) {
        self.event = event
        self.routes = routes
    }

    /// The events to notify among `fresh`, the events newly recorded for `ticket` in one evaluation,
    /// each with its routes; in the order in which the routes first chose them. Events are told
    /// apart by id: when routes choose crossings with the same id, the first chosen stands for all.
    ///
    /// Choosing on a subset of `fresh` gives the same choice for a route whenever the event it
    /// chose on the whole is in the subset.
    public static func select(_ fresh: [ThresholdEvent], of ticket: EvaluatedTicket, routes: [Route])
        -> [RouteSelection]
    {
        var selections: [RouteSelection] = []
        var position: [String: Int] = [:]
        for (index, route) in routes.enumerated() {
            let candidates = fresh.filter { route.events.contains($0.kind) }
            guard let latest = EventDetector.toNotify(candidates, state: ticket.reading.state),
                let event = candidates.first(where: { $0 == latest })
            else { continue }
            if let when = route.when, !when.matches(ticket) { continue }
            if let at = position[event.id] {
                selections[at].routes.append(index)
            } else {
                position[event.id] = selections.count
                selections.append(RouteSelection(event: event, routes: [index]))
            }
        }
        return selections
    }
}
