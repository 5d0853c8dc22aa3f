import Foundation
import PostgresClient
import SlawatchCore
import Synchronization

/// Records threshold events and, in the same transaction, the deliveries their routes ask for
/// (an outbox: README, 'The worker').
///
/// An event is stored under its deterministic id with `ON CONFLICT DO NOTHING`, so only the
/// statement that actually inserted it creates its deliveries: a re-run, a restart or a second
/// worker cannot emit an event or queue its notifications twice.
public struct EventStore {
    let connection: StoreConnection
    let rules: RuleSet

    public init(connection: StoreConnection, rules: RuleSet) {
        self.connection = connection
        self.rules = rules
    }

    public struct Outcome: Sendable {
        public var recorded = 0
        public var notified: [(Notice, [PlannedDelivery])] = []
        public var deliveries = 0
        /// Unsent deliveries made stale by a later event of their ticket to the same channel and
        /// recipient, by channel.
        public var superseded: [String: Int] = [:]

        mutating func add(_ other: Outcome) {
            recorded += other.recorded
            notified += other.notified
            deliveries += other.deliveries
            superseded.merge(other.superseded, uniquingKeysWith: +)
        }
    }

    /// Small enough that the next chunk is prepared while this one is written, large enough that a
    /// chunk's round trip and transaction cost little per event.
    static let chunkSize = 2_500

    /// A crossing not recorded yet, with the notice it would send: built once, for both the stored
    /// event and the plan.
    private struct Crossing: Sendable {
        let event: ThresholdEvent
        let ticket: EvaluatedTicket
        let notice: Notice
        var id: String { notice.eventID }
    }

    /// A chunk ready to be written: its new crossings, the plan that holds if all of them are new, and
    /// the statement's parameters.
    private struct Prepared: Sendable {
        var crossings: [Crossing] = []
        var planned = Outcome()
        var parameters: [PostgresParameter] = []
    }

    /// Records the crossings of `tickets` not recorded yet, with the deliveries they notify; a dry
    /// run writes nothing and says what it would have recorded.
    public func record(_ tickets: [EvaluatedTicket], now: Instant, dryRun: Bool) throws(StoreError) -> Outcome {
        try connection.run("recording events and their deliveries") {
            try record(tickets, now: now, dryRun: dryRun, on: $0)
        }
    }

    private func record(_ tickets: [EvaluatedTicket], now: Instant, dryRun: Bool, on connection: PostgresConnection)
        throws -> Outcome
    {
        var outcome = Outcome()
        // A dry run may look at a database slawatch never migrated: no events, no disabled channel yet.
        let migrated = try connection.query("SELECT to_regclass('slawatch.events') IS NOT NULL").rows[0].bool(0)
        let disabled = migrated ? try disabledChannels(on: connection) : [:]
        // The ids already recorded: most crossings of most tickets were seen by an earlier cycle,
        // and neither encoding their notices nor sending them to the server again is needed.
        let known = migrated ? try knownIDs(of: tickets, on: connection) : []
        let planner = Planner(rules: rules, now: now, disabled: disabled)
        let chunks = stride(from: 0, to: tickets.count, by: Self.chunkSize).map {
            Array(tickets[$0..<min($0 + Self.chunkSize, tickets.count)])
        }
        if dryRun {
            for chunk in chunks { outcome.add(try planner.prepare(chunk, known: known, encoded: false).planned) }
            return outcome
        }
        // Each chunk is prepared on a thread of its own while the one before is written: encoding,
        // planning and building arrays cost about as much as the server's work on them.
        func ahead(_ index: Int) -> Ahead<Result<Prepared, any Error>>? {
            guard index < chunks.count else { return nil }
            let chunk = chunks[index]
            return Ahead { Result { try planner.prepare(chunk, known: known, encoded: true) } }
        }
        var next = ahead(0)
        var index = 0
        while let current = next {
            let prepared = try current.take().get()
            index += 1
            next = ahead(index)
            if prepared.crossings.isEmpty { continue }
            try connection.transaction {
                // The supersede's estimate passes `jit_optimize_above_cost` when the table's statistics
                // predate a storm: compiling it took 0.9-1.4 s per chunk of 2,500, the statement 70 ms.
                try connection.execute("SET LOCAL jit = off")
                // Planned as if every crossing were new, and written in one statement. Another worker
                // may have recorded some since `known` was read (hence still ON CONFLICT); then the
                // plan is redone for the fresh ones alone. Choosing the latest crossing per route
                // gives the same answer on a subset whenever that crossing is in it, so what the
                // first statement queued is part of the new plan and only the rest is added.
                let taken = try insertEventsAndDeliveries(prepared, on: connection)
                guard !taken.isEmpty else {
                    outcome.add(prepared.planned)
                    outcome.superseded.merge(
                        try supersedeOlder(prepared.planned.notified, now: now, on: connection), uniquingKeysWith: +)
                    return
                }
                var fresh = Outcome()
                planner.collect(prepared.crossings.filter { !taken.contains($0.id) }, into: &fresh)
                if !fresh.notified.isEmpty {
                    try connection.query(
                        "UPDATE slawatch.events SET notified = true WHERE id = ANY($1)",
                        [.textArray(fresh.notified.map(\.0.eventID))])
                    try insertDeliveries(fresh.notified[...], now: now, on: connection)
                }
                outcome.add(fresh)
                outcome.superseded.merge(
                    try supersedeOlder(fresh.notified, now: now, on: connection), uniquingKeysWith: +)
            }
        }
        let stopped = tickets.filter { $0.reading.state == .stopped }.map(\.ticket.ticketID)
        if migrated && !stopped.isEmpty {
            outcome.superseded.merge(try supersedeStopped(stopped, now: now, on: connection), uniquingKeysWith: +)
        }
        return outcome
    }

    /// What is decided without the database: which crossings are new, what they notify, and the
    /// arrays that carry them to the server.
    private struct Planner: Sendable {
        let rules: RuleSet
        let now: Instant
        let disabled: [String: String]

        func prepare(_ tickets: [EvaluatedTicket], known: Set<String>, encoded: Bool) throws -> Prepared {
            var prepared = Prepared()
            for ticket in tickets {
                for event in EventDetector.crossings(of: ticket) where !known.contains(event.id) {
                    prepared.crossings.append(
                        Crossing(
                            event: event, ticket: ticket, notice: Notice(event: event, ticket: ticket, detectedAt: now))
                    )
                }
            }
            collect(prepared.crossings, into: &prepared.planned)
            if encoded && !prepared.crossings.isEmpty { prepared.parameters = try parameters(prepared) }
            return prepared
        }

        /// Chooses the deliveries of newly recorded events, one ticket at a time: ``DeliveryPlan``
        /// decides which of them each route notifies and what it delivers.
        func collect(_ fresh: [Crossing], into outcome: inout Outcome) {
            outcome.recorded += fresh.count
            var byTicket: [String: [Crossing]] = [:]
            var order: [String] = []
            for item in fresh {
                if byTicket[item.ticket.ticket.ticketID] == nil { order.append(item.ticket.ticket.ticketID) }
                byTicket[item.ticket.ticket.ticketID, default: []].append(item)
            }
            let plan = DeliveryPlan(rules: rules, disabled: disabled, now: now)
            for id in order {
                let items = byTicket[id]!
                for notification in plan.notifications(of: items.map(\.event), ticket: items[0].ticket) {
                    // The chosen event is one of `items`: its crossing carries the notice.
                    let crossing = items.first { $0.event == notification.event }!
                    outcome.deliveries += notification.deliveries.count
                    outcome.notified.append((crossing.notice, notification.deliveries))
                }
            }
        }

        /// The parameters of ``EventStore/insertEventsAndDeliveries(_:on:)``.
        func parameters(_ prepared: Prepared) throws -> [PostgresParameter] {
            let crossings = prepared.crossings
            // No sorted keys: jsonb keeps its own key order whatever the text's.
            let encoder = JSONEncoder()
            let notices = try crossings.map { String(decoding: try encoder.encode($0.notice), as: UTF8.self) }
            let notified = Set(prepared.planned.notified.map(\.0.eventID))
            return [
                .textArray(crossings.map(\.id)), .textArray(crossings.map { $0.ticket.ticket.ticketID }),
                .textArray(crossings.map { $0.ticket.ticket.code }),
                .textArray(crossings.map { $0.event.kind.rawValue }),
                .float8Array(crossings.map { $0.event.level }), .int8Array(crossings.map { $0.event.targetMicros }),
                .timestamptzArray(crossings.map { $0.event.crossedAt?.microseconds }), .textArray(notices),
                .timestamptz(now.microseconds), .boolArray(crossings.map { notified.contains($0.id) }),
                .string(now.iso8601),
            ]
                + EventStore.deliveryParameters(prepared.planned.notified[...])
        }
    }

    /// Inserts a chunk's events and, for those actually inserted, the deliveries planned for them, in
    /// one statement; returns the ids of the events that were already there.
    private func insertEventsAndDeliveries(_ prepared: Prepared, on connection: PostgresConnection) throws -> Set<
        String
    > {
        let result = try connection.query(
            """
            WITH fresh AS (
                INSERT INTO slawatch.events (id, ticket_id, ticket_code, kind, level, target_us, crossed_at, detected_at, notified, notice)
                SELECT u.id, u.ticket, u.code, u.kind, u.level, u.target, u.crossed, $9, u.notified, u.notice::jsonb
                FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $10)
                     AS u(id, ticket, code, kind, level, target, crossed, notice, notified)
                ON CONFLICT (id) DO NOTHING
                RETURNING id
            ), queued AS (
                \(Self.insertDeliveriesSQL(firstParameter: 12, now: 9, nowText: 11, where: "u.event IN (SELECT id FROM fresh)"))
            )
            SELECT c.id FROM unnest($1) AS c(id) WHERE c.id NOT IN (SELECT id FROM fresh)
            """,
            prepared.parameters)
        return Set(try result.rows.map { try $0.string(0) })
    }

    private func insertDeliveries(
        _ notified: ArraySlice<(Notice, [PlannedDelivery])>, now: Instant, on connection: PostgresConnection
    ) throws {
        guard notified.contains(where: { !$0.1.isEmpty }) else { return }
        try connection.query(
            Self.insertDeliveriesSQL(firstParameter: 3, now: 1, nowText: 2, where: "true"),
            [.timestamptz(now.microseconds), .string(now.iso8601)] + Self.deliveryParameters(notified))
    }

    /// The deliveries of `notified` as the eight arrays ``insertDeliveriesSQL(firstParameter:now:nowText:where:)``
    /// reads.
    private static func deliveryParameters(_ notified: ArraySlice<(Notice, [PlannedDelivery])>) -> [PostgresParameter] {
        var event: [String?] = []
        var route: [Int64?] = []
        var channel: [String?] = []
        var recipient: [String?] = []
        var group: [String?] = []
        var status: [String?] = []
        var due: [Int64?] = []
        var error: [String?] = []
        for (notice, planned) in notified {
            for d in planned {
                event.append(notice.eventID)
                route.append(Int64(d.route))
                channel.append(d.channel)
                recipient.append(d.recipient)
                group.append(d.groupKey)
                status.append(d.deadReason == nil ? "pending" : "dead")
                due.append(d.dueAt.microseconds)
                error.append(d.deadReason)
            }
        }
        return [
            .textArray(event), .int8Array(route), .textArray(channel), .textArray(recipient), .textArray(group),
            .textArray(status),
            .timestamptzArray(due), .textArray(error),
        ]
    }

    /// Inserts the deliveries whose arrays start at parameter `$first` (see ``deliveryParameters(_:)``)
    /// and satisfy `condition`, created at parameter `$now` (whose ISO 8601 text is `$nowText`, for
    /// the errors' JSON).
    private static func insertDeliveriesSQL(firstParameter first: Int, now: Int, nowText: Int, where condition: String)
        -> String
    {
        let p = (first..<first + 8).map { "$\($0)" }.joined(separator: ", ")
        return """
            INSERT INTO slawatch.deliveries (event_id, route, channel, recipient, group_key, status, created_at, due_at, last_error, errors)
            SELECT u.event, u.route, u.channel, u.recipient, u.grp, u.status, $\(now), u.due, u.error,
                   CASE WHEN u.error IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(jsonb_build_object('at', $\(nowText), 'error', u.error)) END
            FROM unnest(\(p)) AS u(event, route, channel, recipient, grp, status, due, error)
            WHERE \(condition)
            ON CONFLICT (event_id, route, channel, recipient, reminder) DO NOTHING
            """
    }

    /// Marks `superseded` the deliveries not sent yet, and not held by a worker, of the tickets of
    /// `notified` whose ticket now has a later event going to the same channel and recipient
    /// (README, 'Superseding'): the reason names the delivery that replaces it. In the transaction
    /// that wrote the new deliveries, so that no worker sees both. Returns the count by channel.
    private func supersedeOlder(
        _ notified: [(Notice, [PlannedDelivery])], now: Instant, on connection: PostgresConnection
    ) throws -> [String: Int] {
        let events = notified.filter { !$0.1.isEmpty }.map(\.0.eventID)
        guard !events.isEmpty else { return [:] }
        var counts: [String: Int] = [:]
        // The worker's lease is compared with the claim's own clock, `now`: a delivery claimed
        // and on its way is left alone (its next claim, if it fails, supersedes it then).
        // It starts from the new events and their tickets' other events, by index, and looks
        // deliveries up by event only for those (OFFSET 0 keeps the planner from flattening the
        // look-ups into joins): most new events are their ticket's only one, and a storm's chunk
        // then costs two index probes per event. Joined from the deliveries, without statistics
        // the planner paired every pending delivery of a channel and recipient with every new one
        // (past the statement timeout in a 10,000-webhook storm), and with them it still took
        // 0.5-0.9 s per 2,500 events, which held back every delivery of the storm. The events too are
        // looked up one by one from the array, each by index (OFFSET 0 again): with the table's
        // statistics from before the storm, a filter `id = ANY(...)` on a scan of the events compared
        // every event with every element, and a join planned freely scanned every event and probed
        // the new ones by ticket, up to 1.4 s and 1 s per chunk of 2,500 in a 10,000-webhook storm.
        let rows = try connection.query(
            """
            WITH stale AS (
                SELECT DISTINCT ON (o.id) o.id, n.id AS later,
                       'superseded by delivery ' || n.id || ': a later event of the ticket (' || ne.kind
                           || ') goes to the same channel and recipient' AS reason
                FROM unnest($1::text[]) AS x(id)
                CROSS JOIN LATERAL (
                    SELECT e.id, e.ticket_id, e.kind, e.crossed_at, e.detected_at FROM slawatch.events e
                    WHERE e.id = x.id OFFSET 0) ne
                CROSS JOIN LATERAL (
                    SELECT e.id, e.crossed_at, e.detected_at FROM slawatch.events e
                    WHERE e.ticket_id = ne.ticket_id AND e.id <> ne.id OFFSET 0) oe
                CROSS JOIN LATERAL (
                    SELECT nd.id, nd.channel, nd.recipient FROM slawatch.deliveries nd WHERE nd.event_id = ne.id
                    OFFSET 0) n
                CROSS JOIN LATERAL (
                    SELECT od.id FROM slawatch.deliveries od
                    WHERE od.event_id = oe.id AND od.channel = n.channel AND od.recipient = n.recipient
                      AND od.status IN ('pending', 'failed')
                    OFFSET 0) o
                WHERE (COALESCE(ne.crossed_at, ne.detected_at), ne.detected_at, n.id)
                      > (COALESCE(oe.crossed_at, oe.detected_at), oe.detected_at, o.id)
                ORDER BY o.id, COALESCE(ne.crossed_at, ne.detected_at) DESC, ne.detected_at DESC, n.id DESC
            )
            UPDATE slawatch.deliveries d
            SET status = 'superseded', superseded_by = s.later, last_error = s.reason,
                errors = d.errors || jsonb_build_array(jsonb_build_object('at', $3, 'error', s.reason))
            FROM stale s
            WHERE d.id = s.id AND d.status IN ('pending', 'failed')
              AND (d.claimed_by IS NULL OR d.claimed_until IS NULL OR d.claimed_until < $2)
            RETURNING d.channel
            """,
            [.textArray(events), .timestamptz(now.microseconds), .string(now.iso8601)])
        for row in rows.rows { counts[try row.string(0), default: 0] += 1 }
        return counts
    }

    /// Marks `superseded` the deliveries not sent yet, and not held by a worker, of the tickets
    /// `stopped` (README, 'Superseding'), except `sla.met_after_breach`: a warning about a resolved
    /// ticket is noise. A worker that claims one of them later supersedes it too (it looks at the
    /// ticket's stored clock), so this only says so sooner. Returns the count by channel.
    private func supersedeStopped(_ stopped: [String], now: Instant, on connection: PostgresConnection) throws
        -> [String: Int]
    {
        // Most cycles have nothing unsent: then the stopped tickets (all of them, in a first full
        // pass) are not even sent to the server.
        let unsent = try connection.query(
            "SELECT EXISTS (SELECT 1 FROM slawatch.deliveries WHERE status IN ('pending', 'failed'))"
        ).rows[0].bool(0)
        guard unsent else { return [:] }
        var counts: [String: Int] = [:]
        let rows = try connection.query(
            """
            WITH unsent AS MATERIALIZED (
                SELECT d.id, e.ticket_id FROM slawatch.deliveries d JOIN slawatch.events e ON e.id = d.event_id
                WHERE d.status IN ('pending', 'failed') AND e.kind <> 'sla.met_after_breach'
            )
            UPDATE slawatch.deliveries d
            SET status = 'superseded', last_error = 'superseded: the ticket has stopped since',
                errors = d.errors || jsonb_build_array(
                    jsonb_build_object('at', $3, 'error', 'superseded: the ticket has stopped since'))
            FROM unsent u JOIN unnest($1::text[]) AS s(ticket) ON s.ticket = u.ticket_id
            WHERE d.id = u.id AND d.status IN ('pending', 'failed')
              AND (d.claimed_by IS NULL OR d.claimed_until IS NULL OR d.claimed_until < $2)
            RETURNING d.channel
            """,
            [.textArray(stopped), .timestamptz(now.microseconds), .string(now.iso8601)])
        for row in rows.rows { counts[try row.string(0), default: 0] += 1 }
        return counts
    }

    /// Recorded event ids of `tickets`: all of them at once when that is most of the table.
    private func knownIDs(of tickets: [EvaluatedTicket], on connection: PostgresConnection) throws -> Set<String> {
        var ids = Set<String>()
        let sql: String
        var parameters: [PostgresParameter] = []
        if tickets.count > 20_000 {
            sql = "SELECT id FROM slawatch.events"
        } else {
            sql = "SELECT id FROM slawatch.events WHERE ticket_id = ANY($1)"
            parameters = [.textArray(tickets.map(\.ticket.ticketID))]
        }
        try connection.forEachRow(sql, parameters) { row in ids.insert(try row.string(0)) }
        return ids
    }

    /// The channels disabled (by a 410), with the reason.
    public func disabledChannels() throws(StoreError) -> [String: String] {
        try connection.run("reading the disabled channels") { try disabledChannels(on: $0) }
    }

    private func disabledChannels(on connection: PostgresConnection) throws -> [String: String] {
        var result: [String: String] = [:]
        for row in try connection.query(
            "SELECT channel, reason FROM slawatch.channel_state WHERE disabled_at IS NOT NULL"
        ).rows {
            result[try row.string(0)] = try row.optionalString(1) ?? "disabled"
        }
        return result
    }

    /// Queues the next reminder of every sent notification whose route sets `repeat`, when the
    /// route's interval has passed since it was sent and its ticket is still breached or at risk
    /// and not stopped (`active`), and no later event of the same ticket went to the same place.
    /// The reminder number is part of the delivery's unique key, so each reminder is queued once.
    public func queueReminders(activeTickets: [String], now: Instant) throws(StoreError) -> Int {
        try connection.run("queueing reminders") { try queueReminders(activeTickets: activeTickets, now: now, on: $0) }
    }

    private func queueReminders(activeTickets: [String], now: Instant, on connection: PostgresConnection) throws -> Int
    {
        var queued = 0
        for (index, route) in rules.routes.enumerated() {
            guard let every = route.repeatMicros, !activeTickets.isEmpty else { continue }
            queued += try connection.query(
                """
                INSERT INTO slawatch.deliveries (event_id, route, channel, recipient, group_key, status, created_at, due_at, reminder)
                SELECT d.event_id, d.route, d.channel, d.recipient, d.group_key || ' reminder ' || (d.reminder + 1),
                       'pending', $3, $3, d.reminder + 1
                FROM slawatch.deliveries d JOIN slawatch.events e ON e.id = d.event_id
                WHERE d.route = $1 AND d.status = 'sent' AND d.sent_at + make_interval(secs => $2) <= $3
                  AND e.ticket_id = ANY($4)
                  AND NOT EXISTS (
                      SELECT 1 FROM slawatch.deliveries n
                      WHERE n.event_id = d.event_id AND n.route = d.route AND n.channel = d.channel
                        AND n.recipient = d.recipient AND n.reminder > d.reminder)
                  AND NOT EXISTS (
                      SELECT 1 FROM slawatch.deliveries l JOIN slawatch.events le ON le.id = l.event_id
                      WHERE le.ticket_id = e.ticket_id AND l.route = d.route AND l.channel = d.channel
                        AND l.recipient = d.recipient AND le.detected_at > e.detected_at)
                ON CONFLICT (event_id, route, channel, recipient, reminder) DO NOTHING
                """,
                [
                    .int8(Int64(index)), .float8(Double(every) / 1_000_000), .timestamptz(now.microseconds),
                    .textArray(activeTickets),
                ]
            ).affectedRows
        }
        return queued
    }

}

/// Work started on a thread of its own, whose result the caller takes when it needs it: meanwhile
/// the caller waits on the database. A plain thread, not a task: the caller is synchronous, and
/// blocking it on a task of the cooperative pool could starve that task of a thread.
private final class Ahead<Value: Sendable>: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let result = Mutex<Value?>(nil)

    init(_ work: @escaping @Sendable () -> Value) {
        let thread = Thread { [self] in
            let value = work()
            result.withLock { $0 = value }
            done.signal()
        }
        thread.start()
    }

    /// Waits for the result; once.
    func take() -> Value {
        done.wait()
        return result.withLock { $0.take()! }
    }
}
