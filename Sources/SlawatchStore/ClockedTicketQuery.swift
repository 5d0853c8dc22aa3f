import PostgresClient
import SlawatchCore

/// A ticket query whose filter or sort names computed columns (`sla_status`, `due_at`, …), answered
/// from the clocks the worker stored where they are fresh, and by the engine for the other tickets
/// (README, "The HTTP API").
///
/// A ticket's stored clock is fresh when it was evaluated at or before the instant asked about, from
/// the ticket's current `updated_at`, status and priority (as the dashboard function reads it), and its
/// due instant is known: fixed, or the remaining working time after the instant within the compiled
/// calendar intervals. For those tickets PostgreSQL computes the computed columns as the engine does
/// (elapsed time of a running clock as its base plus the calendar's running sum), applies the whole
/// filter, counts them and orders them; only the first `keep` are read. Every other ticket the
/// query's view conditions keep comes through a cursor, in the store's order, for the caller to
/// evaluate. Both are read in one read-only snapshot.
///
/// The stored clocks are used only when the rules compiled into the database are the caller's (their
/// fingerprint, as for ``DashboardCursor``); otherwise every ticket comes through the cursor.
public struct ClockedTicketQuery {
    let reader: TicketReader
    /// Scope, code, search, the order among equals (its view sort column or `updated_at`); its filter's
    /// view conditions narrow the cursor.
    public var query: TicketQuery
    /// The whole filter, view and computed columns.
    public var filter: Filter?
    /// A computed column to sort by before the query's order; nil: the query's order alone.
    public var sortColumn: String?
    public var descending = true
    /// The instant the clocks are read at (a parameter: `serve --now` sets it).
    public var now: Instant
    /// ``DashboardCursor/fingerprint(_:)`` of the caller's rules; nil: the stored clocks are not used.
    public var fingerprint: Int64?

    public init(
        reader: TicketReader, query: TicketQuery, filter: Filter?, sortColumn: String?, descending: Bool,
        now: Instant, fingerprint: Int64?
    ) {
        self.fingerprint = fingerprint
        self.reader = reader
        self.query = query
        self.filter = filter
        self.sortColumn = sortColumn
        self.descending = descending
        self.now = now
    }

    /// The tickets answered from their stored clocks.
    public struct Fresh {
        /// How many match the whole filter.
        public var total: Int
        /// The first `keep` of them in order, with their status changes (for the rows to show them).
        public var tickets: [(SourceTicket, [StatusChange])]
    }

    /// The fresh tickets (the first `keep`, all when nil) and a cursor over the others, in one snapshot;
    /// the cursor holds the connection's transaction until it is finished or closed.
    public func open(keep: Int?) throws(StoreError) -> (fresh: Fresh, others: TicketCursor) {
        let connection = reader.connection
        let current = try connection.run("opening a snapshot of \(reader.source.views.tickets)") { c -> Bool in
            try c.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            guard let fingerprint else { return false }
            do {
                return try CompiledRules.storedFingerprint(c) == fingerprint
            } catch {
                // No slawatch schema: no stored clocks.
                try? c.execute("ROLLBACK")
                try c.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                return false
            }
        }
        do {
            if current {
                // For this snapshot only: the planner cannot estimate how many stored clocks are fresh (a
                // join on the ticket's version) and, expecting a handful, joins the rest of the view to
                // them in nested loops (15 s instead of 0.7 s at 100,000 tickets); every part of these
                // statements is a scan joined by hashing. No JIT either, as for the dashboard function:
                // compiling costs more than the statement gains from it.
                try connection.run("setting up a snapshot of \(reader.source.views.tickets)") {
                    try $0.execute("SET LOCAL enable_nestloop = off; SET LOCAL jit = off")
                }
            }
            let fresh = current ? try readFresh(keep: keep) : Fresh(total: 0, tickets: [])
            let (sql, parameters) = othersSQL(stored: current)
            try connection.run("opening a cursor on \(reader.source.views.tickets)") {
                try $0.query("DECLARE slawatch_api_cursor NO SCROLL CURSOR FOR " + sql, parameters)
            }
            return (fresh, TicketCursor(reader: reader, batchSize: 1_000))
        } catch {
            try? connection.run("ending a snapshot") { try $0.execute("ROLLBACK") }
            throw error
        }
    }

    /// `ids` in the query's order (its view sort column or `updated_at`, then the code as bytes).
    public func ordered(_ ids: [String]) throws(StoreError) -> [String] {
        guard ids.count > 1 else { return ids }
        let sql =
            "SELECT s.\"ticket_id\"::text FROM \(reader.source.views.tickets.quoted) s "
            + "WHERE s.\"ticket_id\"::text = ANY($1::text[]) ORDER BY \(reader.orderClause(query))"
        return try reader.connection.run("ordering tickets of \(reader.source.views.tickets)") {
            try $0.query(sql, [.textArray(ids)]).rows.map { try $0.string(0) }
        }
    }

    private func readFresh(keep: Int?) throws(StoreError) -> Fresh {
        var plain = query
        plain.filter = nil
        var (condition, parameters) = reader.whereClause(plain)
        func parameter(_ value: PostgresParameter) -> String {
            parameters.append(value)
            return "$\(parameters.count)"
        }
        let at = parameter(.int8(now.microseconds))
        var conditions = condition.isEmpty ? [] : [String(condition.dropFirst("WHERE ".count))]
        if let filter {
            conditions.append(
                FilterPredicate.sql(
                    filter, alias: "s", columnTypes: reader.source.layout.viewColumnTypes,
                    view: reader.source.views.tickets.quoted, computed: Self.computed(at: at), parameter: parameter))
        }
        var order = reader.orderClause(query)
        if let column = sortColumn, let key = Self.sortKey(column, at: at) {
            // As the engine's rows are ordered (DashboardCommand.compare): NULLs after every value, so
            // first when descending.
            order = key + (descending ? " DESC NULLS FIRST, " : " ASC NULLS LAST, ") + order
        }
        // Without a row no count comes back: at least one is read.
        let limit = keep.map { " LIMIT \(parameter(.int8(Int64(max($0, 1)))))" } ?? ""
        let sql =
            Self.calendarsSQL(at: at) + " SELECT \(reader.source.selectList(of: "s")), count(*) OVER () "
            + "FROM \(reader.source.views.tickets.quoted) s JOIN (slawatch.clocks k JOIN cal ON cal.name = k.calendar) "
            + "ON k.ticket_id = s.\"ticket_id\"::text AND \(Self.freshness(at: at)) "
            + (conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ") + " ")
            + "ORDER BY \(order)\(limit)"
        let columns = SourceTicket.requiredColumns.count + reader.source.extraColumns.count
        var total = 0
        var tickets: [SourceTicket] = []
        try reader.connection.run("reading the stored clocks of \(reader.source.views.tickets)") { connection in
            for row in try connection.query(sql, parameters).rows {
                total = try row.int(columns)
                tickets.append(try reader.source.decodeTicket(row))
            }
        }
        if let keep, tickets.count > keep { tickets.removeLast(tickets.count - keep) }
        // Their histories, a bounded number of ids at a time.
        var result: [(SourceTicket, [StatusChange])] = []
        result.reserveCapacity(tickets.count)
        var start = 0
        while start < tickets.count {
            let chunk = tickets[start..<min(start + 1_000, tickets.count)]
            let histories = try reader.source.statusChanges(ticketIDs: chunk.map(\.ticketID))
            for t in chunk { result.append((t, histories[t.ticketID] ?? [])) }
            start += chunk.count
        }
        return Fresh(total: total, tickets: result)
    }

    /// The tickets the query's view conditions keep that have no fresh clock (all of them without
    /// `stored` clocks), in the query's order.
    private func othersSQL(stored: Bool) -> (String, [PostgresParameter]) {
        var (condition, parameters) = reader.whereClause(query)
        guard stored else {
            let sql =
                "SELECT \(reader.source.selectList(of: "s")) FROM \(reader.source.views.tickets.quoted) s \(condition) "
                + "ORDER BY \(reader.orderClause(query))"
            return (sql, parameters)
        }
        parameters.append(.int8(now.microseconds))
        let at = "$\(parameters.count)"
        let sql =
            Self.calendarsSQL(at: at) + " SELECT \(reader.source.selectList(of: "s")) "
            + "FROM \(reader.source.views.tickets.quoted) s "
            + (condition.isEmpty ? "WHERE " : condition + " AND ")
            + "NOT EXISTS (SELECT FROM slawatch.clocks k JOIN cal ON cal.name = k.calendar "
            + "WHERE k.ticket_id = s.\"ticket_id\"::text AND \(Self.freshness(at: at))) "
            + "ORDER BY \(reader.orderClause(query))"
        return (sql, parameters)
    }

    /// Each calendar's running sum at the instant, and at the end of its compiled intervals (NULL
    /// without intervals), once per calendar rather than once per row.
    static func calendarsSQL(at: String) -> String {
        """
        WITH cal AS MATERIALIZED (
          SELECT c.name, c.always, slawatch.working_before(c.name, c.always, \(at)::bigint) AS cum_now,
                 (SELECT i.working_before_us + (i.ends_us - i.starts_us) FROM slawatch.calendar_intervals i
                  WHERE i.calendar = c.name ORDER BY i.starts_us DESC LIMIT 1) AS cum_end
          FROM slawatch.calendars c)
        """
    }

    /// Whether the stored clock `k` (joined with its calendar `cal`) is fresh for the ticket `s`, as
    /// the dashboard function decides (the same guard on the stored instant), and its due instant is
    /// known: fixed, or within the compiled intervals. Never NULL.
    static func freshness(at: String) -> String {
        """
        (k.evaluated_us <= \(at)::bigint AND k.source_updated_us BETWEEN -9007199254740992 AND 9007199254740992 \
        AND k.due_moves IS NOT NULL \
        AND COALESCE(s."updated_at", s."created_at") = timestamptz '1970-01-01 00:00:00+00' + k.source_updated_us * interval '1 microsecond' \
        AND k.source_status = s."status"::text AND k.source_priority = s."priority"::text \
        AND (NOT k.due_moves OR cal.always OR cal.cum_now + (k.target_us - k.elapsed_us) <= cal.cum_end)) IS TRUE
        """
    }

    /// The elapsed working time at the instant: a running clock's base plus its calendar's running sum.
    static let elapsed = "(CASE WHEN k.running THEN k.base_us + cal.cum_now ELSE k.elapsed_us END)"

    /// `sla_status` as SLAClock decides it.
    static let status = """
        (CASE WHEN NOT k.running AND NOT k.stopped THEN 'paused' \
        WHEN k.stopped AND \(elapsed) <= k.target_us THEN 'met' \
        WHEN \(elapsed) > k.target_us THEN 'breached' \
        WHEN \(elapsed) >= k.risk_level_us THEN 'at_risk' ELSE 'on_track' END)
        """

    /// `due_at` in microseconds: the stored one, or the remaining working time after the instant.
    static func dueMicros(at: String) -> String {
        "(CASE WHEN k.due_moves THEN slawatch.instant_after(k.calendar, cal.always, \(at)::bigint, "
            + "k.target_us - k.elapsed_us) ELSE k.due_us END)"
    }

    static func computed(at: String) -> [String: FilterPredicate.Computed] {
        [
            "sla_status": .init(status, .text),
            "sla_horas": .init("k.sla_horas", .number),
            // As the engine divides: the difference in whole microseconds, then as a double.
            "horas_restantes": .init("((k.target_us - \(elapsed))::float8 / 3600000000.0::float8)", .number),
            "vencido": .init("(\(elapsed) > k.target_us)", .bool),
            "due_at": .init(
                "(timestamptz '1970-01-01 00:00:00+00' + \(dueMicros(at: at)) * interval '1 microsecond')", .timestamp),
        ]
    }

    /// The SQL a computed column sorts by, in the engine's order of its values.
    static func sortKey(_ column: String, at: String) -> String? {
        switch column {
        case "sla_status": return status + " COLLATE \"C\""
        case "due_at": return dueMicros(at: at)
        default: return computed(at: at)[column]?.expression
        }
    }
}
