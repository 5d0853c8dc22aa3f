import PostgresClient
import SlawatchCore

/// slawatch's own schema, `slawatch`: versioned migrations, each applied once, plus the rules
/// compiled into tables and the dashboard function, installed again whenever either changed.
///
/// Every statement is idempotent and the whole run holds an advisory lock, so that two
/// `migrate`s at once, or a `migrate` run twice, change nothing the second time.
public enum Schema {
    /// Ordered; a migration is never edited once released, only followed by a new one.
    static let migrations: [(version: Int, sql: String)] = [
        (
            1,
            """
            CREATE TABLE IF NOT EXISTS slawatch.calendars (
                name text PRIMARY KEY,
                always boolean NOT NULL,
                definition jsonb NOT NULL,
                covered_from_us bigint NOT NULL,
                covered_to_us bigint NOT NULL
            );
            CREATE TABLE IF NOT EXISTS slawatch.calendar_intervals (
                calendar text NOT NULL REFERENCES slawatch.calendars(name) ON DELETE CASCADE,
                starts_us bigint NOT NULL,
                ends_us bigint NOT NULL,
                working_before_us bigint NOT NULL,
                PRIMARY KEY (calendar, starts_us)
            );
            CREATE TABLE IF NOT EXISTS slawatch.policies (
                position int PRIMARY KEY,
                name text NOT NULL UNIQUE,
                calendar text NOT NULL REFERENCES slawatch.calendars(name),
                when_filter jsonb,
                targets jsonb NOT NULL,
                pause_statuses text[] NOT NULL,
                stop_statuses text[] NOT NULL,
                warn_at double precision[] NOT NULL
            );
            """
        ),
        (
            2,
            """
            CREATE TABLE IF NOT EXISTS slawatch.events (
                id text PRIMARY KEY,
                ticket_id text NOT NULL,
                ticket_code text NOT NULL,
                kind text NOT NULL,
                level double precision NOT NULL,
                target_us bigint NOT NULL,
                crossed_at timestamptz,
                detected_at timestamptz NOT NULL,
                notified boolean NOT NULL,
                notice jsonb NOT NULL
            );
            CREATE INDEX IF NOT EXISTS events_detected_at ON slawatch.events (detected_at);
            CREATE INDEX IF NOT EXISTS events_ticket ON slawatch.events (ticket_id);
            CREATE TABLE IF NOT EXISTS slawatch.deliveries (
                id bigserial PRIMARY KEY,
                event_id text REFERENCES slawatch.events (id),
                route int NOT NULL,
                channel text NOT NULL,
                recipient text NOT NULL,
                group_key text NOT NULL,
                status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'dead')),
                attempts int NOT NULL DEFAULT 0,
                created_at timestamptz NOT NULL,
                due_at timestamptz NOT NULL,
                claimed_by text,
                claimed_until timestamptz,
                sent_at timestamptz,
                last_error text,
                errors jsonb NOT NULL DEFAULT '[]',
                reminder int NOT NULL DEFAULT 0,
                UNIQUE (event_id, route, channel, recipient, reminder)
            );
            CREATE INDEX IF NOT EXISTS deliveries_due ON slawatch.deliveries (due_at) WHERE status IN ('pending', 'failed');
            CREATE TABLE IF NOT EXISTS slawatch.channel_state (
                channel text PRIMARY KEY,
                disabled_at timestamptz,
                reason text
            );
            CREATE TABLE IF NOT EXISTS slawatch.unmatched_tickets (
                ticket_id text PRIMARY KEY,
                code text NOT NULL,
                reason text NOT NULL,
                first_seen timestamptz NOT NULL
            );
            CREATE TABLE IF NOT EXISTS slawatch.workers (
                worker text PRIMARY KEY,
                started_at timestamptz NOT NULL,
                heartbeat_at timestamptz NOT NULL,
                evaluating boolean NOT NULL DEFAULT false
            );
            """
        ),
        (
            3,
            """
            CREATE TABLE IF NOT EXISTS slawatch.report_state (
                report text PRIMARY KEY,
                armed_at timestamptz NOT NULL
            );
            CREATE TABLE IF NOT EXISTS slawatch.report_runs (
                report text NOT NULL,
                scheduled_at timestamptz NOT NULL,
                status text NOT NULL CHECK (status IN ('sent', 'skipped', 'manual')),
                recorded_at timestamptz NOT NULL,
                note text,
                PRIMARY KEY (report, scheduled_at)
            );
            ALTER TABLE slawatch.deliveries ADD COLUMN IF NOT EXISTS report text;
            ALTER TABLE slawatch.deliveries ADD COLUMN IF NOT EXISTS report_scheduled_at timestamptz;
            ALTER TABLE slawatch.deliveries ADD COLUMN IF NOT EXISTS payload jsonb;
            CREATE UNIQUE INDEX IF NOT EXISTS deliveries_report_once
                ON slawatch.deliveries (report, report_scheduled_at, group_key) WHERE report IS NOT NULL;
            """
        ),
        (
            4,
            """
            CREATE TABLE IF NOT EXISTS slawatch.clocks (
                ticket_id text PRIMARY KEY,
                policy text NOT NULL,
                calendar text NOT NULL,
                target_us bigint NOT NULL,
                sla_horas double precision NOT NULL,
                running boolean NOT NULL,
                stopped boolean NOT NULL,
                elapsed_us bigint NOT NULL,
                base_us bigint NOT NULL,
                evaluated_us bigint NOT NULL,
                source_updated_us bigint NOT NULL,
                source_status text NOT NULL,
                source_priority text NOT NULL,
                next_crossing_us bigint,
                risk_us bigint
            );
            CREATE INDEX IF NOT EXISTS clocks_next_crossing ON slawatch.clocks (next_crossing_us) WHERE next_crossing_us IS NOT NULL;
            CREATE TABLE IF NOT EXISTS slawatch.worker_state (
                key text PRIMARY KEY,
                value_us bigint NOT NULL
            );
            """
        ),
        // A full pass merges the stored clocks with the source in id order, as bytes: under the
        // "C" collation the primary key's index yields that order without a sort.
        (
            5,
            """
            ALTER TABLE slawatch.clocks ALTER COLUMN ticket_id TYPE text COLLATE "C";
            """
        ),
        // An incremental cycle reads the clocks stored for recently updated tickets as a range.
        (
            6,
            """
            CREATE INDEX IF NOT EXISTS clocks_source_updated ON slawatch.clocks (source_updated_us);
            """
        ),
        // The versions an incremental cycle has seen are kept as one value of worker_state (see
        // EvaluatedVersions), which costs less than reading them from the clocks; without that
        // range read the index only slows every clock write.
        (
            7,
            """
            ALTER TABLE slawatch.worker_state ADD COLUMN IF NOT EXISTS bytes bytea;
            DROP INDEX IF EXISTS slawatch.clocks_source_updated;
            """
        ),
        // Folding and superseding: the message that carried each delivery, and a delivery not sent
        // because a later event of its ticket, or the ticket's stop, made it stale.
        (
            8,
            """
            ALTER TABLE slawatch.deliveries ADD COLUMN IF NOT EXISTS message_id text;
            ALTER TABLE slawatch.deliveries ADD COLUMN IF NOT EXISTS superseded_by bigint;
            ALTER TABLE slawatch.deliveries DROP CONSTRAINT IF EXISTS deliveries_status_check;
            ALTER TABLE slawatch.deliveries ADD CONSTRAINT deliveries_status_check
                CHECK (status IN ('pending', 'sent', 'failed', 'dead', 'superseded'));
            """
        ),
        // What the HTTP API's list needs to filter and sort on clocks in SQL (ClockedTicketQuery): the
        // due instant when it is fixed (due_moves false; NULL: the calendar never reaches it), or that it
        // is the remaining working time after the request's instant (due_moves true, a halted clock
        // below its target); due_moves NULL: not known, the engine computes that ticket. The elapsed
        // time from which a running clock is at risk (NULL: its policy has no warning).
        (
            9,
            """
            ALTER TABLE slawatch.clocks ADD COLUMN IF NOT EXISTS due_us bigint;
            ALTER TABLE slawatch.clocks ADD COLUMN IF NOT EXISTS due_moves boolean;
            ALTER TABLE slawatch.clocks ADD COLUMN IF NOT EXISTS risk_level_us bigint;
            """
        ),
    ]

    /// Creates or upgrades the schema and compiles `rules` into it, in one transaction without a
    /// statement timeout (a migration of a large help desk may take long).
    public static func migrate(_ connection: StoreConnection, rules: RuleSet, now: Instant) throws(StoreError) {
        do {
            try connection.transaction {
                try connection.setStatementTimeout(milliseconds: 0, local: true)
                try connection.run("migrating the slawatch schema") { connection in
                    try connection.execute("SELECT pg_advisory_xact_lock(7361726)")  // 'sla' — one migrate at a time
                    try connection.execute(
                        """
                        CREATE SCHEMA IF NOT EXISTS slawatch;
                        CREATE TABLE IF NOT EXISTS slawatch.schema_migrations (
                            version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
                        """)
                    let applied = Set(
                        try connection.query("SELECT version FROM slawatch.schema_migrations").rows.map {
                            try $0.int(0)
                        })
                    for migration in migrations where !applied.contains(migration.version) {
                        try connection.execute(migration.sql)
                        try connection.query(
                            "INSERT INTO slawatch.schema_migrations(version) VALUES ($1)",
                            [PostgresParameter(migration.version)])
                    }
                }
                try CompiledRules.store(rules, connection, now: now)
            }
        } catch {
            throw StoreError.from(error, doing: "migrating the slawatch schema")
        }
    }

    /// How many migrations this version of slawatch knows.
    public static var migrationCount: Int { migrations.count }
}
