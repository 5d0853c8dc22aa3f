/// The running clocks that will breach within a horizon if nothing changes (README, "What-if and
/// forecast"): not paused, not stopped, with `due_at` in `(now, now + within]` — a ticket due
/// exactly at the horizon is listed.
public struct Forecast {
    public let now: Instant
    /// The horizon, in microseconds.
    public let within: Int64
    private let localTime = LocalTime()

    public init(now: Instant, within: Int64) {
        self.now = now
        self.within = within
    }

    /// The ticket as a forecast lists it, or nil when it will not breach within the horizon.
    public func item(_ ticket: EvaluatedTicket) -> ForecastItem? {
        let r = ticket.reading
        guard r.state == .running, let due = r.dueAt, due > now, due - now <= within else { return nil }
        let zone = LocalTime.zoneIdentifier(of: ticket.policy.calendar)
        return ForecastItem(
            code: ticket.ticket.code, title: ticket.ticket.title, area: ticket.ticket.area,
            priority: ticket.ticket.priority, dueAt: due, dueLocal: localTime.iso8601(due, zoneIdentifier: zone),
            zone: zone, hoursRemaining: r.hoursRemaining)
    }

    /// The items of `tickets`, by `due_at` (then code).
    public func items(_ tickets: [EvaluatedTicket]) -> [ForecastItem] {
        Self.ordered(tickets.compactMap(item))
    }

    /// By `due_at`, then code (code points).
    public static func ordered(_ items: [ForecastItem]) -> [ForecastItem] {
        items.sorted { a, b in
            a.dueAt != b.dueAt ? a.dueAt < b.dueAt : OutcomeSummary.codePointOrder(a.code, b.code)
        }
    }

    /// `[{...}, ...]` by `due_at`, one item per line.
    public static func json(_ items: [ForecastItem]) -> String {
        items.isEmpty ? "[]\n" : "[\n" + items.map { "  " + $0.json() }.joined(separator: ",\n") + "\n]\n"
    }

    /// For a terminal: the title, then the items grouped by area (areas in code point order, tickets
    /// without one last), each with its due time in its calendar's local time and zone.
    public static func text(_ items: [ForecastItem], within: Int64) -> String {
        var out = "\(title(within, english: false)) (\(items.count))\n"
        if items.isEmpty { return out + "  ninguno\n" }
        let areas = Set(items.compactMap(\.area)).sorted(by: OutcomeSummary.codePointOrder).map { Optional($0) }
        for area in areas + (items.contains { $0.area == nil } ? [nil] : []) {
            let mine = items.filter { $0.area == area }
            out += "\n\(area ?? "(sin área)") (\(mine.count))\n"
            let rows = mine.map { item in
                [
                    item.code, item.priority, item.dueLocal + " " + (item.zone ?? "UTC"),
                    Notice.hours(item.hoursRemaining, false) + " h",
                    item.title.count > 48 ? String(item.title.prefix(47)) + "…" : item.title,
                ]
            }
            out += WhatIfReport.table(["TICKET", "PRIORIDAD", "VENCE", "RESTANTES", "TITULO"], rows, right: [3])
        }
        return out
    }

    /// "8 horas", "1 hora", "1h30m" (Spanish) or "8 hours" (English): a horizon for a title.
    public static func horizonText(_ micros: Int64, english: Bool) -> String {
        let hour: Int64 = 3_600_000_000
        guard micros % hour == 0, micros > 0 else { return DurationText.format(micros) }
        let n = micros / hour
        if english { return n == 1 ? "1 hour" : "\(n) hours" }
        return n == 1 ? "1 hora" : "\(n) horas"
    }

    /// "Se vencerán en las próximas 8 horas" / "Due to breach in the next 8 hours".
    public static func title(_ micros: Int64, english: Bool) -> String {
        let h = horizonText(micros, english: english)
        if english { return "Due to breach in the next \(h)" }
        return micros == 3_600_000_000 ? "Se vencerán en la próxima hora" : "Se vencerán en las próximas \(h)"
    }
}
