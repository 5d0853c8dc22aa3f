import Foundation
import PostgresClient
import SlawatchCore

/// The deliveries table seen as a queue shared by every worker on the database.
///
/// A worker claims due deliveries with `FOR UPDATE SKIP LOCKED` and a lease (``leaseMicros``, by the
/// database's clock, never by a simulated `--now`), so no two workers hold the same delivery. The
/// holder renews the lease every second while it sends (``renew(_:)``), and sends a delivery only
/// within ``boundMicros`` of the claim or renewal that last covered it, less a margin, by its own
/// clock from the moment that statement left (the database stamps it later, never earlier).
///
/// A claim is free for another worker when either
/// - its lease has run out: nobody renewed it for ``leaseMicros``; or
/// - its bound has passed (nobody renewed it for ``boundMicros``) and no session holds the
///   holder's lock (``holdSession()``, a session-level advisory lock keyed by the worker's id).
///
/// A worker that dies loses its session, and with it the lock, at once: its claims are free
/// ``boundMicros`` after their last renewal, seconds after the kill, for another worker to send (a
/// repeat the receiver drops by its `webhook-id` or `Message-ID`). A live worker whose session
/// ended (PostgreSQL restarted, the connection lost for a moment) keeps its process and its
/// messages on their way, but the bound is one it respects itself: past it, it sends nothing of
/// that claim, so another worker can take it without a message going twice. A live worker whose
/// session lives keeps its claims for the whole lease even when its renewals come late on a loaded
/// machine, so that an answer that arrives late is still recorded by it and not sent again by
/// another. A worker whose own session is younger than the bound does not go by the lock: after a
/// restart or a moment of refused connections every session, and every lock, is new, and a holder
/// that is alive takes its lock again within a second or two of reconnecting; were it taken from it
/// meanwhile, the answers it kept while the database was away could not be recorded, and their
/// messages would go twice. Two worker ids whose lock keys collide only make a dead one's claims
/// wait for the whole lease. Results are written only while the delivery is still this worker's.
public struct DeliveryQueue {
    let connection: StoreConnection
    public let worker: String

    public init(connection: StoreConnection, worker: String) {
        self.connection = connection
        self.worker = worker
    }

    /// A claimed delivery with what it carries: an event's notice, or a rendered report, both as
    /// stored. They are read where the message is rendered, off the thread that owns the connection.
    public struct Claimed: Sendable {
        public let id: Int64
        public let eventID: String?
        public let route: Int
        public let channel: String
        public let recipient: String
        public let groupKey: String
        public let attempts: Int
        public let createdAt: Instant
        public let noticeJSON: String?
        public let reportJSON: String?
        /// 0 for the first notification, n for the n-th reminder.
        public let reminder: Int
        /// The id of the message that carried it at an earlier attempt, recorded before that attempt
        /// left (``carry(_:)``); nil while it has never been attempted. A retry goes out under it.
        public let messageID: String?

        /// The event's notice, numbered when it is a reminder; nil for a report.
        public func notice(_ decoder: JSONDecoder) throws -> Notice? {
            guard let noticeJSON else { return nil }
            var notice = try decoder.decode(Notice.self, from: Data(noticeJSON.utf8))
            if reminder > 0 { notice.reminder = reminder }
            return notice
        }

        public func report(_ decoder: JSONDecoder) throws -> ReportPayload? {
            try reportJSON.map { try decoder.decode(ReportPayload.self, from: Data($0.utf8)) }
        }
    }

    /// How long a claim or a renewal holds a delivery, from the database's clock at that statement,
    /// while the holder's session holds its lock.
    public static let leaseMicros: Int64 = 10_000_000
    /// How long a claim or a renewal holds a delivery when the holder's session is gone; the holder
    /// itself sends only within this bound (less a margin) of what last covered the delivery.
    public static let boundMicros: Int64 = 4_000_000
    /// The first key of the holder's lock (the second is the hash of the worker's id): any number,
    /// the same in every slawatch process. Two int4 keys, so it never meets the evaluator's lock.
    public static let holderLockClass: Int64 = 0x736C_6177  // 'slaw'

    /// Takes the holder's lock for this connection's session unless it holds it already: the
    /// lock tells other workers that this worker's session, and so its process, is alive. Never
    /// waits; false when another session holds the same key (this worker's claims are then free
    /// only after their lease, as without the lock).
    @discardableResult
    public func holdSession() throws(StoreError) -> Bool {
        try connection.run("taking the delivery holder's lock") {
            try $0.query(
                """
                SELECT EXISTS (
                           SELECT 1 FROM pg_locks
                           WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND classid = $1::int4::oid
                             AND objid = hashtext($2)::oid AND objsubid = 2)
                       OR pg_try_advisory_lock($1::int4, hashtext($2))
                """,
                [.int8(Self.holderLockClass), .string(worker)]
            ).rows[0].bool(0)
        }
    }

    /// Turns PostgreSQL's JIT compilation off for this session: a claim's estimate, on a large
    /// backlog or with statistics from before a storm, can pass `jit_above_cost`, and compiling
    /// takes about a second where the claim itself takes milliseconds.
    public func prepareSession() throws(StoreError) {
        try connection.run("preparing the delivery session") { try $0.execute("SET jit = off") }
    }

    /// Claims due deliveries (due at or before `now`), the longest due first; only those of report
    /// `report` when it is given. Among deliveries due at the same instant (a storm's are all due at
    /// the crossing) the order is the index's: ordering them by id too would sort every due row for
    /// every claim. The lease runs ``leaseMicros`` from the database's clock. A delivery another
    /// worker claimed is taken when its lease has run out, or when its bound has passed and no
    /// session holds that worker's lock (the type's comment says why that is sound); the lock table
    /// is read only for such rows.
    public func claim(now: Instant, limit: Int = 100, report: String? = nil) throws(StoreError) -> [Claimed] {
        try connection.run("claiming due deliveries") { try claim($0, now: now, limit: limit, report: report) }
    }

    private func claim(_ connection: PostgresConnection, now: Instant, limit: Int, report: String?) throws -> [Claimed]
    {
        let result = try connection.query(
            """
            UPDATE slawatch.deliveries d SET claimed_by = $1,
                   claimed_until = clock_timestamp() + make_interval(secs => $4)
            WHERE d.id IN (
                SELECT id FROM slawatch.deliveries
                WHERE status IN ('pending', 'failed') AND due_at <= $2
                  AND \(Self.free(lease: 4, bound: 6, lockClass: 7))
                  AND ($5 IS NULL OR report = $5)
                ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED)
            RETURNING \(Self.returning)
            """,
            [
                .string(worker), .timestamptz(now.microseconds), .int8(Int64(limit)),
                .float8(Double(Self.leaseMicros) / 1_000_000),
                .string(report), .float8(Double(Self.boundMicros) / 1_000_000), .int8(Self.holderLockClass),
            ])
        return try result.rows.map(Self.claimed).sorted { $0.id < $1.id }
    }

    /// The condition under which a delivery row is free to claim (the type's comment says why it is
    /// sound), over the statement's parameters numbered `lease` (``leaseMicros`` in seconds),
    /// `bound` (``boundMicros`` in seconds) and `lockClass` (``holderLockClass``). The lock table,
    /// and the age of the claiming session, are read only for a row whose bound has passed.
    static func free(lease: Int, bound: Int, lockClass: Int) -> String {
        """
        (claimed_until IS NULL OR claimed_until < clock_timestamp()
             OR (claimed_until < clock_timestamp() + make_interval(secs => $\(lease) - $\(bound))
                 AND (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())
                     < clock_timestamp() - make_interval(secs => $\(bound))
                 AND NOT EXISTS (
                     SELECT 1 FROM pg_locks l
                     WHERE l.locktype = 'advisory' AND l.classid = $\(lockClass)::int4::oid
                       AND l.objid = hashtext(claimed_by)::oid AND l.objsubid = 2 AND l.granted
                       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))))
        """
    }

    /// What a claim returns of each delivery, in the order ``claimed(_:)`` reads it.
    static let returning = """
        d.id, d.event_id, d.route, d.channel, d.recipient, d.group_key, d.attempts, d.created_at,
        (SELECT e.notice FROM slawatch.events e WHERE e.id = d.event_id), d.payload, d.reminder, d.message_id
        """

    private static func claimed(_ row: PostgresRow) throws -> Claimed {
        Claimed(
            id: Int64(try row.int(0)), eventID: try row.optionalString(1), route: try row.int(2),
            channel: try row.string(3),
            recipient: try row.string(4), groupKey: try row.string(5), attempts: try row.int(6),
            createdAt: Instant(microseconds: try row.timestamp(7)), noticeJSON: try row.optionalString(8),
            reportJSON: try row.optionalString(9), reminder: try row.int(10),
            messageID: try row.optionalString(11))
    }

    /// Claims the rest of messages attempted before: the deliveries still to be sent (pending or
    /// failed, due or not) that `messageIDs` carried, other than `ids`, and free as a claim finds
    /// them (``free(lease:bound:lockClass:)``), so that each message goes again whole rather than in
    /// parts claimed apart.
    public func claimRest(of messageIDs: [String], except ids: [Int64]) throws(StoreError) -> [Claimed] {
        guard !messageIDs.isEmpty else { return [] }
        return try connection.run("claiming the rest of messages sent before") { connection in
            try connection.query(
                """
                UPDATE slawatch.deliveries d SET claimed_by = $1,
                       claimed_until = clock_timestamp() + make_interval(secs => $4)
                WHERE d.id IN (
                    SELECT id FROM slawatch.deliveries
                    WHERE message_id = ANY($2) AND status IN ('pending', 'failed') AND NOT (id = ANY($3))
                      AND \(Self.free(lease: 4, bound: 5, lockClass: 6))
                    FOR UPDATE SKIP LOCKED)
                RETURNING \(Self.returning)
                """,
                [
                    .string(worker), .textArray(messageIDs), .int8Array(ids),
                    .float8(Double(Self.leaseMicros) / 1_000_000), .float8(Double(Self.boundMicros) / 1_000_000),
                    .int8(Self.holderLockClass),
                ]
            ).rows.map(Self.claimed)
        }
    }

    /// Those of `messageIDs` that carried a delivery still to be sent (pending or failed) other than
    /// `ids`: a message that would go without part of itself.
    public func scattered(_ messageIDs: [String], except ids: [Int64]) throws(StoreError) -> Set<String> {
        guard !messageIDs.isEmpty else { return [] }
        return try connection.run("reading which messages are split") { connection in
            Set(
                try connection.query(
                    """
                    SELECT DISTINCT message_id FROM slawatch.deliveries
                    WHERE message_id = ANY($1) AND status IN ('pending', 'failed') AND NOT (id = ANY($2))
                    """,
                    [.textArray(messageIDs), .int8Array(ids)]
                ).rows.map { try $0.string(0) })
        }
    }

    /// Extends the lease of those of `ids` this worker still holds by ``leaseMicros`` from the
    /// database's clock now. A lease that ran out is renewed too while no other worker claimed the
    /// delivery since (its `claimed_by` is still this worker's). A row locked at that moment is
    /// skipped, never waited for: it is being recorded (which ends its lease) or claimed by another
    /// worker, and a renewal that waited could deadlock with the worker's own recording, which locks
    /// its rows in another order. The next renewal, a second later, takes it if it is still held.
    /// Returns the ids renewed: of `ids`, only those are still certainly this worker's.
    @discardableResult
    public func renew(_ ids: [Int64]) throws(StoreError) -> Set<Int64> {
        guard !ids.isEmpty else { return [] }
        return try connection.run("renewing the lease of claimed deliveries") {
            Set(
                try $0.query(
                    """
                    UPDATE slawatch.deliveries SET claimed_until = clock_timestamp() + make_interval(secs => $3)
                    WHERE id IN (
                        SELECT id FROM slawatch.deliveries WHERE id = ANY($1) AND claimed_by = $2
                        FOR UPDATE SKIP LOCKED)
                    RETURNING id
                    """,
                    [.int8Array(ids), .string(worker), .float8(Double(Self.leaseMicros) / 1_000_000)]
                ).rows.map { Int64(try $0.int(0)) })
        }
    }

    /// What one attempt came to, for ``record(_:)``.
    public struct Outcome: Sendable {
        public enum Status: String, Sendable { case sent, failed, dead }
        public let id: Int64
        public let status: Status
        /// Why it failed; nil when sent.
        public let reason: String?
        /// When a failed delivery is tried again; nil when sent or dead.
        public let retryAt: Instant?
        /// When the attempt's answer (or failure) came: `sent_at`, and the instant of its error.
        public let at: Instant

        public static func sent(_ id: Int64, at: Instant) -> Outcome {
            Outcome(id: id, status: .sent, reason: nil, retryAt: nil, at: at)
        }
        /// Retried at `retryAt`, or dead when it is nil.
        public static func failed(_ id: Int64, reason: String, retryAt: Instant?, at: Instant) -> Outcome {
            Outcome(id: id, status: retryAt == nil ? .dead : .failed, reason: reason, retryAt: retryAt, at: at)
        }
    }

    /// Records attempts, whatever their mix of outcomes, in one statement: one round trip for all the
    /// answers that came in together rather than one per message. An attempt counts, a failure's
    /// reason is appended to the delivery's errors, and the lease ends.
    ///
    /// The lease is compared as a join column, not as a filter on the table: the planner's statistics
    /// know no rows claimed by this worker (claims come and go between ANALYZEs), and a filter it
    /// believes matches one row makes it loop over the whole array for every row.
    public func record(_ outcomes: [Outcome]) throws(StoreError) {
        guard !outcomes.isEmpty else { return }
        try connection.run("recording the outcome of deliveries") { try record($0, outcomes) }
    }

    private func record(_ connection: PostgresConnection, _ outcomes: [Outcome]) throws {
        try connection.query(
            """
            UPDATE slawatch.deliveries d SET status = u.status, attempts = d.attempts + 1,
                   sent_at = CASE WHEN u.status = 'sent' THEN u.at ELSE d.sent_at END,
                   due_at = COALESCE(u.retry_at, d.due_at),
                   last_error = COALESCE(u.reason, d.last_error),
                   errors = CASE WHEN u.reason IS NULL THEN d.errors
                                 ELSE d.errors || jsonb_build_array(jsonb_build_object('at', u.at_text, 'error', u.reason))
                            END,
                   claimed_by = NULL, claimed_until = NULL
            FROM unnest($1, $2, $3, $4, $5, $6, array_fill($7, ARRAY[cardinality($1)]))
                 AS u(id, at, at_text, status, reason, retry_at, worker)
            WHERE d.id = ANY($1) AND d.id = u.id AND d.claimed_by = u.worker
            """,
            [
                .int8Array(outcomes.map(\.id)), .timestamptzArray(outcomes.map { $0.at.microseconds }),
                .textArray(outcomes.map { $0.at.iso8601 }), .textArray(outcomes.map(\.status.rawValue)),
                .textArray(outcomes.map(\.reason)), .timestamptzArray(outcomes.map { $0.retryAt?.microseconds }),
                .string(worker),
            ])
    }

    /// Gives claimed deliveries back untouched, to be sent at `dueAt` (a rate limit said "not yet"),
    /// or when they were due (nil: not sent because the lease had become uncertain), by whichever
    /// worker claims them next.
    public func release(_ ids: [Int64], dueAt: Instant?) throws(StoreError) {
        try connection.run("giving back claimed deliveries") { try release($0, ids, dueAt: dueAt) }
    }

    private func release(_ connection: PostgresConnection, _ ids: [Int64], dueAt: Instant?) throws {
        try connection.query(
            """
            UPDATE slawatch.deliveries SET due_at = COALESCE($2, due_at), claimed_by = NULL, claimed_until = NULL
            WHERE id = ANY($1) AND claimed_by = $3
            """,
            [.int8Array(ids), .timestamptz(dueAt?.microseconds), .string(worker)])
    }

    public func disableChannel(_ channel: String, now: Instant, reason: String) throws(StoreError) {
        try connection.run("disabling channel \(channel)") { try disableChannel($0, channel, now: now, reason: reason) }
    }

    private func disableChannel(_ connection: PostgresConnection, _ channel: String, now: Instant, reason: String)
        throws
    {
        try connection.query(
            """
            INSERT INTO slawatch.channel_state (channel, disabled_at, reason) VALUES ($1, $2, $3)
            ON CONFLICT (channel) DO UPDATE SET disabled_at = EXCLUDED.disabled_at, reason = EXCLUDED.reason
            """,
            [.string(channel), .timestamptz(now.microseconds), .string(reason)])
    }

    /// Records which message carries each delivery, before the message's first attempt leaves: every
    /// later attempt of the delivery goes out under that id (``Claimed/messageID``), and
    /// `slawatch deliveries` shows it. Only while this worker holds the delivery.
    public func carry(_ messages: [(ids: [Int64], messageID: String)]) throws(StoreError) {
        guard !messages.isEmpty else { return }
        try connection.run("recording which message carries each delivery") { try carry($0, messages) }
    }

    private func carry(_ connection: PostgresConnection, _ messages: [(ids: [Int64], messageID: String)]) throws {
        var ids: [Int64] = []
        var messageIDs: [String?] = []
        for message in messages {
            ids += message.ids
            messageIDs += Array(repeating: message.messageID, count: message.ids.count)
        }
        try connection.query(
            """
            UPDATE slawatch.deliveries d SET message_id = u.message
            FROM unnest($1, $2) AS u(id, message)
            WHERE d.id = ANY($1) AND d.id = u.id AND d.claimed_by = $3
            """,
            [.int8Array(ids), .textArray(messageIDs), .string(worker)])
    }

    /// A claimed delivery that is not sent because it is stale (README, 'Superseding').
    public struct Superseded: Sendable {
        public let id: Int64
        public let channel: String
        public let reason: String
    }

    /// Marks `superseded` those of the claimed deliveries `ids` whose ticket has a later event
    /// going to the same channel and recipient (with the id of that event's delivery), or whose
    /// ticket's clock has stopped since (except `sla.met_after_breach`); returns them. Reports are
    /// never superseded.
    public func supersede(_ ids: [Int64], now: Instant) throws(StoreError) -> [Superseded] {
        guard !ids.isEmpty else { return [] }
        return try connection.run("superseding stale deliveries") { try supersede($0, ids, now: now) }
    }

    private func supersede(_ connection: PostgresConnection, _ ids: [Int64], now: Instant) throws -> [Superseded] {
        // The later deliveries are found from the ticket's events (by ticket), then by event (OFFSET
        // 0 keeps the planner from flattening that look-up into a join): on a table it had no
        // statistics for yet it scanned every delivery once per claimed one, seconds per claim.
        try connection.query(
            """
            WITH stale AS (
                SELECT d.id, n.id AS later,
                       CASE WHEN n.id IS NOT NULL
                            THEN 'superseded by delivery ' || n.id || ': a later event of the ticket (' || n.kind
                                 || ') goes to the same channel and recipient'
                            ELSE 'superseded: the ticket has stopped since' END AS reason
                FROM slawatch.deliveries d JOIN slawatch.events e ON e.id = d.event_id
                LEFT JOIN LATERAL (
                    SELECT l.id, le.kind FROM slawatch.events le
                    CROSS JOIN LATERAL (
                        SELECT ld.id FROM slawatch.deliveries ld
                        WHERE ld.event_id = le.id AND ld.channel = d.channel AND ld.recipient = d.recipient
                        OFFSET 0) l
                    WHERE le.ticket_id = e.ticket_id AND le.id <> d.event_id
                      AND (COALESCE(le.crossed_at, le.detected_at), le.detected_at, l.id)
                          > (COALESCE(e.crossed_at, e.detected_at), e.detected_at, d.id)
                    ORDER BY COALESCE(le.crossed_at, le.detected_at) DESC, le.detected_at DESC, l.id DESC LIMIT 1
                ) n ON true
                LEFT JOIN slawatch.clocks c ON c.ticket_id = e.ticket_id
                WHERE d.id = ANY($1) AND d.claimed_by = $2
                  AND (n.id IS NOT NULL OR (c.stopped AND e.kind <> 'sla.met_after_breach'))
            )
            UPDATE slawatch.deliveries d
            SET status = 'superseded', superseded_by = s.later, last_error = s.reason,
                errors = d.errors || jsonb_build_array(jsonb_build_object('at', $3, 'error', s.reason)),
                claimed_by = NULL, claimed_until = NULL
            FROM stale s WHERE d.id = s.id AND d.claimed_by = $2
            RETURNING d.id, d.channel, s.reason
            """,
            [.int8Array(ids), .string(worker), .string(now.iso8601)]
        ).rows.map { Superseded(id: Int64(try $0.int(0)), channel: try $0.string(1), reason: try $0.string(2)) }
    }

    /// The earliest instant a pending or failed delivery is due, if any.
    public func nextDue() throws(StoreError) -> Instant? {
        try connection.run("reading when the next delivery is due") { try nextDue($0) }
    }

    private func nextDue(_ connection: PostgresConnection) throws -> Instant? {
        let row = try connection.query(
            "SELECT min(due_at) FROM slawatch.deliveries WHERE status IN ('pending', 'failed')"
        ).rows[0]
        return try row.optionalTimestamp(0).map { Instant(microseconds: $0) }
    }
}

/// A report rendered for one channel and recipient, stored with its delivery so that a retry sends
/// exactly what was rendered at the scheduled instant.
public struct ReportPayload: Codable, Sendable {
    public var subject: String
    public var text: String
    public var html: String
    /// The chat or webhook body.
    public var body: String
    public var thread: String

    public init(subject: String, text: String, html: String, body: String, thread: String) {
        self.subject = subject
        self.text = text
        self.html = html
        self.body = body
        self.thread = thread
    }
}
