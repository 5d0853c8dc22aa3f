import PostgresClient
import SlawatchCore

/// The dashboard's rows as the SQL function computes them (`slawatch.dashboard_rows_at`, the variant of
/// `fn_dashboard_tickets_full_filtrado` at a given instant that `migrate` installs beside it), a batch at
/// a time, in the dashboard's order: the stored clocks where they are current, the rest computed in SQL
/// (README, "The HTTP API").
///
/// Opened only when the rules compiled into the database are the caller's (their fingerprint, which
/// `migrate` and the worker store): the function's figures are then the engine's for those rules
/// (DashboardParityTests). Otherwise ``open(_:rules:scope:now:batchSize:)`` answers nil and the caller
/// evaluates with the engine. Holds the connection's read-only transaction until it is finished or
/// closed.
public final class DashboardCursor {
    private let connection: StoreConnection
    private let batchSize: Int
    private var open = true

    private init(connection: StoreConnection, batchSize: Int) {
        self.connection = connection
        self.batchSize = batchSize
    }

    deinit { close() }

    /// The fingerprint of what `migrate` compiles from `rules` (tables and functions): equal to the
    /// database's when it compiled these very rules.
    public static func fingerprint(_ rules: RuleSet) -> Int64 {
        CompiledRules.fingerprint(
            rules, functionSQL: DashboardFunction.helpersSQL + DashboardFunction.sql(views: rules.source))
    }

    /// The cursor over the tickets of `scope` as of `now`, or nil when the database holds other rules
    /// (or none, or a slawatch without the function): `fingerprint` is ``fingerprint(_:)`` of the
    /// caller's rules.
    public static func open(
        _ connection: StoreConnection, fingerprint: Int64, scope: TicketQuery.Scope, now: Instant,
        batchSize: Int = 1_000
    ) throws(StoreError) -> DashboardCursor? {
        var area: String?
        var requester: String?
        switch scope {
        case .all: break
        case .area(let a): area = a
        case .requester(let e): requester = e
        }
        let opened = try connection.run("opening the dashboard function") { c -> Bool in
            // One snapshot for the check and the rows: a `migrate` of other rules in between is not seen.
            try c.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            do {
                let installed = try c.query(
                    "SELECT to_regprocedure('slawatch.dashboard_rows_at(bigint,text,text)') IS NOT NULL"
                ).rows[0].bool(0)
                let stored = installed ? try CompiledRules.storedFingerprint(c) : nil
                guard stored == fingerprint else {
                    try c.execute("ROLLBACK")
                    return false
                }
                try c.query(
                    "DECLARE slawatch_api_dashboard NO SCROLL CURSOR FOR "
                        + "SELECT * FROM slawatch.dashboard_rows_at($1, $2, $3)",
                    [.int8(now.microseconds), .string(area), .string(requester)])
                return true
            } catch {
                try? c.execute("ROLLBACK")
                throw error
            }
        }
        return opened ? DashboardCursor(connection: connection, batchSize: max(1, batchSize)) : nil
    }

    /// The next batch; nil once every row was read.
    public func next() throws(StoreError) -> [DashboardEntry]? {
        guard open else { return nil }
        var batch: [DashboardEntry] = []
        batch.reserveCapacity(batchSize)
        do {
            try connection.run("reading the dashboard function") { c in
                for row in try c.query("FETCH \(batchSize) FROM slawatch_api_dashboard").rows {
                    batch.append(
                        DashboardEntry(
                            ticketID: try row.string(0), code: try row.string(1), category: try row.optionalString(2),
                            requesterEmail: try row.optionalString(3), status: try row.string(4),
                            priority: try row.optionalString(5) ?? "", area: try row.optionalString(6),
                            updatedAt: Instant(microseconds: try row.timestamp(7)), slaHours: try row.double(8),
                            hoursRemaining: try row.double(9), isOverdue: try row.bool(10)))
                }
            }
        } catch {
            close()
            throw error
        }
        if batch.isEmpty {
            end(commit: true)
            return nil
        }
        return batch
    }

    /// Ends the cursor's transaction (rolled back: it only read).
    public func close() { end(commit: false) }

    private func end(commit: Bool) {
        guard open else { return }
        open = false
        try? connection.run("closing the dashboard cursor") { try $0.execute(commit ? "COMMIT" : "ROLLBACK") }
    }
}

@available(*, unavailable)
extension DashboardCursor: Sendable {}
