import Foundation
import PostgresClient
import SlawatchCore
import Testing

@testable import SlawatchStore

/// A read of a whole view runs without the statement timeout and sets it back; a read of a few
/// rows keeps it.
@Suite struct StatementTimeoutTests {
    @Test func aWholeViewIsReadPastTheTimeoutAndTheTimeoutComesBack() async throws {
        let db = try StoreTestDatabase()
        // Each row of the views costs 60 ms, longer than the 50 ms timeout.
        try db.connect().execute(
            """
            CREATE FUNCTION public.slowly(v text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.06); RETURN v; END $$;
            CREATE SCHEMA slawatch_source;
            CREATE VIEW slawatch_source.tickets AS
            SELECT ('00000000-0000-0000-0000-00000000000' || g)::uuid AS ticket_id, 'T-' || g AS code, 'título' AS title,
                   NULL::text AS category, NULL::text AS requester_email, public.slowly('ABIERTO') AS status, 'ALTA' AS priority,
                   NULL::text AS area, NULL::text AS area_manager_email, timestamptz '2026-03-24 10:00:00+00' AS created_at,
                   timestamptz '2026-03-24 10:00:00+00' AS updated_at
            FROM generate_series(1, 3) g;
            CREATE VIEW slawatch_source.status_changes AS
            SELECT ('00000000-0000-0000-0000-00000000000' || g)::uuid AS ticket_id, public.slowly('ABIERTO') AS status,
                   timestamptz '2026-03-24 10:00:00+00' AS changed_at
            FROM generate_series(1, 3) g;
            """)
        let pool = DatabasePool(settings: ConnectionSettings(url: db.url, statementTimeoutMilliseconds: 50), size: 1)
        let (tickets, changes, after) = try await pool.withConnection { connection in
            let source = try SourceRepository(connection: connection, rules: .empty)
            let tickets = try source.tickets()
            let changes = try source.statusChanges()
            let after = try connection.run("SHOW") { try $0.query("SHOW statement_timeout").rows[0].string(0) }
            return (tickets, changes, after)
        }
        #expect(tickets.count == 3 && changes.count == 3 && after == "50ms")
        do {
            _ = try await pool.withConnection {
                try SourceRepository(connection: $0, rules: .empty).tickets(code: "T-1")
            }
            Issue.record("a read by code outlived the timeout")
        } catch let error as StoreError {
            #expect(error.code == .timeout, "\(error.messageWithDetail)")
        }
    }
}
