/// The deliveries that newly recorded events ask for, decided without the database.
///
/// Every route whose `events` and `when` match delivers to each of its channels (README, Routes):
/// an e-mail channel makes one delivery per recipient, `{{area_manager_email}}` and
/// `{{requester_email}}` taken from the ticket, and an empty one makes a dead delivery saying so; a
/// disabled channel makes dead deliveries naming the reason it was disabled. A route's
/// `group_wait` holds its deliveries for that long, and those due for the same channel and
/// recipient share a group key, so that they go out as one message; without `group_wait` the key
/// is the event's own.
public struct DeliveryPlan: Sendable {
    public let routes: [Route]
    public let channels: [String: Channel]
    /// Disabled channels by name, with the reason each was disabled.
    public let disabled: [String: String]
    /// When the events were detected: the deliveries are due from then (plus `group_wait`).
    public let now: Instant

    public init(routes: [Route], channels: [String: Channel], disabled: [String: String], now: Instant) {
        self.routes = routes
        self.channels = channels
        self.disabled = disabled
        self.now = now
    }

    public init(rules: RuleSet, disabled: [String: String], now: Instant) {
        self.init(routes: rules.routes, channels: rules.channels, disabled: disabled, now: now)
    }

    /// One event to notify and its deliveries, in route order.
    public struct Notification: Sendable, Hashable {
        public let event: ThresholdEvent
        public let deliveries: [PlannedDelivery]
    }

    /// What one evaluation's newly recorded events of `ticket` notify: the events chosen by
    /// ``RouteSelection/select(_:of:routes:)``, each with the deliveries of the routes that chose it.
    /// An event chosen by a route is notified even if its channels give no delivery.
    public func notifications(of fresh: [ThresholdEvent], ticket: EvaluatedTicket) -> [Notification] {
        RouteSelection.select(fresh, of: ticket, routes: routes).map { selection in
            Notification(
                event: selection.event,
                deliveries: selection.routes.flatMap {
                    deliveries(of: selection.event, ticket: ticket.ticket, route: $0)
                })
        }
    }

    /// The deliveries route `index` asks for about `event`: one per channel and distinct recipient,
    /// in the order of the route's channels and of each channel's `to`. A channel the rules do not
    /// define gives none.
    public func deliveries(of event: ThresholdEvent, ticket: SourceTicket, route index: Int) -> [PlannedDelivery] {
        let route = routes[index]
        var result: [PlannedDelivery] = []
        for name in route.channels {
            guard let channel = channels[name] else { continue }
            var seen = Set<String>()
            for (recipient, reason) in Self.recipients(of: channel, ticket: ticket)
            where seen.insert(recipient).inserted {
                let dead = reason ?? disabled[name].map { "channel \(name) is disabled: \($0)" }
                let group =
                    route.groupWaitMicros > 0
                    ? "route \(index) \(name) \(recipient)"
                    : "event \(event.id) route \(index) \(name) \(recipient)"
                result.append(
                    PlannedDelivery(
                        route: index, channel: name, recipient: recipient, deadReason: dead, groupKey: group,
                        dueAt: now + route.groupWaitMicros))
            }
        }
        return result
    }

    /// The recipients of `channel` for `ticket`, each with the reason it cannot be written to: an
    /// e-mail channel's `to` with the ticket's addresses put in (an empty one is `""` with a
    /// reason), or the single recipient `-` of a channel that has none of its own.
    static func recipients(of channel: Channel, ticket: SourceTicket) -> [(String, String?)] {
        guard channel.kind == .email else { return [("-", nil)] }
        func fromTicket(_ address: String?, _ column: String) -> (String, String?) {
            if let address, !address.isEmpty { return (address, nil) }
            return ("", "no recipient: the ticket's \(column) is empty")
        }
        return channel.to.map { entry in
            switch entry {
            case "{{area_manager_email}}": return fromTicket(ticket.areaManagerEmail, "area_manager_email")
            case "{{requester_email}}": return fromTicket(ticket.requesterEmail, "requester_email")
            default: return (entry, nil)
            }
        }
    }
}
