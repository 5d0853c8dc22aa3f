import PostgresClient
import SlawatchCore

/// The tickets a forecast must evaluate, found from the clocks the worker stored instead of by
/// reading every ticket (README, "What-if and forecast"): a superset of those whose clock is due
/// within the horizon, so that evaluating just these gives the same list as evaluating all.
///
/// A clock stored as running has, at any later instant, the elapsed time `base_us` plus its
/// calendar's running sum at that instant (as the dashboard function computes it). The candidates
/// are the stored running clocks not yet due at `now` and due by `now + within` (with a margin),
/// those stored after `now`, and
/// every ticket updated since the worker's last cycle looked (its watermark less the overlap an
/// incremental cycle looks back by): that covers new tickets, changed ones (a pause, a new status
/// or priority) and tickets without a stored clock. A ticket updated before that was evaluated by
/// the worker in the version the source holds now, as its incremental cycles assume.
public enum ForecastCandidates {
    /// The candidate tickets and their status changes, read in one snapshot, or nil when the
    /// stored clocks cannot be trusted for `rules` at `now`: no slawatch schema, no cycle completed since the rules
    /// were last compiled (no worker ever ran, or `migrate` ran since), the worker's rules are not
    /// `rules` (their fingerprint differs), or `now` is before the worker's last cycle.
    public static func tickets(
        source: SourceRepository, connection: StoreConnection, rules: RuleSet, now: Instant, within: Int64
    ) throws(StoreError) -> (tickets: [SourceTicket], histories: [String: [StatusChange]])? {
        do {
            // One snapshot: a worker that recompiles its rules meanwhile (and empties the stored
            // clocks) or completes a cycle must not be seen half before and half after.
            return try connection.transaction { () throws(StoreError) in
                try connection.run("starting a read-only snapshot") {
                    try $0.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                }
                guard
                    let ids = try Self.ids(
                        source: source, connection: connection, rules: rules, now: now, within: within)
                else { return nil }
                let (tickets, histories) = try source.ticketsWithEarlierReadings(ids)
                return (tickets.map(\.0), histories)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.from(error, doing: "reading the tickets a forecast may list")
        }
    }

    /// How far (microseconds) a stored clock's remaining time may be outside the horizon and still
    /// be a candidate: the running sums are the dashboard function's, and a margin keeps a
    /// rounding between them and the evaluator from ever costing a ticket.
    static let margin: Int64 = 3_600_000_000

    /// The stored running clocks not yet due at `$1` (now) and due by `$2` (the horizon), each
    /// within `$3`, and those stored after now. A running clock's elapsed time at any later
    /// instant is its base plus its calendar's running sum then, as long as its ticket is unchanged
    /// (a changed ticket is a candidate anyway); a clock with no compiled calendar is a candidate.
    static let dueSQL = """
        SELECT k.ticket_id FROM slawatch.clocks k
        LEFT JOIN (SELECT name, slawatch.working_before(name, always, $1) AS at_now,
                          slawatch.working_before(name, always, $2) AS at_horizon
                   FROM slawatch.calendars) c ON c.name = k.calendar
        WHERE k.evaluated_us > $1
           OR (k.running AND NOT k.stopped
               AND (c.name IS NULL
                    OR (k.target_us - k.base_us - c.at_horizon <= $3 AND k.target_us - k.base_us - c.at_now > -$3)))
        """

    /// The candidates' ids, each once, or nil when the stored clocks cannot be trusted.
    static func ids(
        source: SourceRepository, connection: StoreConnection, rules: RuleSet, now: Instant, within: Int64
    ) throws(StoreError) -> [String]? {
        // A database no worker or `migrate` ever touched has no slawatch schema at all.
        let hasSchema = try connection.run("looking for the stored clocks") {
            try $0.query(
                "SELECT to_regclass('slawatch.worker_state') IS NOT NULL AND to_regclass('slawatch.clocks') IS NOT NULL"
            ).rows[0].bool(0)
        }
        guard hasSchema else { return nil }
        let state = try ClockStore(connection: connection).workerState()
        let functionSQL = DashboardFunction.helpersSQL + DashboardFunction.sql(views: rules.source)
        guard let seen = state["seen"], let stored = state["rules"],
            stored == CompiledRules.fingerprint(rules, functionSQL: functionSQL), now.microseconds >= seen
        else { return nil }
        let horizon = now + within
        // Past the calendars' compiled coverage the running sums stop growing: read everything.
        let covered = try connection.run("reading the calendars' coverage") {
            try $0.query("SELECT min(covered_to_us) FROM slawatch.calendars").rows[0].optionalInt(0)
        }
        if let covered, Int64(covered) < horizon.microseconds { return nil }
        let due = try connection.run("reading the stored clocks that may be due within the horizon") {
            try $0.query(Self.dueSQL, [.int8(now.microseconds), .int8(horizon.microseconds), .int8(Self.margin)])
                .rows.map { try $0.string(0) }
        }
        let since = Instant(microseconds: seen) + (-FullPassSchedule.overlap)
        let changed = try source.ticketIDs(updatedAfter: since, except: EvaluatedVersions())
        var listed = Set<String>()
        return (due + changed).filter { listed.insert($0).inserted }
    }
}
