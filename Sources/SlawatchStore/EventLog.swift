import PostgresClient
import SlawatchCore

/// The recorded events and deliveries as `slawatch events`, `slawatch deliveries` and `slawatch
/// ticket` show them, and a dead delivery queued again.
public struct EventLog {
    let connection: StoreConnection

    public init(connection: StoreConnection) { self.connection = connection }

    /// A recorded threshold event.
    public struct Event: Sendable {
        public let id: String
        public let ticketCode: String
        public let kind: String
        public let level: Double
        public let targetMicros: Int64
        public let crossedAt: Instant?
        public let detectedAt: Instant
        public let notified: Bool
    }

    /// A delivery with its event's ticket and kind.
    public struct Delivery: Sendable {
        public let id: Int64
        public let eventID: String
        public let ticketCode: String
        public let kind: String
        public let channel: String
        /// The channel was disabled (by a 410).
        public let channelDisabled: Bool
        public let recipient: String
        public let status: String
        public let attempts: Int
        public let dueAt: Instant
        public let sentAt: Instant?
        public let lastError: String?
        /// Every failure's time and reason, as the stored JSON array's text.
        public let errorsJSON: String
        public let reminder: Int
        /// The id of the message that carried it (its `webhook-id`; a folded or grouped message's
        /// own id), once an attempt was made.
        public let messageID: String?
        /// The delivery that made it stale, when it was superseded by a later event.
        public let supersededBy: Int64?
    }

    private static let eventColumns = "id, ticket_code, kind, level, target_us, crossed_at, detected_at, notified"

    /// A row of `eventColumns`.
    private static func decodeEvent(_ r: PostgresRow) throws -> Event {
        Event(
            id: try r.string(0), ticketCode: try r.string(1), kind: try r.string(2), level: try r.double(3),
            targetMicros: Int64(try r.int(4)), crossedAt: try r.optionalTimestamp(5).map(Instant.init(microseconds:)),
            detectedAt: Instant(microseconds: try r.timestamp(6)), notified: try r.bool(7))
    }

    private static let deliverySelect = """
        SELECT d.id, d.event_id, e.ticket_code, e.kind, d.channel, c.disabled_at IS NOT NULL, d.recipient, d.status,
               d.attempts, d.due_at, d.sent_at, d.last_error, d.errors::text, d.reminder,
               COALESCE(d.message_id, CASE WHEN d.attempts > 0 THEN 'msg_slawatch_' || d.id END), d.superseded_by
        FROM slawatch.deliveries d JOIN slawatch.events e ON e.id = d.event_id
        LEFT JOIN slawatch.channel_state c ON c.channel = d.channel AND c.disabled_at IS NOT NULL
        """

    /// A row of `deliverySelect`.
    private static func decodeDelivery(_ r: PostgresRow) throws -> Delivery {
        Delivery(
            id: Int64(try r.int(0)), eventID: try r.string(1), ticketCode: try r.string(2), kind: try r.string(3),
            channel: try r.string(4), channelDisabled: try r.bool(5), recipient: try r.string(6),
            status: try r.string(7),
            attempts: try r.int(8), dueAt: Instant(microseconds: try r.timestamp(9)),
            sentAt: try r.optionalTimestamp(10).map(Instant.init(microseconds:)), lastError: try r.optionalString(11),
            errorsJSON: try r.string(12), reminder: try r.int(13), messageID: try r.optionalString(14),
            supersededBy: try r.optionalInt(15).map(Int64.init))
    }

    /// Every event, or those detected at or after `since`, in the order they were detected.
    public func events(since: Instant?) throws(StoreError) -> [Event] {
        try listing("reading the events") {
            try $0.query(
                """
                SELECT \(Self.eventColumns) FROM slawatch.events WHERE $1 IS NULL OR detected_at >= $1
                ORDER BY detected_at, id
                """,
                [.timestamptz(since?.microseconds)]
            ).rows.map(Self.decodeEvent)
        }
    }

    /// Every delivery, or those of `status`, by id.
    public func deliveries(status: String?) throws(StoreError) -> [Delivery] {
        try listing("reading the deliveries") {
            try $0.query("\(Self.deliverySelect) WHERE $1 IS NULL OR d.status = $1 ORDER BY d.id", [.string(status)])
                .rows.map(Self.decodeDelivery)
        }
    }

    /// The events recorded for a ticket, each with its deliveries; none before `migrate`.
    public func events(ofTicket ticketID: String) throws(StoreError) -> [(event: Event, deliveries: [Delivery])] {
        try connection.run("reading the ticket's events") { connection in
            let migrated = try connection.query("SELECT to_regclass('slawatch.deliveries') IS NOT NULL").rows[0].bool(0)
            guard migrated else { return [] }
            var events: [(event: Event, deliveries: [Delivery])] = []
            var index: [String: Int] = [:]
            for row in try connection.query(
                "SELECT \(Self.eventColumns) FROM slawatch.events WHERE ticket_id = $1 ORDER BY detected_at, crossed_at, id",
                [.string(ticketID)]
            ).rows {
                let event = try Self.decodeEvent(row)
                index[event.id] = events.count
                events.append((event, []))
            }
            let deliveries = try connection.query(
                "\(Self.deliverySelect) WHERE e.ticket_id = $1 ORDER BY d.id", [.string(ticketID)])
            for row in deliveries.rows {
                let delivery = try Self.decodeDelivery(row)
                guard let i = index[delivery.eventID] else { continue }
                events[i].deliveries.append(delivery)
            }
            return events
        }
    }

    /// Queues dead delivery `id` again, due at `now`, its attempts counted from zero; false when
    /// there is no such delivery or it is not dead.
    public func retry(deliveryID id: Int64, now: Instant) throws(StoreError) -> Bool {
        try connection.run("queueing delivery \(id) again") {
            try $0.query(
                """
                UPDATE slawatch.deliveries
                SET status = 'pending', due_at = $2, attempts = 0, claimed_by = NULL, claimed_until = NULL
                WHERE id = $1 AND status = 'dead'
                """, [.int8(id), .timestamptz(now.microseconds)]
            ).affectedRows == 1
        }
    }

    /// Runs a listing; a database slawatch never migrated says so.
    private func listing<T>(_ doing: String, _ body: (PostgresConnection) throws -> T) throws(StoreError) -> T {
        do {
            return try connection.run(doing, body)
        } catch  where error.sqlState == "42P01" {
            throw StoreError(
                .queryFailed, "slawatch's schema is missing: run slawatch migrate first", sqlState: error.sqlState)
        }
    }
}
