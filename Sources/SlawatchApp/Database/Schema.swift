import PostgresClient
import SlawatchCore

/// slawatch's own schema, `slawatch`: versioned migrations, each applied once, plus the rules
/// compiled into tables and the dashboard function, refreshed on every `migrate`.
///
/// Every statement is idempotent and the whole run holds an advisory lock, so that two
/// `migrate`s at once, or a `migrate` run twice, change nothing the second time.
enum Schema {
    /// Ordered; a migration is never edited once released, only followed by a new one.
    static let migrations: [(version: Int, sql: String)] = [
        (1, """
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
        """),
    ]

    static func migrate(_ connection: PostgresConnection, rules: RuleSet, now: Instant) throws(CommandError) {
        do {
            try connection.transaction {
                try connection.execute("SELECT pg_advisory_xact_lock(7361726)")  // 'sla' — one migrate at a time
                try connection.execute("""
                    CREATE SCHEMA IF NOT EXISTS slawatch;
                    CREATE TABLE IF NOT EXISTS slawatch.schema_migrations (
                        version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
                    """)
                let applied = Set(try connection.query("SELECT version FROM slawatch.schema_migrations").rows.map { try $0.int(0) })
                for migration in migrations where !applied.contains(migration.version) {
                    try connection.execute(migration.sql)
                    try connection.query("INSERT INTO slawatch.schema_migrations(version) VALUES ($1)", [PostgresParameter(migration.version)])
                }
                try connection.execute(DashboardFunction.helpersSQL)
                try connection.execute(DashboardFunction.sql(views: rules.source))
                try CompiledRules.store(rules, connection, now: now)
            }
        } catch let error as CommandError {
            throw error
        } catch let error as PostgresError where error.code == .connectionFailed {
            throw CommandError(.databaseUnreachable, error.message)
        } catch {
            throw .runtime("migrate failed: \(error)")
        }
    }
}
