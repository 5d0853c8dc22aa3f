import Foundation
import SlawatchCore
import Testing

// Which routes and recipients newly recorded events go to (README, Events and Routes):
// `RouteSelection` chooses per route the latest crossed event it listens to, `DeliveryPlan` turns
// each choice into deliveries per channel and recipient.

private let hour: Int64 = 3_600_000_000
private let minute: Int64 = 60_000_000

private func at(_ text: String) throws -> Instant {
    try #require(Instant(iso8601: text), "bad test instant \(text)")
}

/// A 2-hour target on a 24x7 calendar with warnings at 50 and 75 % and one escalation an hour past
/// the deadline: 3 h 30 min after creation every level has been crossed.
private func rules(routes: String, channels: String) throws -> RuleSet {
    let text = """
        {
          calendars: { "24x7": { type: "always" } },
          policies: [
            { name: "general", calendar: "24x7", targets: { CRITICA: 2 }, stop_statuses: ["RESUELTO"],
              warn_at: [50, 75], escalate_after: ["1h"] },
          ],
          smtp: { url: "smtp://smtp.example.com:587", from: "sla@example.com" },
          channels: \(channels),
          routes: \(routes),
        }
        """
    return try RulesLoader.load(files: [(path: "rules/sla.json", contents: Data(text.utf8))], environment: [:])
}

private let created = "2026-03-24T08:00:00Z"

private func evaluate(
    _ rules: RuleSet, now: Instant, area: String? = "Soporte", manager: String? = "jefe@example.com",
    requester: String? = "cliente@example.com", changes: [StatusChange] = []
) throws -> EvaluatedTicket {
    let createdAt = try at(created)
    let ticket = SourceTicket(
        ticketID: "t1", code: "TKT-1", title: "Impresora", category: nil, requesterEmail: requester,
        status: changes.last?.status ?? "ABIERTO", priority: "CRITICA", area: area, areaManagerEmail: manager,
        createdAt: createdAt, updatedAt: changes.last?.at ?? createdAt)
    guard case .clock(let e) = SLAEvaluator(rules: rules).evaluate(ticket, changes: changes, now: now) else {
        throw CancellationError()
    }
    return e
}

private func kinds(_ selections: [RouteSelection]) -> [String] {
    selections.map { "\($0.event.kind.rawValue)/\(Int($0.event.level)) \($0.routes)" }
}

@Suite struct RouteSelectionTests {
    static let channels = #"{ log: { type: "log" } }"#

    @Test func eachRouteHearsOfTheLatestCrossedOfTheKindsItListensTo() throws {
        let rules = try rules(
            routes: """
                [
                  { events: ["sla.breached"], channels: ["log"] },
                  { events: ["sla.warning", "sla.breached", "sla.escalated"], channels: ["log"] },
                  { events: ["sla.warning"], channels: ["log"] },
                  { events: ["sla.met_after_breach"], channels: ["log"] },
                ]
                """, channels: Self.channels)
        let ticket = try evaluate(rules, now: try at(created) + 3 * hour + 30 * minute)
        let fresh = EventDetector.crossings(of: ticket)
        #expect(Set(fresh.map(\.kind)) == [.warning, .breached, .escalated])
        let selected = RouteSelection.select(fresh, of: ticket, routes: rules.routes)
        // The breach for the route that listens to it alone, although an escalation was crossed
        // in the same evaluation; the latest warning, not the first.
        #expect(kinds(selected) == ["sla.breached/0 [0]", "sla.escalated/3600 [1]", "sla.warning/75 [2]"])
    }

    @Test func routesChoosingTheSameEventShareOneSelectionInRouteOrder() throws {
        let rules = try rules(
            routes: """
                [
                  { events: ["sla.warning"], channels: ["log"] },
                  { events: ["sla.breached", "sla.escalated"], channels: ["log"] },
                  { events: ["sla.warning", "sla.breached"], channels: ["log"] },
                ]
                """, channels: Self.channels)
        let ticket = try evaluate(rules, now: try at(created) + 90 * minute)
        let selected = RouteSelection.select(EventDetector.crossings(of: ticket), of: ticket, routes: rules.routes)
        #expect(kinds(selected) == ["sla.warning/75 [0, 2]"])
    }

    @Test func aRouteWhoseWhenDoesNotMatchHearsNothing() throws {
        let rules = try rules(
            routes: """
                [
                  { when: { column: "area", op: "EQ", operand: "Redes" }, events: ["sla.breached"], channels: ["log"] },
                  { when: { column: "sla_status", op: "EQ", operand: "breached" },
                    events: ["sla.breached"], channels: ["log"] },
                  { when: { column: "area", op: "EQ", operand: null }, events: ["sla.breached"], channels: ["log"] },
                ]
                """, channels: Self.channels)
        let ticket = try evaluate(rules, now: try at(created) + 150 * minute)
        let selected = RouteSelection.select(EventDetector.crossings(of: ticket), of: ticket, routes: rules.routes)
        #expect(kinds(selected) == ["sla.breached/0 [1]"])
        let noArea = try evaluate(rules, now: try at(created) + 150 * minute, area: nil)
        #expect(
            kinds(RouteSelection.select(EventDetector.crossings(of: noArea), of: noArea, routes: rules.routes))
                == ["sla.breached/0 [1, 2]"])
    }

    @Test func aStoppedTicketIsNotifiedOnlyOfMetAfterBreach() throws {
        let rules = try rules(
            routes: """
                [
                  { events: ["sla.breached"], channels: ["log"] },
                  { events: ["sla.warning", "sla.breached", "sla.escalated", "sla.met_after_breach"], channels: ["log"] },
                  { events: ["sla.warning"], channels: ["log"] },
                ]
                """, channels: Self.channels)
        // Resolved at 2 h 30 min, past the deadline, seen at 4 h.
        let resolved = try evaluate(
            rules, now: try at(created) + 4 * hour,
            changes: [StatusChange(status: "RESUELTO", at: try at(created) + 150 * minute)])
        let fresh = EventDetector.crossings(of: resolved)
        #expect(Set(fresh.map(\.kind)) == [.warning, .breached, .metAfterBreach])
        #expect(
            kinds(RouteSelection.select(fresh, of: resolved, routes: rules.routes)) == ["sla.met_after_breach/0 [1]"])
        // Resolved in time: its warnings are recorded, not announced.
        let inTime = try evaluate(
            rules, now: try at(created) + 4 * hour,
            changes: [StatusChange(status: "RESUELTO", at: try at(created) + 100 * minute)])
        #expect(!EventDetector.crossings(of: inTime).isEmpty)
        #expect(RouteSelection.select(EventDetector.crossings(of: inTime), of: inTime, routes: rules.routes).isEmpty)
    }

    @Test func aSubsetHoldingTheChosenEventGivesTheSameChoice() throws {
        let rules = try rules(
            routes: #"[{ events: ["sla.warning", "sla.breached"], channels: ["log"] }]"#, channels: Self.channels)
        let ticket = try evaluate(rules, now: try at(created) + 150 * minute)
        let fresh = EventDetector.crossings(of: ticket)
        let all = RouteSelection.select(fresh, of: ticket, routes: rules.routes)
        #expect(kinds(all) == ["sla.breached/0 [0]"])
        #expect(RouteSelection.select(fresh.filter { $0.kind == .breached }, of: ticket, routes: rules.routes) == all)
        // Without the breach, the latest warning is news.
        #expect(
            kinds(RouteSelection.select(fresh.filter { $0.kind != .breached }, of: ticket, routes: rules.routes))
                == ["sla.warning/75 [0]"])
        #expect(RouteSelection.select([], of: ticket, routes: rules.routes).isEmpty)
    }
}

@Suite struct DeliveryPlanTests {
    static let channels = #"""
        {
          jefes: { type: "email", to: ["{{area_manager_email}}", "{{requester_email}}", "mesa@example.com"] },
          chat: { type: "slack", url: "https://hooks.example.com/x" },
          log: { type: "log" },
        }
        """#

    static func breached(
        _ rules: RuleSet, manager: String? = "jefe@example.com", requester: String? = "cliente@example.com"
    ) throws -> (EvaluatedTicket, ThresholdEvent) {
        let ticket = try evaluate(rules, now: try at(created) + 150 * minute, manager: manager, requester: requester)
        let event = try #require(EventDetector.crossings(of: ticket).first { $0.kind == .breached })
        return (ticket, event)
    }

    @Test func anEmailChannelDeliversToEachRecipientFromTheTicketAndTheRules() throws {
        let rules = try rules(
            routes: #"[{ events: ["sla.breached"], channels: ["jefes", "chat"] }]"#, channels: Self.channels)
        let (ticket, event) = try Self.breached(rules)
        let now = try at("2026-03-24T10:30:00Z")
        let plan = DeliveryPlan(rules: rules, disabled: [:], now: now)
        let planned = plan.deliveries(of: event, ticket: ticket.ticket, route: 0)
        #expect(planned.map(\.channel) == ["jefes", "jefes", "jefes", "chat"])
        #expect(planned.map(\.recipient) == ["jefe@example.com", "cliente@example.com", "mesa@example.com", "-"])
        #expect(planned.allSatisfy { $0.deadReason == nil && $0.route == 0 && $0.dueAt == now })
    }

    @Test func anEmptyRecipientMakesADeadDeliverySayingSo() throws {
        let rules = try rules(routes: #"[{ events: ["sla.breached"], channels: ["jefes"] }]"#, channels: Self.channels)
        let plan = DeliveryPlan(rules: rules, disabled: [:], now: try at("2026-03-24T10:30:00Z"))
        let (noManager, event) = try Self.breached(rules, manager: "")
        let planned = plan.deliveries(of: event, ticket: noManager.ticket, route: 0)
        #expect(planned.map(\.recipient) == ["", "cliente@example.com", "mesa@example.com"])
        #expect(planned.map(\.deadReason) == ["no recipient: the ticket's area_manager_email is empty", nil, nil])
        let (noRequester, _) = try Self.breached(rules, requester: nil)
        #expect(
            plan.deliveries(of: event, ticket: noRequester.ticket, route: 0).map(\.deadReason)
                == [nil, "no recipient: the ticket's requester_email is empty", nil])
        // Both empty: one dead delivery, since a delivery is one per recipient and both are "".
        let (neither, _) = try Self.breached(rules, manager: nil, requester: "")
        let dead = plan.deliveries(of: event, ticket: neither.ticket, route: 0)
        #expect(dead.map(\.recipient) == ["", "mesa@example.com"])
        #expect(dead.map(\.deadReason) == ["no recipient: the ticket's area_manager_email is empty", nil])
    }

    @Test func aRecipientNamedTwiceGetsOneDelivery() throws {
        let rules = try rules(routes: #"[{ events: ["sla.breached"], channels: ["jefes"] }]"#, channels: Self.channels)
        let (ticket, event) = try Self.breached(rules, manager: "mesa@example.com", requester: "mesa@example.com")
        let planned = DeliveryPlan(rules: rules, disabled: [:], now: try at("2026-03-24T10:30:00Z"))
            .deliveries(of: event, ticket: ticket.ticket, route: 0)
        #expect(planned.map(\.recipient) == ["mesa@example.com"])
    }

    @Test func aDisabledChannelMakesDeadDeliveriesNamingWhy() throws {
        let rules = try rules(
            routes: #"[{ events: ["sla.breached"], channels: ["jefes", "chat", "log"] }]"#, channels: Self.channels)
        let (ticket, event) = try Self.breached(rules, manager: nil)
        let plan = DeliveryPlan(
            rules: rules, disabled: ["jefes": "HTTP 410", "chat": "gone"], now: try at("2026-03-24T10:30:00Z"))
        let planned = plan.deliveries(of: event, ticket: ticket.ticket, route: 0)
        #expect(planned.map(\.channel) == ["jefes", "jefes", "jefes", "chat", "log"])
        // An empty recipient says so rather than that the channel is disabled.
        #expect(
            planned.map(\.deadReason) == [
                "no recipient: the ticket's area_manager_email is empty", "channel jefes is disabled: HTTP 410",
                "channel jefes is disabled: HTTP 410", "channel chat is disabled: gone", nil,
            ])
    }

    @Test func groupWaitHoldsDeliveriesAndGroupsThemByChannelAndRecipient() throws {
        let rules = try rules(
            routes: """
                [
                  { events: ["sla.breached"], channels: ["chat"] },
                  { events: ["sla.breached"], channels: ["chat", "jefes"], group_wait: "30s" },
                ]
                """, channels: Self.channels)
        let (ticket, event) = try Self.breached(rules)
        let now = try at("2026-03-24T10:30:00Z")
        let plan = DeliveryPlan(rules: rules, disabled: [:], now: now)
        let immediate = plan.deliveries(of: event, ticket: ticket.ticket, route: 0)
        #expect(immediate.map(\.groupKey) == ["event \(event.id) route 0 chat -"])
        #expect(immediate.map(\.dueAt) == [now])
        let held = plan.deliveries(of: event, ticket: ticket.ticket, route: 1)
        #expect(
            held.map(\.groupKey) == [
                "route 1 chat -", "route 1 jefes jefe@example.com", "route 1 jefes cliente@example.com",
                "route 1 jefes mesa@example.com",
            ])
        #expect(held.allSatisfy { $0.dueAt == now + 30_000_000 && $0.route == 1 })
    }

    @Test func aChannelTheRulesDoNotDefineGivesNoDelivery() throws {
        let rules = try rules(
            routes: #"[{ events: ["sla.breached"], channels: ["chat", "log"] }]"#, channels: Self.channels)
        let (ticket, event) = try Self.breached(rules)
        let plan = DeliveryPlan(
            routes: rules.routes, channels: ["log": rules.channels["log"]!], disabled: [:], now: try at(created))
        #expect(plan.deliveries(of: event, ticket: ticket.ticket, route: 0).map(\.channel) == ["log"])
        let none = DeliveryPlan(routes: rules.routes, channels: [:], disabled: [:], now: try at(created))
        // The event is still chosen, with nothing to deliver.
        let notifications = none.notifications(of: EventDetector.crossings(of: ticket), ticket: ticket)
        #expect(notifications.map(\.event) == [event])
        #expect(notifications.map(\.deliveries) == [[]])
    }

    @Test func notificationsJoinTheDeliveriesOfEveryRouteThatChoseAnEvent() throws {
        let rules = try rules(
            routes: """
                [
                  { events: ["sla.breached"], channels: ["log"] },
                  { events: ["sla.warning"], channels: ["chat"] },
                  { events: ["sla.breached", "sla.warning"], channels: ["jefes"], group_wait: "1m" },
                ]
                """, channels: Self.channels)
        let ticket = try evaluate(rules, now: try at(created) + 150 * minute, manager: nil)
        let now = try at("2026-03-24T10:30:00Z")
        let notifications = DeliveryPlan(rules: rules, disabled: [:], now: now)
            .notifications(of: EventDetector.crossings(of: ticket), ticket: ticket)
        #expect(
            notifications.map { "\($0.event.kind.rawValue)/\(Int($0.event.level))" }
                == ["sla.breached/0", "sla.warning/75"])
        #expect(
            notifications[0].deliveries.map { "\($0.route) \($0.channel) \($0.recipient)" } == [
                "0 log -", "2 jefes ", "2 jefes cliente@example.com", "2 jefes mesa@example.com",
            ])
        #expect(notifications[1].deliveries.map { "\($0.route) \($0.channel) \($0.recipient)" } == ["1 chat -"])
        #expect(notifications[0].deliveries.map(\.dueAt) == [now, now + minute, now + minute, now + minute])
    }
}
