import PostgresClient
import SlawatchCore

/// The runs of scheduled reports and their deliveries.
///
/// A report is armed at the first cycle that sees it; each scheduled instant becomes one row of
/// `slawatch.report_runs` (sent, skipped, or a manual run that a scheduled one may take over), and
/// the row is claimed by inserting it, so that no two workers send the same run.
public struct ReportStore {
    let connection: StoreConnection

    public init(connection: StoreConnection) { self.connection = connection }

    /// When `report` was armed (nil: never seen by a worker) and its latest scheduled run, sent or
    /// skipped.
    public func marks(of report: String) throws(StoreError) -> (armed: Instant?, lastScheduled: Instant?) {
        try connection.run("reading the runs of report \(report)") {
            let row = try $0.query(
                """
                SELECT (SELECT armed_at FROM slawatch.report_state WHERE report = $1),
                       (SELECT max(scheduled_at) FROM slawatch.report_runs WHERE report = $1 AND status <> 'manual')
                """, [.string(report)]
            ).rows[0]
            return (
                try row.optionalTimestamp(0).map(Instant.init(microseconds:)),
                try row.optionalTimestamp(1).map(Instant.init(microseconds:))
            )
        }
    }

    /// Arms `report` at `now` unless it is armed already; returns when it was armed.
    public func arm(_ report: String, now: Instant) throws(StoreError) -> Instant {
        try connection.run("arming report \(report)") {
            Instant(
                microseconds: try $0.query(
                    """
                    INSERT INTO slawatch.report_state (report, armed_at) VALUES ($1, $2)
                    ON CONFLICT (report) DO UPDATE SET armed_at = slawatch.report_state.armed_at RETURNING armed_at
                    """, [.string(report), .timestamptz(now.microseconds)]
                ).rows[0].timestamp(0))
        }
    }

    /// The latest scheduled run of `report`, sent or skipped.
    public func lastScheduledRun(of report: String) throws(StoreError) -> Instant? {
        try connection.run("reading the runs of report \(report)") {
            try $0.query(
                "SELECT max(scheduled_at) FROM slawatch.report_runs WHERE report = $1 AND status <> 'manual'",
                [.string(report)]
            ).rows[0].optionalTimestamp(0).map(Instant.init(microseconds:))
        }
    }

    /// Records the runs of `report` at `instants` as skipped, with `note`; runs already recorded stay.
    public func recordSkipped(_ report: String, _ instants: [Instant], note: String, now: Instant) throws(StoreError) {
        try connection.run("recording skipped runs of report \(report)") {
            try $0.query(
                """
                INSERT INTO slawatch.report_runs (report, scheduled_at, status, recorded_at, note)
                SELECT $1, u.at, 'skipped', $3, $4 FROM unnest($2) AS u(at)
                ON CONFLICT (report, scheduled_at) DO NOTHING
                """,
                [
                    .string(report), .timestamptzArray(instants.map(\.microseconds)), .timestamptz(now.microseconds),
                    .string(note),
                ])
        }
    }

    /// Claims the run of `report` scheduled at `scheduledAt` as sent: true when this call took it
    /// (no row yet, or a manual run's row), false when another worker did.
    public func claimRun(_ report: String, scheduledAt: Instant, now: Instant) throws(StoreError) -> Bool {
        try connection.run("claiming the run of report \(report)") {
            try $0.query(
                """
                INSERT INTO slawatch.report_runs (report, scheduled_at, status, recorded_at) VALUES ($1, $2, 'sent', $3)
                ON CONFLICT (report, scheduled_at) DO UPDATE SET status = 'sent', recorded_at = EXCLUDED.recorded_at
                    WHERE slawatch.report_runs.status = 'manual'
                RETURNING report
                """, [.string(report), .timestamptz(scheduledAt.microseconds), .timestamptz(now.microseconds)]
            ).rowCount == 1
        }
    }

    /// Records a run of `report` sent by hand at `at` (`slawatch report --send`), unless one is
    /// recorded for that instant already.
    public func recordManualRun(_ report: String, at: Instant) throws(StoreError) {
        try connection.run("recording the manual run of report \(report)") {
            try $0.query(
                """
                INSERT INTO slawatch.report_runs (report, scheduled_at, status, recorded_at, note)
                VALUES ($1, $2, 'manual', $2, 'slawatch report --send')
                ON CONFLICT (report, scheduled_at) DO NOTHING
                """, [.string(report), .timestamptz(at.microseconds)])
        }
    }

    /// Queues one delivery of a report rendered for `channel` and `recipient` (`payloadJSON`, a
    /// `ReportPayload`), unless one with the same group key exists; returns how many it queued (0
    /// or 1).
    public func queueDelivery(
        report: String, scheduledAt: Instant, channel: String, recipient: String, groupKey: String, payloadJSON: String,
        now: Instant
    ) throws(StoreError) -> Int {
        try connection.run("queueing a delivery of report \(report)") {
            try $0.query(
                """
                INSERT INTO slawatch.deliveries (event_id, route, channel, recipient, group_key, status, created_at, due_at, report,
                                                 report_scheduled_at, payload)
                VALUES (NULL, -1, $1, $2, $3, 'pending', $4, $4, $5, $6, $7::jsonb)
                ON CONFLICT DO NOTHING
                """,
                [
                    .string(channel), .string(recipient), .string(groupKey), .timestamptz(now.microseconds),
                    .string(report),
                    .timestamptz(scheduledAt.microseconds), .string(payloadJSON),
                ]
            ).affectedRows
        }
    }
}
