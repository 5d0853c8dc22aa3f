import Foundation
import PostgresClient
import SlawatchCore

/// The deliveries table seen as a queue shared by every worker on the database.
///
/// A worker claims due deliveries with `FOR UPDATE SKIP LOCKED` and a lease, so no two workers
/// hold the same delivery; a worker that dies leaves its lease to expire and another takes the
/// delivery over (the receiver can drop that repeat by its `webhook-id`). Results are written only
/// while the lease is still this worker's.
struct DeliveryQueue {
    let connection: PostgresConnection
    let worker: String

    /// A claimed delivery with what it carries: an event's notice, or a rendered report, both as
    /// stored. They are read where the message is rendered, off the thread that owns the connection.
    struct Claimed: Sendable {
        let id: Int64
        let eventID: String?
        let route: Int
        let channel: String
        let recipient: String
        let groupKey: String
        let attempts: Int
        let createdAt: Instant
        let noticeJSON: String?
        let reportJSON: String?
        /// 0 for the first notification, n for the n-th reminder.
        let reminder: Int

        /// The event's notice, numbered when it is a reminder; nil for a report.
        func notice(_ decoder: JSONDecoder) throws -> Notice? {
            guard let noticeJSON else { return nil }
            var notice = try decoder.decode(Notice.self, from: Data(noticeJSON.utf8))
            if reminder > 0 { notice.reminder = reminder }
            return notice
        }

        func report(_ decoder: JSONDecoder) throws -> ReportPayload? {
            try reportJSON.map { try decoder.decode(ReportPayload.self, from: Data($0.utf8)) }
        }
    }

    static let leaseMicros: Int64 = 120_000_000

    /// Claims due deliveries, the longest due first; only those of report `report` when it is given.
    /// Among deliveries due at the same instant (a storm's are all due at the crossing) the order is
    /// the index's: ordering them by id too would sort every due row for every claim.
    func claim(now: Instant, limit: Int = 500, report: String? = nil) throws -> [Claimed] {
        let result = try connection.query(
            """
            UPDATE slawatch.deliveries d SET claimed_by = $1, claimed_until = $2::timestamptz + make_interval(secs => $4::float8)
            WHERE d.id IN (
                SELECT id FROM slawatch.deliveries
                WHERE status IN ('pending', 'failed') AND due_at <= $2::timestamptz
                  AND (claimed_until IS NULL OR claimed_until < $2::timestamptz)
                  AND ($5::text IS NULL OR report = $5::text)
                ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED)
            RETURNING d.id, d.event_id, d.route, d.channel, d.recipient, d.group_key, d.attempts, d.created_at,
                      (SELECT e.notice FROM slawatch.events e WHERE e.id = d.event_id), d.payload, d.reminder
            """,
            [.text(worker), .text(now.iso8601), PostgresParameter(limit), PostgresParameter(Double(Self.leaseMicros) / 1_000_000),
             PostgresParameter(report)])
        return try result.rows.map { row in
            Claimed(
                id: Int64(try row.int(0)), eventID: try row.optionalString(1), route: try row.int(2), channel: try row.string(3),
                recipient: try row.string(4), groupKey: try row.string(5), attempts: try row.int(6),
                createdAt: Instant(microseconds: try row.timestamp(7)), noticeJSON: try row.optionalString(8),
                reportJSON: try row.optionalString(9), reminder: try row.int(10))
        }.sorted { $0.id < $1.id }
    }

    /// What one attempt came to, for ``record(_:now:)``.
    struct Outcome {
        enum Status: String { case sent, failed, dead }
        let id: Int64
        let status: Status
        /// Why it failed; nil when sent.
        let reason: String?
        /// When a failed delivery is tried again; nil when sent or dead.
        let retryAt: Instant?

        static func sent(_ id: Int64) -> Outcome { Outcome(id: id, status: .sent, reason: nil, retryAt: nil) }
        /// Retried at `retryAt`, or dead when it is nil.
        static func failed(_ id: Int64, reason: String, retryAt: Instant?) -> Outcome {
            Outcome(id: id, status: retryAt == nil ? .dead : .failed, reason: reason, retryAt: retryAt)
        }
    }

    /// Records the attempts of a pass, whatever their mix of outcomes, in one statement: one round
    /// trip per pass rather than one per failed message. An attempt counts, a failure's reason is
    /// appended to the delivery's errors, and the lease ends.
    ///
    /// The lease is compared as a join column, not as a filter on the table: the planner's statistics
    /// know no rows claimed by this worker (claims come and go between ANALYZEs), and a filter it
    /// believes matches one row makes it loop over the whole array for every row.
    func record(_ outcomes: [Outcome], now: Instant) throws {
        guard !outcomes.isEmpty else { return }
        try connection.query(
            """
            UPDATE slawatch.deliveries d SET status = u.status, attempts = d.attempts + 1,
                   sent_at = CASE WHEN u.status = 'sent' THEN $2::text::timestamptz ELSE d.sent_at END,
                   due_at = COALESCE(u.retry_at::timestamptz, d.due_at),
                   last_error = COALESCE(u.reason, d.last_error),
                   errors = CASE WHEN u.reason IS NULL THEN d.errors
                                 ELSE d.errors || jsonb_build_array(jsonb_build_object('at', $2::text, 'error', u.reason)) END,
                   claimed_by = NULL, claimed_until = NULL
            FROM unnest($1::bigint[], $3::text[], $4::text[], $5::text[], array_fill($6::text, ARRAY[cardinality($1::bigint[])]))
                 AS u(id, status, reason, retry_at, worker)
            WHERE d.id = ANY($1::bigint[]) AND d.id = u.id AND d.claimed_by = u.worker
            """,
            [.text(Self.idArray(outcomes.map(\.id))), .text(now.iso8601),
             .text(SourceRepository.textArray(outcomes.map(\.status.rawValue))),
             .text(SourceRepository.arrayLiteral(outcomes.map(\.reason))),
             .text(SourceRepository.arrayLiteral(outcomes.map { $0.retryAt?.iso8601 })), .text(worker)])
    }

    /// Gives a claimed delivery back untouched, to be sent at `dueAt` (a rate limit said "not yet").
    func release(_ ids: [Int64], dueAt: Instant) throws {
        try connection.query(
            "UPDATE slawatch.deliveries SET due_at = $2::timestamptz, claimed_by = NULL, claimed_until = NULL WHERE id = ANY($1::bigint[]) AND claimed_by = $3",
            [.text(Self.idArray(ids)), .text(dueAt.iso8601), .text(worker)])
    }

    func disableChannel(_ channel: String, now: Instant, reason: String) throws {
        try connection.query(
            """
            INSERT INTO slawatch.channel_state (channel, disabled_at, reason) VALUES ($1, $2::timestamptz, $3)
            ON CONFLICT (channel) DO UPDATE SET disabled_at = EXCLUDED.disabled_at, reason = EXCLUDED.reason
            """,
            [.text(channel), .text(now.iso8601), .text(reason)])
    }

    /// The earliest instant a pending or failed delivery is due, if any.
    func nextDue() throws -> Instant? {
        let row = try connection.query("SELECT min(due_at) FROM slawatch.deliveries WHERE status IN ('pending', 'failed')").rows[0]
        return try row.optionalTimestamp(0).map { Instant(microseconds: $0) }
    }

    static func idArray(_ ids: [Int64]) -> String { "{" + ids.map(String.init).joined(separator: ",") + "}" }
}

/// A report rendered for one channel and recipient, stored with its delivery so that a retry sends
/// exactly what was rendered at the scheduled instant.
struct ReportPayload: Codable {
    var subject: String
    var text: String
    var html: String
    /// The chat or webhook body.
    var body: String
    var thread: String
}
