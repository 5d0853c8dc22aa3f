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

    /// What a stored clock says, enough to tell whether a new evaluation changed anything.
    struct Stored: Equatable {
        var policy: String
        var target: Int64
        var running: Bool
        var stopped: Bool
        /// The base of a running clock, the elapsed time of a halted one.
        var carried: Int64
        var updated: Int64
        var status: String
        var priority: String
        var nextCrossing: Int64?
        var risk: Int64?
    }

    /// Every stored clock in ticket id order (bytes), as `SourceStream` merges it with the source.
    static let streamQuery = """
        SELECT ticket_id, policy, target_us, running, stopped, CASE WHEN running THEN base_us ELSE elapsed_us END,
               source_updated_us, source_status, source_priority, next_crossing_us, risk_us
        FROM slawatch.clocks ORDER BY ticket_id COLLATE "C"
        """
    static let streamColumns: [(name: String, type: UInt32)] = [
        ("ticket_id", 25), ("policy", 25), ("target_us", 20), ("running", 16), ("stopped", 16), ("carried", 20),
        ("source_updated_us", 20), ("source_status", 25), ("source_priority", 25), ("next_crossing_us", 20), ("risk_us", 20),
    ]

    /// A row of `streamQuery` from its second column on.
    static func decodeStored(_ r: some PostgresFields) throws -> Stored {
        Stored(
            policy: try r.string(1), target: Int64(try r.int(2)), running: try r.bool(3), stopped: try r.bool(4),
            carried: Int64(try r.int(5)), updated: Int64(try r.int(6)), status: try r.string(7), priority: try r.string(8),
            nextCrossing: try r.optionalInt(9).map(Int64.init), risk: try r.optionalInt(10).map(Int64.init))
    }

    /// What the stored clocks of `ids` saw when they were evaluated, by ticket.
    func earlierReadings(of ids: [String]) throws -> [String: EventDetector.EarlierReading] {
        var result: [String: EventDetector.EarlierReading] = [:]
        guard !ids.isEmpty else { return result }
        try connection.forEachRow(
            "SELECT ticket_id, policy, target_us, elapsed_us, stopped FROM slawatch.clocks WHERE ticket_id = ANY($1::text[])",
            [.text(SourceRepository.textArray(ids))]
        ) { r in
            result[try r.string(0)] = EventDetector.EarlierReading(
                policy: try r.string(1), targetMicros: Int64(try r.int(2)), elapsedMicros: Int64(try r.int(3)), stopped: try r.bool(4))
        }
        return result
    }

    /// Each calendar's running sum at `now`, as the dashboard function computes it.
    func runningSums(at now: Instant) throws -> [String: Int64] {
        var cumulative: [String: Int64] = [:]
        for row in try connection.query(
            "SELECT c.name, slawatch.working_before(c.name, c.always, $1::bigint) FROM slawatch.calendars c", [.text(String(now.microseconds))]
        ).rows {
            cumulative[try row.string(0)] = Int64(try row.int(1))
        }
        return cumulative
    }

    /// The clock `ticket` would be stored as at `now`, or nil when it cannot be carried forward.
    static func storable(_ e: EvaluatedTicket, history: [StatusChange]?, now: Instant, cumulative: [String: Int64]) -> Stored? {
        let t = e.ticket, r = e.reading
        guard let cum = cumulative[e.policy.calendarName], t.createdAt <= now, t.updatedAt <= now,
              !(history ?? []).contains(where: { $0.at > now })
        else { return nil }
        return Stored(
            policy: e.policy.name, target: r.targetMicros, running: r.state == .running, stopped: r.state == .stopped,
            carried: r.state == .running ? r.elapsedMicros - cum : r.elapsedMicros, updated: t.updatedAt.microseconds,
            status: t.status, priority: t.priority, nextCrossing: r.nextCrossing?.microseconds, risk: r.riskFrom?.microseconds)
    }

    /// Writes the clocks of `tickets`, evaluated at `now`, given each calendar's running sum then;
    /// a clock equal to the stored one is left alone. Every ticket of `tickets` or `removed`
    /// (tickets with no clock now) whose clock cannot be kept loses its stored one.
    func store(
        _ tickets: [EvaluatedTicket], histories: [String: [StatusChange]], now: Instant, cumulative: [String: Int64],
        removed: [String] = []
    ) throws {
        var data: [UInt8] = []
        data.reserveCapacity(tickets.count * 160)
        var stored = 0
        var keep = Set<String>()
        for e in tickets {
            let t = e.ticket, r = e.reading
            guard let clock = Self.storable(e, history: histories[t.ticketID], now: now, cumulative: cumulative) else { continue }
            keep.insert(t.ticketID)
            let fields: [String] = [
                Self.copyText(t.ticketID), Self.copyText(e.policy.name), Self.copyText(e.policy.calendarName),
                String(r.targetMicros), "\(r.slaHours)", clock.running ? "t" : "f", clock.stopped ? "t" : "f",
                String(r.elapsedMicros), String(clock.running ? clock.carried : 0), String(now.microseconds), String(clock.updated),
                Self.copyText(t.status), Self.copyText(t.priority),
                clock.nextCrossing.map(String.init) ?? "\\N", clock.risk.map(String.init) ?? "\\N",
            ]
            data.append(contentsOf: fields.joined(separator: "\t").utf8)
            data.append(10)
            stored += 1
        }
        try connection.transaction {
            try connection.execute("""
                CREATE TEMP TABLE IF NOT EXISTS clocks_in (
                    ticket_id text, policy text, calendar text, target_us bigint, sla_horas double precision,
                    running boolean, stopped boolean, elapsed_us bigint, base_us bigint, evaluated_us bigint, source_updated_us bigint,
                    source_status text, source_priority text, next_crossing_us bigint, risk_us bigint
                ) ON COMMIT DELETE ROWS
                """)
            if stored > 0 {
                try connection.copyIn("COPY clocks_in FROM STDIN", data: data)
                // A temp table has no statistics: without them a handful of rows can be joined by
                // reading every stored clock, which at a million tickets is most of a cycle.
                try connection.execute("ANALYZE clocks_in")
            }
            // Only the process holding the evaluator lock writes clocks, so an update of the rows
            // that changed and an insert of the new ones cannot race; both are hash joins, where an
            // INSERT ... ON CONFLICT would probe the index row by row.
            try connection.execute("""
                UPDATE slawatch.clocks k SET
                    policy = n.policy, calendar = n.calendar, target_us = n.target_us, sla_horas = n.sla_horas,
                    running = n.running, stopped = n.stopped, elapsed_us = n.elapsed_us, base_us = n.base_us,
                    evaluated_us = n.evaluated_us, source_updated_us = n.source_updated_us, source_status = n.source_status,
                    source_priority = n.source_priority, next_crossing_us = n.next_crossing_us, risk_us = n.risk_us
                FROM clocks_in n
                WHERE k.ticket_id = n.ticket_id
                  -- An unchanged clock is left alone: a running one keeps its base, a halted one its
                  -- elapsed time; rewriting every identical row per cycle would be most of the cycle.
                  AND (k.policy, k.calendar, k.target_us, k.running, k.stopped, k.source_updated_us, k.source_status,
                       k.source_priority, k.next_crossing_us, k.risk_us, CASE WHEN k.running THEN k.base_us ELSE k.elapsed_us END)
                      IS DISTINCT FROM
                      (n.policy, n.calendar, n.target_us, n.running, n.stopped, n.source_updated_us, n.source_status,
                       n.source_priority, n.next_crossing_us, n.risk_us, CASE WHEN n.running THEN n.base_us ELSE n.elapsed_us END);
                INSERT INTO slawatch.clocks (ticket_id, policy, calendar, target_us, sla_horas, running, stopped, elapsed_us, base_us,
                                             evaluated_us, source_updated_us, source_status, source_priority, next_crossing_us, risk_us)
                SELECT n.ticket_id, n.policy, n.calendar, n.target_us, n.sla_horas, n.running, n.stopped, n.elapsed_us, n.base_us,
                       n.evaluated_us, n.source_updated_us, n.source_status, n.source_priority, n.next_crossing_us, n.risk_us
                FROM clocks_in n WHERE NOT EXISTS (SELECT 1 FROM slawatch.clocks k WHERE k.ticket_id = n.ticket_id);
                """)
            let gone = (removed + tickets.map(\.ticket.ticketID)).filter { !keep.contains($0) }
            if !gone.isEmpty {
                try connection.query("DELETE FROM slawatch.clocks WHERE ticket_id = ANY($1::text[])", [.text(SourceRepository.textArray(gone))])
            }
        }
    }

    /// Removes the stored clocks of `ids` (tickets gone from the source).
    func remove(_ ids: [String]) throws {
        guard !ids.isEmpty else { return }
        try connection.query("DELETE FROM slawatch.clocks WHERE ticket_id = ANY($1::text[])", [.text(SourceRepository.textArray(ids))])
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
