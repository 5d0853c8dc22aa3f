import Foundation
import SlawatchCore
import SlawatchStore

/// `slawatch ticket CODE`: one ticket's clock explained.
enum TicketCommand {
    static func run(_ context: CommandContext) async throws(CommandError) {
        guard let code = context.args.positional.first, context.args.positional.count == 1 else {
            throw .usage("usage: slawatch ticket CODE [--format json|text]")
        }
        let format = try context.format(allowed: ["text", "json"], default: "text")
        let rules = try context.loadRules()
        let database = try await context.database()
        let (ticket, changes) = try await database.command { connection in
            let source = try SourceRepository(connection: connection, rules: rules)
            guard let ticket = try source.tickets(code: code).first else {
                throw CommandError.runtime("no ticket with code '\(code)' in \(rules.source.tickets)")
            }
            return (ticket, try source.statusChanges(ticketIDs: [ticket.ticketID])[ticket.ticketID] ?? [])
        }
        let evaluator = SLAEvaluator(rules: rules)
        if format == "json" {
            // The same text as the API's /api/tickets/{codigo}/sla.
            var events: [RecordedEvent] = []
            if case .clock = evaluator.evaluate(ticket, changes: changes, now: context.now) {
                events = try await recordedEvents(database, ticketID: ticket.ticketID)
            }
            context.output(
                explanationJSON(
                    code: code, ticket: ticket, changes: changes, evaluator: evaluator, now: context.now, events: events
                ))
            return
        }
        switch evaluator.evaluate(ticket, changes: changes, now: context.now) {
        case .unmatched(let u):
            context.output("\(code): no SLA clock — \(u.reason)\n")
        case .clock(let e):
            let history = StatusHistory(
                createdAt: ticket.createdAt, updatedAt: ticket.updatedAt, currentStatus: ticket.status, changes: changes
            )
            let explanation = ClockExplanation(
                history: history, policy: e.policy.clock, timeline: evaluator.timeline(for: e.policy), now: context.now)
            let events = try await recordedEvents(database, ticketID: ticket.ticketID)
            context.output(text(e, explanation, context.now) + eventsText(events))
        }
    }

    struct RecordedEvent {
        var fields: [(String, String)]
        var kind: String, level: Double, crossedAt: String?, notified: Bool
        var deliveries: [[(String, String)]]
    }

    /// The events slawatch recorded for the ticket, with their deliveries; none before `migrate`.
    static func recordedEvents(_ database: some ConnectionProvider, ticketID: String) async throws(CommandError)
        -> [RecordedEvent]
    {
        let recorded: [(event: EventLog.Event, deliveries: [EventLog.Delivery])]
        do {
            recorded = try await database.withConnection { try EventLog(connection: $0).events(ofTicket: ticketID) }
        } catch {
            throw CommandError.from(error)
        }
        return recordedEvents(from: recorded)
    }

    /// The events of `EventLog.events(ofTicket:)` as `ticket` shows them.
    static func recordedEvents(from recorded: [(event: EventLog.Event, deliveries: [EventLog.Delivery])])
        -> [RecordedEvent]
    {
        recorded.map { event, deliveries in
            let crossed = event.crossedAt?.iso8601
            return RecordedEvent(
                fields: [
                    ("id", JSONText.string(event.id)), ("kind", JSONText.string(event.kind)),
                    ("level", JSONText.number(event.level)),
                    ("crossed_at", JSONText.optional(crossed)),
                    ("detected_at", JSONText.string(event.detectedAt.iso8601)),
                    ("notified", event.notified ? "true" : "false"),
                ],
                kind: event.kind, level: event.level, crossedAt: crossed, notified: event.notified,
                deliveries: deliveries.map { d in
                    [
                        ("id", String(d.id)), ("channel", JSONText.string(d.channel)),
                        ("recipient", JSONText.string(d.recipient)),
                        ("status", JSONText.string(d.status)), ("attempts", String(d.attempts)),
                        ("sent_at", JSONText.optional(d.sentAt?.iso8601)),
                        ("last_error", JSONText.optional(d.lastError)), ("reminder", String(d.reminder)),
                    ]
                })
        }
    }

    static func eventsJSON(_ events: [RecordedEvent]) -> String {
        "["
            + events.map { e in
                JSONText.object(
                    e.fields + [("deliveries", "[" + e.deliveries.map(JSONText.object).joined(separator: ", ") + "]")])
            }.joined(separator: ", ") + "]"
    }

    static func eventsText(_ events: [RecordedEvent]) -> String {
        guard !events.isEmpty else { return "  events: none recorded\n" }
        var out = "  events:\n"
        for e in events {
            let level =
                e.kind == EventKind.warning.rawValue
                ? " \(JSONText.number(e.level))%"
                : (e.kind == EventKind.escalated.rawValue ? " +\(DurationText.format(Int64(e.level * 1_000_000)))" : "")
            out +=
                "    \(e.kind)\(level) crossed \(e.crossedAt ?? "-")\(e.notified ? "" : " (recorded, not notified)")\n"
            for d in e.deliveries {
                func v(_ k: String) -> String {
                    let x = d.first { $0.0 == k }?.1 ?? ""
                    return x.hasPrefix("\"") ? String(x.dropFirst().dropLast()) : x
                }
                out +=
                    "      delivery \(v("id")) → \(v("channel")) \(v("recipient")): \(v("status")), \(v("attempts")) attempts\(v("last_error") == "null" ? "" : " — " + v("last_error"))\n"
            }
        }
        return out
    }

    static func describe(_ calendar: WorkCalendar) -> String {
        switch calendar {
        case .always: return "24x7"
        case .businessHours(let h):
            let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            let week = days.enumerated().compactMap { i, d in
                h.week[i].isEmpty ? nil : "\(d) " + h.week[i].map(\.description).joined(separator: ",")
            }
            return "\(h.timeZoneIdentifier): " + week.joined(separator: "; ")
        }
    }

    static func text(_ e: EvaluatedTicket, _ x: ClockExplanation, _ now: Instant) -> String {
        let t = e.ticket
        let r = e.reading
        let p = e.policy
        var out = "\(t.code)  \(t.title)\n"
        out += "  status \(t.status), priority \(t.priority), area \(t.area ?? "-")\n"
        out += "  policy \"\(p.name)\", calendar \"\(p.calendarName)\" (\(describe(p.calendar)))\n"
        out +=
            "  target \(DashboardCommand.hours(r.slaHours)) h; pause: \(p.clock.pauseStatuses.sorted().joined(separator: ", ")); stop: \(p.clock.stopStatuses.sorted().joined(separator: ", "))\n"
        out += "  created \(t.createdAt.iso8601), evaluated at \(now.iso8601)\n"
        out += "  counted working time:\n"
        for (s, end) in x.counted { out += "    \(s.iso8601) → \(end.iso8601)  \(DurationText.format(end - s))\n" }
        if x.counted.isEmpty { out += "    (none)\n" }
        if !x.halted.isEmpty {
            out += "  not counted (pause or stop status):\n"
            for span in x.halted { out += "    \(span.status ?? "-") \(span.start.iso8601) → \(span.end.iso8601)\n" }
        }
        if !x.holidays.isEmpty {
            out += "  holidays skipped: \(x.holidays.map(\.description).joined(separator: ", "))\n"
        }
        out +=
            "  elapsed \(DashboardCommand.hours(r.elapsedHours)) h, remaining \(DashboardCommand.hours(r.hoursRemaining)) h, vencido \(r.isOverdue ? "yes" : "no"), sla_status \(r.status.rawValue), clock \(r.state.rawValue)\n"
        if let due = r.dueAt {
            if r.elapsedMicros >= r.targetMicros {
                out += "  due_at \(due.iso8601): the target was reached then\n"
            } else {
                out +=
                    "  due_at \(due.iso8601): \(DurationText.format(r.targetMicros - r.elapsedMicros)) of working time after \(max(now, t.createdAt).iso8601)\(r.state == .running ? "" : ", if the clock runs again from now on")\n"
            }
        } else {
            out += "  due_at: never — the calendar has no working time to reach the target\n"
        }
        out += "  thresholds:\n"
        for th in r.thresholds {
            let name =
                th.kind == .warning
                ? "warning \(JSONText.number(th.level))%"
                : (th.kind == .breach ? "breach" : "escalation +\(DurationText.format(Int64(th.level * 1_000_000)))")
            out +=
                "    \(name): \(th.crossed ? "crossed" : "not yet") \(th.at.map { "at " + $0.iso8601 } ?? "(never)")\n"
        }
        return out
    }

    /// `slawatch ticket CODE --format json`: the clock explained, or why there is none.
    static func explanationJSON(
        code: String, ticket: SourceTicket, changes: [StatusChange], evaluator: SLAEvaluator, now: Instant,
        events: [RecordedEvent]
    ) -> String {
        switch evaluator.evaluate(ticket, changes: changes, now: now) {
        case .unmatched(let u):
            return JSONText.object([
                ("code", JSONText.string(code)), ("clock", "null"), ("reason", JSONText.string(u.reason)),
            ]) + "\n"
        case .clock(let e):
            let history = StatusHistory(
                createdAt: ticket.createdAt, updatedAt: ticket.updatedAt, currentStatus: ticket.status, changes: changes
            )
            let explanation = ClockExplanation(
                history: history, policy: e.policy.clock, timeline: evaluator.timeline(for: e.policy), now: now)
            return json(e, explanation, now, events: eventsJSON(events))
        }
    }

    static func json(_ e: EvaluatedTicket, _ x: ClockExplanation, _ now: Instant, events: String) -> String {
        let r = e.reading
        let counted =
            "["
            + x.counted.map {
                JSONText.object([
                    ("start", JSONText.string($0.start.iso8601)), ("end", JSONText.string($0.end.iso8601)),
                ])
            }.joined(separator: ", ") + "]"
        let halted =
            "["
            + x.halted.map {
                JSONText.object([
                    ("status", JSONText.optional($0.status)), ("start", JSONText.string($0.start.iso8601)),
                    ("end", JSONText.string($0.end.iso8601)),
                ])
            }.joined(separator: ", ") + "]"
        let thresholds =
            "["
            + r.thresholds.map { th in
                JSONText.object([
                    ("kind", JSONText.string(th.kind.rawValue)), ("level", JSONText.number(th.level)),
                    ("crossed", th.crossed ? "true" : "false"), ("at", JSONText.optional(th.at?.iso8601)),
                ])
            }.joined(separator: ", ") + "]"
        var fields = DashboardCommand.fields(e)
        fields += [
            ("now", JSONText.string(now.iso8601)), ("policy", JSONText.string(e.policy.name)),
            ("calendar", JSONText.string(e.policy.calendarName)), ("elapsed_horas", JSONText.number(r.elapsedHours)),
            ("sla_status", JSONText.string(r.status.rawValue)), ("clock", JSONText.string(r.state.rawValue)),
            ("due_at", JSONText.optional(r.dueAt?.iso8601)), ("counted", counted), ("not_counted", halted),
            ("holidays", "[" + x.holidays.map { JSONText.string($0.description) }.joined(separator: ", ") + "]"),
            ("thresholds", thresholds), ("events", events),
        ]
        return JSONText.object(fields) + "\n"
    }
}
