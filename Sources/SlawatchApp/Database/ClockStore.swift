import PostgresClient
import SlawatchCore

/// The clocks the worker computed, stored per ticket so that the dashboard function costs plain
/// arithmetic per row and a cycle can look only at the tickets that changed or have a crossing due.
///
/// A stored clock stands for its ticket while the ticket's `updated_at`, status and priority are
/// the ones it was computed from: for a running clock, elapsed working time at any later instant is
/// `base_us` plus the calendar's running sum at that instant. Tickets whose clock cannot be carried
/// forward that way (created after the evaluation instant, or with history rows after it) are not
/// stored, and the function computes them in full.
struct ClockStore {
    let connection: PostgresConnection

    /// Writes the clocks of `tickets`, evaluated at `now`. With `complete`, `tickets` is every
    /// ticket with a clock, and stored clocks of any other ticket are removed.
    func store(_ tickets: [EvaluatedTicket], histories: [String: [StatusChange]], now: Instant, complete: Bool, removed: [String] = []) throws {
        var data: [UInt8] = []
        data.reserveCapacity(tickets.count * 160)
        var stored = 0
        for e in tickets {
            let t = e.ticket, r = e.reading
            guard t.createdAt <= now, t.updatedAt <= now,
                  !(histories[t.ticketID] ?? []).contains(where: { $0.at > now })
            else { continue }
            let fields: [String] = [
                Self.copyText(t.ticketID), Self.copyText(e.policy.name), Self.copyText(e.policy.calendarName),
                String(r.targetMicros), "\(r.slaHours)", r.state == .running ? "t" : "f", r.state == .stopped ? "t" : "f",
                String(r.elapsedMicros), String(now.microseconds), String(t.updatedAt.microseconds),
                Self.copyText(t.status), Self.copyText(t.priority),
                r.nextCrossing.map { String($0.microseconds) } ?? "\\N", r.riskFrom.map { String($0.microseconds) } ?? "\\N",
            ]
            data.append(contentsOf: fields.joined(separator: "\t").utf8)
            data.append(10)
            stored += 1
        }
        try connection.transaction {
            try connection.execute("""
                CREATE TEMP TABLE IF NOT EXISTS clocks_in (
                    ticket_id text, policy text, calendar text, target_us bigint, sla_horas double precision,
                    running boolean, stopped boolean, elapsed_us bigint, evaluated_us bigint, source_updated_us bigint,
                    source_status text, source_priority text, next_crossing_us bigint, risk_us bigint
                ) ON COMMIT DELETE ROWS
                """)
            if stored > 0 { try connection.copyIn("COPY clocks_in FROM STDIN", data: data) }
            try connection.query(
                """
                WITH cal AS (SELECT c.name, slawatch.working_before(c.name, c.always, $1::bigint) AS cum FROM slawatch.calendars c)
                INSERT INTO slawatch.clocks AS k (ticket_id, policy, calendar, target_us, sla_horas, running, stopped, elapsed_us, base_us,
                                                  evaluated_us, source_updated_us, source_status, source_priority, next_crossing_us, risk_us)
                SELECT i.ticket_id, i.policy, i.calendar, i.target_us, i.sla_horas, i.running, i.stopped, i.elapsed_us, i.elapsed_us - cal.cum,
                       i.evaluated_us, i.source_updated_us, i.source_status, i.source_priority, i.next_crossing_us, i.risk_us
                FROM clocks_in i JOIN cal ON cal.name = i.calendar
                ON CONFLICT (ticket_id) DO UPDATE SET
                    policy = EXCLUDED.policy, calendar = EXCLUDED.calendar, target_us = EXCLUDED.target_us, sla_horas = EXCLUDED.sla_horas,
                    running = EXCLUDED.running, stopped = EXCLUDED.stopped, elapsed_us = EXCLUDED.elapsed_us, base_us = EXCLUDED.base_us,
                    evaluated_us = EXCLUDED.evaluated_us, source_updated_us = EXCLUDED.source_updated_us,
                    source_status = EXCLUDED.source_status, source_priority = EXCLUDED.source_priority,
                    next_crossing_us = EXCLUDED.next_crossing_us, risk_us = EXCLUDED.risk_us
                """, [.text(String(now.microseconds))])
            if complete {
                try connection.execute("DELETE FROM slawatch.clocks k WHERE NOT EXISTS (SELECT 1 FROM clocks_in i WHERE i.ticket_id = k.ticket_id)")
            }
            // Tickets evaluated now that have no clock any more, or whose clock cannot be carried.
            let gone = removed + tickets.map(\.ticket.ticketID)
            if !complete && !gone.isEmpty {
                try connection.query(
                    "DELETE FROM slawatch.clocks k WHERE k.ticket_id = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM clocks_in i WHERE i.ticket_id = k.ticket_id)",
                    [.text(SourceRepository.textArray(gone))])
            }
        }
    }

    /// Tickets whose stored clock crosses a level at or before `now`.
    func due(now: Instant) throws -> [String] {
        try connection.query(
            "SELECT ticket_id FROM slawatch.clocks WHERE next_crossing_us <= $1::bigint", [.text(String(now.microseconds))]
        ).rows.map { try $0.string(0) }
    }

    /// Tickets at risk or worse and not stopped, as of `now`, from the stored clocks.
    func active(now: Instant) throws -> [String] {
        try connection.query(
            "SELECT ticket_id FROM slawatch.clocks WHERE NOT stopped AND risk_us <= $1::bigint", [.text(String(now.microseconds))]
        ).rows.map { try $0.string(0) }
    }

    /// The earliest stored crossing after `now`, for the worker to wake at.
    func nextCrossing(after now: Instant) throws -> Instant? {
        try connection.query("SELECT min(next_crossing_us) FROM slawatch.clocks WHERE next_crossing_us > $1::bigint", [.text(String(now.microseconds))])
            .rows[0].optionalInt(0).map { Instant(microseconds: Int64($0)) }
    }

    func watermark(_ key: String) throws -> Instant? {
        try connection.query("SELECT value_us FROM slawatch.worker_state WHERE key = $1", [.text(key)]).rows.first
            .map { Instant(microseconds: Int64(try $0.int(0))) }
    }

    func setWatermark(_ key: String, _ value: Instant) throws {
        try connection.query(
            "INSERT INTO slawatch.worker_state (key, value_us) VALUES ($1, $2::bigint) ON CONFLICT (key) DO UPDATE SET value_us = EXCLUDED.value_us",
            [.text(key), .text(String(value.microseconds))])
    }

    /// COPY text format: backslash, tab, newline and carriage return escaped.
    static func copyText(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == 92 || $0 == 9 || $0 == 10 || $0 == 13 }) else { return s }
        return s.replacing("\\", with: "\\\\").replacing("\t", with: "\\t").replacing("\n", with: "\\n").replacing("\r", with: "\\r")
    }
}
