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
public struct ClockStore {
    let connection: StoreConnection

    public init(connection: StoreConnection) { self.connection = connection }

    /// What a stored clock says, enough to tell whether a new evaluation changed anything.
    public struct Stored: Equatable, Sendable {
        var policy: String
        var target: Int64
        var running: Bool
        public var stopped: Bool
        /// The base of a running clock, the elapsed time of a halted one.
        var carried: Int64
        var updated: Int64
        var status: String
        var priority: String
        var nextCrossing: Int64?
        var risk: Int64?
        /// What the HTTP API's list reads: ``ClockStore/due(_:)`` and ``ClockStore/riskLevel(_:)``.
        var due: Int64?
        var dueMoves: Bool?
        var riskLevel: Int64?

        /// Whether the due columns were written (a clock stored before they existed has none): a
        /// pass that finds them missing writes the clock again.
        public var hasDue: Bool { dueMoves != nil || (target == 0 && carried == 0) }
    }

    /// Every stored clock in ticket id order (bytes), as `SourceStream` merges it with the source.
    static let streamQuery = """
        SELECT ticket_id, policy, target_us, running, stopped, CASE WHEN running THEN base_us ELSE elapsed_us END,
               source_updated_us, source_status, source_priority, next_crossing_us, risk_us, due_us, due_moves, risk_level_us
        FROM slawatch.clocks ORDER BY ticket_id COLLATE "C"
        """
    static let streamColumns: [(name: String, type: UInt32)] = [
        ("ticket_id", 25), ("policy", 25), ("target_us", 20), ("running", 16), ("stopped", 16), ("carried", 20),
        ("source_updated_us", 20), ("source_status", 25), ("source_priority", 25), ("next_crossing_us", 20),
        ("risk_us", 20), ("due_us", 20), ("due_moves", 16), ("risk_level_us", 20),
    ]

    /// A row of `streamQuery` from its second column on.
    static func decodeStored(_ r: borrowing some PostgresFields & ~Copyable) throws -> Stored {
        Stored(
            policy: try r.string(1), target: Int64(try r.int(2)), running: try r.bool(3), stopped: try r.bool(4),
            carried: Int64(try r.int(5)), updated: Int64(try r.int(6)), status: try r.string(7),
            priority: try r.string(8),
            nextCrossing: try r.optionalInt(9).map(Int64.init), risk: try r.optionalInt(10).map(Int64.init),
            due: try r.optionalInt(11).map(Int64.init), dueMoves: r.isNull(12) ? nil : try r.bool(12),
            riskLevel: try r.optionalInt(13).map(Int64.init))
    }

    /// The stored clock's columns that say what it saw when it was evaluated, for a join with
    /// the source as `k`; `decodeEarlier` reads them back.
    static let earlierColumns = "k.policy, k.target_us, k.elapsed_us, k.stopped"

    /// The reading of `earlierColumns` starting at column `offset`, or nil when the ticket had no stored clock.
    static func decodeEarlier(_ r: some PostgresFields, at offset: Int) throws -> EventDetector.EarlierReading? {
        guard let policy = try r.optionalString(offset) else { return nil }
        return EventDetector.EarlierReading(
            policy: policy, targetMicros: Int64(try r.int(offset + 1)), elapsedMicros: Int64(try r.int(offset + 2)),
            stopped: try r.bool(offset + 3))
    }

    /// Each calendar's running sum at `now`, as the dashboard function computes it.
    public func runningSums(at now: Instant) throws(StoreError) -> [String: Int64] {
        try connection.run("reading the calendars' running sums") { connection in
            var cumulative: [String: Int64] = [:]
            for row in try connection.query(
                "SELECT c.name, slawatch.working_before(c.name, c.always, $1) FROM slawatch.calendars c",
                [.int8(now.microseconds)]
            ).rows {
                cumulative[try row.string(0)] = Int64(try row.int(1))
            }
            return cumulative
        }
    }

    /// The clock `ticket` would be stored as at `now`, or nil when it cannot be carried forward.
    public static func storable(
        _ e: EvaluatedTicket, history: [StatusChange]?, now: Instant, cumulative: [String: Int64]
    ) -> Stored? {
        let t = e.ticket
        let r = e.reading
        guard let cum = cumulative[e.policy.calendarName], t.createdAt <= now, t.updatedAt <= now,
            !(history ?? []).contains(where: { $0.at > now })
        else { return nil }
        let due = due(r)
        return Stored(
            policy: e.policy.name, target: r.targetMicros, running: r.state == .running, stopped: r.state == .stopped,
            carried: r.state == .running ? r.elapsedMicros - cum : r.elapsedMicros, updated: t.updatedAt.microseconds,
            status: t.status, priority: t.priority, nextCrossing: r.nextCrossing?.microseconds,
            risk: r.riskFrom?.microseconds, due: due.at, dueMoves: due.moves, riskLevel: riskLevel(r))
    }

    /// The reading's due instant as the HTTP API's list computes it later from the stored clock:
    /// fixed (`moves` false; `at` nil when the calendar never reaches the target) for a running
    /// clock, whose due instant stays put while it runs, and for a halted one at or past its target
    /// (an instant of its past); for a halted clock below its target it is the remaining working
    /// time after the instant asked about (`moves` true). A zero target not exceeded is left to the
    /// engine (`moves` nil): its due instant depends on whether the clock ever ran, which the
    /// reading does not say.
    public static func due(_ r: ClockReading) -> (at: Int64?, moves: Bool?) {
        if r.targetMicros == 0 && r.elapsedMicros == 0 { return (nil, nil) }
        if r.state == .running || r.elapsedMicros >= r.targetMicros { return (r.dueAt?.microseconds, false) }
        return (nil, true)
    }

    /// The elapsed time from which the clock is at risk: the level of the policy's highest warning,
    /// as SLAClock computed it; nil without warnings.
    public static func riskLevel(_ r: ClockReading) -> Int64? {
        r.thresholds.last { $0.kind == .warning }?.elapsedMicros
    }

    /// Writes the clocks of `tickets`, evaluated at `now`, given each calendar's running sum then;
    /// a clock equal to the stored one is left alone. Every ticket of `tickets` or `removed`
    /// (tickets with no clock now) whose clock cannot be kept loses its stored one. One statement,
    /// so a crash leaves either all of it or none; with `second`, half of the clocks are written
    /// on it at the same time as the other half here, one statement each, so a crash may leave
    /// one half written (a later cycle writes the other: clocks are idempotent). Returns the ids
    /// of the tickets that have a stored clock now.
    @discardableResult
    public func store(
        _ tickets: [EvaluatedTicket], histories: [String: [StatusChange]], now: Instant, cumulative: [String: Int64],
        removed: [String] = [], alongside second: StoreConnection? = nil
    ) throws(StoreError) -> Set<String> {
        try connection.run("writing the stored clocks") { connection in
            if let second, tickets.count > 1 {
                let half = tickets.count / 2
                let (one, keepOne) = Self.upsert(
                    Array(tickets[..<half]), histories: histories, now: now, cumulative: cumulative, removed: removed)
                let (two, keepTwo) = Self.upsert(
                    Array(tickets[half...]), histories: histories, now: now, cumulative: cumulative, removed: [])
                switch (one, two) {
                case (let one?, let two?):
                    _ = try connection.query(Self.upsertSQL, one, alongside: second.postgres, Self.upsertSQL, two)
                case (let one?, nil): try connection.query(Self.upsertSQL, one)
                case (nil, let two?): try connection.query(Self.upsertSQL, two)
                case (nil, nil): break
                }
                return keepOne.union(keepTwo)
            }
            let (parameters, keep) = Self.upsert(
                tickets, histories: histories, now: now, cumulative: cumulative, removed: removed)
            if let parameters { try connection.query(Self.upsertSQL, parameters) }
            return keep
        }
    }

    /// The parameters of `upsertSQL` for `tickets` (nil when there is nothing to write), and the
    /// ids of those that keep a stored clock.
    private static func upsert(
        _ tickets: [EvaluatedTicket], histories: [String: [StatusChange]], now: Instant, cumulative: [String: Int64],
        removed: [String]
    ) -> ([PostgresParameter]?, Set<String>) {
        var columns = StoredColumns()
        var keep = Set<String>()
        keep.reserveCapacity(tickets.count)
        for e in tickets {
            let t = e.ticket
            let r = e.reading
            guard let clock = Self.storable(e, history: histories[t.ticketID], now: now, cumulative: cumulative) else {
                continue
            }
            // A view that repeats a ticket would make the upsert touch one row twice, which
            // PostgreSQL refuses; the first reading stands.
            guard keep.insert(t.ticketID).inserted else { continue }
            columns.append(e, clock, slaHours: r.slaHours, elapsed: r.elapsedMicros)
        }
        let gone = (removed + tickets.map(\.ticket.ticketID)).filter { !keep.contains($0) }
        guard !keep.isEmpty || !gone.isEmpty else { return (nil, keep) }
        return (columns.parameters(evaluatedAt: now, gone: gone), keep)
    }

    // Rows come in as arrays: a changed ticket costs one index probe and one write, with no
    // temporary table to fill and analyze; the planner sees a small function scan and joins it
    // row by row, which is right for a cycle's thousand and for a full pass's chunk alike.
    private static let upsertSQL = """
        WITH gone AS (DELETE FROM slawatch.clocks WHERE ticket_id = ANY($15))
        INSERT INTO slawatch.clocks AS k (ticket_id, policy, calendar, target_us, sla_horas, running, stopped, elapsed_us, base_us,
                                          evaluated_us, source_updated_us, source_status, source_priority, next_crossing_us, risk_us,
                                          due_us, due_moves, risk_level_us)
        SELECT n.ticket_id, n.policy, n.calendar, n.target_us, n.sla_horas, n.running, n.stopped, n.elapsed_us, n.base_us,
               $14, n.source_updated_us, n.source_status, n.source_priority, n.next_crossing_us, n.risk_us,
               n.due_us, n.due_moves, n.risk_level_us
        FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $16, $17, $18, $19)
             AS n(ticket_id, policy, calendar, target_us, sla_horas, running, stopped, elapsed_us, base_us,
                  source_updated_us, source_status, source_priority, next_crossing_us, risk_us,
                  due_us, due_moves, risk_level_us)
        ON CONFLICT (ticket_id) DO UPDATE SET
            policy = EXCLUDED.policy, calendar = EXCLUDED.calendar, target_us = EXCLUDED.target_us, sla_horas = EXCLUDED.sla_horas,
            running = EXCLUDED.running, stopped = EXCLUDED.stopped, elapsed_us = EXCLUDED.elapsed_us, base_us = EXCLUDED.base_us,
            evaluated_us = EXCLUDED.evaluated_us, source_updated_us = EXCLUDED.source_updated_us,
            source_status = EXCLUDED.source_status, source_priority = EXCLUDED.source_priority,
            next_crossing_us = EXCLUDED.next_crossing_us, risk_us = EXCLUDED.risk_us,
            due_us = EXCLUDED.due_us, due_moves = EXCLUDED.due_moves, risk_level_us = EXCLUDED.risk_level_us
        -- An unchanged clock is left alone: a running one keeps its base, a halted one its
        -- elapsed time; rewriting every identical row per cycle would be most of the cycle. The due
        -- columns are compared too, so that a pass fills them in clocks stored before they existed.
        WHERE (k.policy, k.calendar, k.target_us, k.running, k.stopped, k.source_updated_us, k.source_status,
               k.source_priority, k.next_crossing_us, k.risk_us, CASE WHEN k.running THEN k.base_us ELSE k.elapsed_us END,
               k.due_us, k.due_moves, k.risk_level_us)
              IS DISTINCT FROM
              (EXCLUDED.policy, EXCLUDED.calendar, EXCLUDED.target_us, EXCLUDED.running, EXCLUDED.stopped,
               EXCLUDED.source_updated_us, EXCLUDED.source_status, EXCLUDED.source_priority, EXCLUDED.next_crossing_us,
               EXCLUDED.risk_us, CASE WHEN EXCLUDED.running THEN EXCLUDED.base_us ELSE EXCLUDED.elapsed_us END,
               EXCLUDED.due_us, EXCLUDED.due_moves, EXCLUDED.risk_level_us)
        """

    /// The clocks to store, column by column, as the array parameters of `store`.
    private struct StoredColumns {
        var ids: [String?] = [], policies: [String?] = [], calendars: [String?] = [], statuses: [String?] = [],
            priorities: [String?] = []
        var targets: [Int64?] = [], hours: [Double?] = [], running: [Bool?] = [], stopped: [Bool?] = [],
            elapsed: [Int64?] = []
        var bases: [Int64?] = [], updated: [Int64?] = [], crossings: [Int64?] = [], risks: [Int64?] = []
        var dues: [Int64?] = [], dueMoves: [Bool?] = [], riskLevels: [Int64?] = []

        mutating func append(_ e: EvaluatedTicket, _ clock: Stored, slaHours: Double, elapsed elapsedMicros: Int64) {
            ids.append(e.ticket.ticketID)
            policies.append(e.policy.name)
            calendars.append(e.policy.calendarName)
            statuses.append(clock.status)
            priorities.append(clock.priority)
            targets.append(clock.target)
            hours.append(slaHours)
            running.append(clock.running)
            stopped.append(clock.stopped)
            elapsed.append(elapsedMicros)
            bases.append(clock.running ? clock.carried : 0)
            updated.append(clock.updated)
            crossings.append(clock.nextCrossing)
            risks.append(clock.risk)
            dues.append(clock.due)
            dueMoves.append(clock.dueMoves)
            riskLevels.append(clock.riskLevel)
        }

        func parameters(evaluatedAt now: Instant, gone: [String]) -> [PostgresParameter] {
            [
                .textArray(ids), .textArray(policies), .textArray(calendars), .int8Array(targets), .float8Array(hours),
                .boolArray(running), .boolArray(stopped), .int8Array(elapsed), .int8Array(bases), .int8Array(updated),
                .textArray(statuses), .textArray(priorities), .int8Array(crossings), .int8(now.microseconds),
                .textArray(gone),
                .int8Array(risks), .int8Array(dues), .boolArray(dueMoves), .int8Array(riskLevels),
            ]
        }
    }

    /// Removes the stored clocks of `ids` (tickets gone from the source).
    public func remove(_ ids: [String]) throws(StoreError) {
        guard !ids.isEmpty else { return }
        try connection.run("removing the clocks of tickets gone from the source") {
            try $0.query("DELETE FROM slawatch.clocks WHERE ticket_id = ANY($1)", [.textArray(ids)])
        }
    }

    /// Tickets whose stored clock crosses a level at or before `now`.
    public func due(now: Instant) throws(StoreError) -> [String] {
        try connection.run("reading the clocks whose next crossing is due") {
            try $0.query(
                "SELECT ticket_id FROM slawatch.clocks WHERE next_crossing_us <= $1", [.int8(now.microseconds)]
            )
            .rows.map { try $0.string(0) }
        }
    }

    /// The versions whose clocks recent cycles stored, as the last cycle left them.
    public func evaluatedVersions() throws(StoreError) -> EvaluatedVersions {
        try connection.run("reading the versions evaluated so far") {
            guard let row = try $0.query("SELECT bytes FROM slawatch.worker_state WHERE key = 'versions'").rows.first,
                !row.isNull(0)
            else { return EvaluatedVersions() }
            return EvaluatedVersions(bytes: row.bytes(0))
        }
    }

    public func setEvaluatedVersions(_ versions: EvaluatedVersions) throws(StoreError) {
        try connection.run("writing the versions evaluated so far") {
            try $0.query(
                """
                INSERT INTO slawatch.worker_state (key, value_us, bytes) VALUES ('versions', $1, $2)
                ON CONFLICT (key) DO UPDATE SET value_us = EXCLUDED.value_us, bytes = EXCLUDED.bytes
                """, [.int8(Int64(versions.count)), .bytea(versions.bytes)])
        }
    }

    /// Tickets at risk or worse and not stopped, as of `now`, from the stored clocks.
    public func active(now: Instant) throws(StoreError) -> [String] {
        try connection.run("reading the tickets at risk") {
            try $0.query(
                "SELECT ticket_id FROM slawatch.clocks WHERE NOT stopped AND risk_us <= $1", [.int8(now.microseconds)]
            )
            .rows.map { try $0.string(0) }
        }
    }

    /// The earliest stored crossing after `now`, for the worker to wake at.
    public func nextCrossing(after now: Instant) throws(StoreError) -> Instant? {
        try connection.run("reading the next crossing") {
            try $0.query(
                "SELECT min(next_crossing_us) FROM slawatch.clocks WHERE next_crossing_us > $1",
                [.int8(now.microseconds)]
            )
            .rows[0].optionalInt(0).map { Instant(microseconds: Int64($0)) }
        }
    }

    /// The worker's state by key, as microseconds: `seen` and `full` (the instants of the last
    /// cycle and of the last full pass), `full_duration` (how long that pass took).
    public func workerState() throws(StoreError) -> [String: Int64] {
        try connection.run("reading the worker's state") {
            var state: [String: Int64] = [:]
            for row in try $0.query("SELECT key, value_us FROM slawatch.worker_state").rows {
                state[try row.string(0)] = Int64(try row.int(1))
            }
            return state
        }
    }

    public func setWatermark(_ key: String, _ value: Instant) throws(StoreError) {
        try setState(key, value.microseconds)
    }

    public func setState(_ key: String, _ value: Int64) throws(StoreError) {
        try connection.run("writing the worker's state") {
            try $0.query(
                "INSERT INTO slawatch.worker_state (key, value_us) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value_us = EXCLUDED.value_us",
                [.string(key), .int8(value)])
        }
    }
}
