import PostgresClient
import SlawatchCore

/// What a worker writes about itself: its heartbeat, the evaluator's lock, the tickets it found
/// no clock for; and the delivery backlog it reports.
///
/// The evaluator's lock is a session advisory lock: it belongs to the connection, so a worker
/// takes it and gives it up on the connection it keeps for its cycles.
public struct WorkerStore {
    let connection: StoreConnection

    public init(connection: StoreConnection) { self.connection = connection }

    /// Any number stands for the lock; it only has to be the same in every slawatch process.
    public static let evaluatorLock: Int64 = 0x736C_6177_6174_6368 & 0x7FFF_FFFF_FFFF_FFFF

    /// Records that `worker` is alive at `now` (and when it started, the first time).
    public func heartbeat(worker: String, now: Instant) throws(StoreError) {
        try connection.run("recording the worker's heartbeat") {
            try $0.query(
                """
                INSERT INTO slawatch.workers (worker, started_at, heartbeat_at) VALUES ($1, $2, $2)
                ON CONFLICT (worker) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at
                """, [.string(worker), .timestamptz(now.microseconds)])
        }
    }

    /// Takes the evaluator's lock for this connection's session if no other session holds it.
    public func tryEvaluatorLock() throws(StoreError) -> Bool {
        try connection.run("taking the evaluator's lock") {
            try $0.query("SELECT pg_try_advisory_lock($1)", [.int8(Self.evaluatorLock)]).rows[0].bool(0)
        }
    }

    /// Gives up the evaluator's lock: closing the connection would too, but only once the server
    /// has noticed.
    public func releaseEvaluatorLock() throws(StoreError) {
        try connection.run("giving up the evaluator's lock") {
            try $0.query("SELECT pg_advisory_unlock($1)", [.int8(Self.evaluatorLock)])
        }
    }

    /// Records the tickets without a clock that were not recorded yet; returns those, as code and
    /// reason, so that each is reported once.
    public func recordUnmatched(
        _ unmatched: [UnmatchedTicket], now: Instant
    ) throws(StoreError) -> [(code: String, reason: String)] {
        try connection.run("recording the tickets without a clock") {
            try $0.query(
                """
                INSERT INTO slawatch.unmatched_tickets (ticket_id, code, reason, first_seen)
                SELECT u.id, u.code, u.reason, $4 FROM unnest($1, $2, $3) AS u(id, code, reason)
                ON CONFLICT (ticket_id) DO NOTHING RETURNING code, reason
                """,
                [
                    .textArray(unmatched.map(\.ticket.ticketID)), .textArray(unmatched.map(\.ticket.code)),
                    .textArray(unmatched.map(\.reason)), .timestamptz(now.microseconds),
                ]
            ).rows.map { (code: try $0.string(0), reason: try $0.string(1)) }
        }
    }

    /// Deliveries pending or awaiting a retry.
    public func deliveryBacklog() throws(StoreError) -> Int {
        try connection.run("counting the delivery backlog") {
            try $0.query("SELECT count(*) FROM slawatch.deliveries WHERE status IN ('pending', 'failed')").rows[0].int(
                0)
        }
    }

    /// Whether the database answers a statement at all.
    public func ping() throws(StoreError) {
        try connection.run("asking the database whether it answers") { try $0.query("SELECT 1") }
    }

    /// The latest heartbeat of any worker (each cycle records one); nil when no worker ran yet.
    public func lastHeartbeat() throws(StoreError) -> Instant? {
        try connection.run("reading the workers' heartbeats") {
            try $0.query("SELECT max(heartbeat_at) FROM slawatch.workers").rows[0].optionalTimestamp(0).map {
                Instant(microseconds: $0)
            }
        }
    }
}
