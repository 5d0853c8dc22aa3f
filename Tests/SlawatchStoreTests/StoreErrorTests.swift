import Foundation
import PostgresClient
import Testing

@testable import SlawatchStore

/// What a failure of the store says, and what it keeps apart.
@Suite struct StoreErrorTests {
    @Test func aRefusedConnectionIsUnavailable() async throws {
        let pool = DatabasePool(
            settings: ConnectionSettings(url: "postgresql://slawatch:secreto@127.0.0.1:1/x"), size: 1)
        do {
            try await pool.withConnection { _ in }
            Issue.record("connected to port 1")
        } catch let error as StoreError {
            #expect(error.code == .unavailable)
            #expect(
                error.message.contains("cannot connect to PostgreSQL (postgresql://slawatch:***@127.0.0.1:1/x)"),
                "\(error.message)")
            #expect(!error.message.contains("secreto") && !(error.serverDetail ?? "").contains("secreto"))
            #expect(
                error.serverDetail?.contains("refused") == true || error.serverDetail?.contains("connect") == true,
                "\(error)")
            #expect("\(error)" == error.message)
        }
    }

    @Test func badSQLIsAFailedQueryWhoseMessageLeavesOutTheServersText() async throws {
        let db = try StoreTestDatabase()
        let pool = DatabasePool(settings: db.settings, size: 1)
        do {
            _ = try await pool.withConnection { connection in
                try connection.run("reading the nowhere table") { try $0.query("SELECT nope FROM nowhere") }
            }
            Issue.record("the query succeeded")
        } catch let error as StoreError {
            #expect(error.code == .queryFailed && error.sqlState == "42P01")
            #expect(error.message == "reading the nowhere table failed")
            #expect(!error.message.contains("nowhere\" does not exist") && !error.message.contains("ERROR"))
            #expect(
                error.serverDetail?.contains("relation \"nowhere\" does not exist") == true,
                "\(String(describing: error.serverDetail))")
            #expect(
                error.messageWithDetail.hasPrefix("reading the nowhere table failed: ")
                    && error.messageWithDetail.contains("nowhere"))
        }
        // The connection is fine after a failed statement.
        #expect(try await pool.withConnection { try $0.run("one") { try $0.query("SELECT 1").rows[0].int(0) } } == 1)
        #expect(pool.counts.replaced == 0)
    }

    @Test func aStatementPastItsTimeoutIsATimeout() async throws {
        let db = try StoreTestDatabase()
        let pool = DatabasePool(settings: ConnectionSettings(url: db.url, statementTimeoutMilliseconds: 100), size: 1)
        do {
            _ = try await pool.withConnection { connection in
                try connection.run("waiting") { try $0.query("SELECT pg_sleep(5)") }
            }
            Issue.record("the statement was not cut")
        } catch let error as StoreError {
            #expect(error.code == .timeout && error.sqlState == "57014", "\(error.messageWithDetail)")
            #expect(error.message.contains("waiting"))
        }
    }

    @Test func unexpectedDataNamesTheColumn() async throws {
        let db = try StoreTestDatabase()
        let pool = DatabasePool(settings: db.settings, size: 1)
        do {
            _ = try await pool.withConnection { connection in
                try connection.run("reading a number") { try $0.query("SELECT 'x'::text AS label").rows[0].int(0) }
            }
            Issue.record("text read as an integer")
        } catch let error as StoreError {
            #expect(error.code == .unexpectedData && error.message.contains("\"label\""), "\(error.message)")
            #expect(error.serverDetail == nil)
        }
    }

    @Test func aViewWithoutARequiredColumnIsUnexpectedDataNamingIt() async throws {
        let db = try StoreTestDatabase()
        try db.connect().execute(
            """
            CREATE SCHEMA slawatch_source;
            CREATE VIEW slawatch_source.tickets AS SELECT gen_random_uuid() AS ticket_id, 'T-1'::text AS code, 'x'::text AS title;
            CREATE VIEW slawatch_source.status_changes AS SELECT gen_random_uuid() AS ticket_id, 'A'::text AS status, now() AS changed_at;
            """)
        let pool = DatabasePool(settings: db.settings, size: 1)
        do {
            _ = try await pool.withConnection { try SourceRepository(connection: $0, rules: .empty) }
            Issue.record("a view without its columns was accepted")
        } catch let error as StoreError {
            #expect(
                error.code == .unexpectedData && error.message.contains("has no column category"), "\(error.message)")
        }
    }
}
