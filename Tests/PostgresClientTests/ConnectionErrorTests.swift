import LoopbackSinks
import PostgresClient
import Testing

/// `PostgresConnection` against the real test server: each kind of failure comes back as its
/// `PostgresError` code with a message for a person, and the connection stays usable after it.
@Suite struct ConnectionErrorTests {
    static func failure(_ body: () throws -> Void) -> PostgresError? {
        do { try body() } catch let error as PostgresError { return error } catch {
            Issue.record("not a PostgresError: \(error)")
        }
        return nil
    }

    /// The connection answers a plain query, so whatever failed before left it clean.
    static func expectUsable(_ connection: PostgresConnection, sourceLocation: SourceLocation = #_sourceLocation) throws
    {
        #expect(
            try connection.query("SELECT $1::int + 1", [.text("41")]).rows[0].int(0) == 42,
            sourceLocation: sourceLocation)
        #expect(connection.isHealthy, sourceLocation: sourceLocation)
    }

    @Test func aRefusedConnectionIsConnectionFailedAndItsPasswordsAreNotShown() throws {
        let closed = try ClosedPort()
        let secret = "s3cret-pw"
        let cases = [
            (
                "postgresql://slawatch:\(secret)@127.0.0.1:\(closed.port)/postgres",
                "postgresql://slawatch:***@127.0.0.1:\(closed.port)/postgres"
            ),
            (
                "postgresql://slawatch@127.0.0.1:\(closed.port)/postgres?password=\(secret)&sslpassword=\(secret)x&connect_timeout=5",
                "postgresql://slawatch@127.0.0.1:\(closed.port)/postgres?password=***&sslpassword=***&connect_timeout=5"
            ),
            ("postgresql://slawatch@127.0.0.1:\(closed.port)/postgres?pass%77ord=\(secret)", "?pass%77ord=***"),
            // libpq reads user information up to the first "@" before any "/": a "?" does not end it.
            (
                "postgresql://slawatch:\(secret)?x@127.0.0.1:\(closed.port)/postgres",
                "postgresql://slawatch:***@127.0.0.1"
            ),
            ("host=127.0.0.1 port=\(closed.port) user=slawatch password=\(secret)", "(conninfo)"),
        ]
        for (url, shown) in cases {
            let error = Self.failure { _ = try PostgresConnection(url: url) }
            #expect(error?.code == .connectionFailed, "\(url)")
            #expect(error?.message.contains(secret) == false, "\(String(describing: error))")
            #expect(error?.message.contains(shown) == true, "\(String(describing: error))")
            #expect(error?.message.contains("\(closed.port)") == true, "\(String(describing: error))")
        }
    }

    /// A server restarted under a connection: the first call after it reports the lost session,
    /// and every later one fails inside libpq with "no connection to the server" and no result.
    /// Both are `connectionFailed`, which the worker retries after reconnecting; as `queryFailed`
    /// the later ones made a worker's evaluation stop for good after `pg_ctl restart`.
    @Test func callsOnALostConnectionAreConnectionFailed() throws {
        let lost = try TestServer.connect()
        let pid = try lost.query("SELECT pg_backend_pid()").rows[0].int(0)
        let other = try TestServer.connect()
        #expect(try other.query("SELECT pg_terminate_backend($1::int)", [.text(String(pid))]).rows[0].bool(0))
        let first = Self.failure { try lost.query("SELECT 1") }
        #expect(first?.code == .connectionFailed, "\(String(describing: first))")
        #expect(!lost.isHealthy)
        let calls: [(String, () throws -> Void)] = [
            ("query", { try lost.query("SELECT $1::int", [.text("1")]) }),
            ("execute", { try lost.execute("SELECT 1") }),
            ("copyIn", { _ = try lost.copyIn("COPY pg_temp.none FROM STDIN", data: []) }),
        ]
        for (name, call) in calls {
            let error = Self.failure(call)
            #expect(error?.code == .connectionFailed, "\(name): \(String(describing: error))")
        }
    }

    @Test func badSQLIsQueryFailedWithItsSQLState() throws {
        let connection = try TestServer.connect()
        let cases: [(String, [PostgresParameter], String)] = [
            ("SELEC 1", [], "42601"),  // syntax_error
            ("SELECT * FROM no_such_table_here", [], "42P01"),  // undefined_table
            ("SELECT 1 / $1::int", [.text("0")], "22012"),  // division_by_zero
            ("SELECT $1::int", [.text("abc")], "22P02"),  // invalid_text_representation
        ]
        for (sql, parameters, state) in cases {
            let error = Self.failure { try connection.query(sql, parameters) }
            #expect(error?.code == .queryFailed, "\(sql)")
            #expect(error?.sqlState == state, "\(sql): \(String(describing: error))")
            #expect(error?.message.isEmpty == false)
            try Self.expectUsable(connection)
        }
        let error = Self.failure { try connection.execute("CREATE TEMP TABLE t (a int); SELEC 2") }
        #expect(error?.sqlState == "42601")
        try Self.expectUsable(connection)
    }

    @Test func aFailedTransactionIsRolledBackAndTheConnectionGoesOn() throws {
        let connection = try TestServer.connect()
        try connection.execute("CREATE TEMP TABLE items (id int PRIMARY KEY)")
        try connection.query("INSERT INTO items VALUES (1)")
        let error = Self.failure {
            try connection.transaction {
                try connection.query("INSERT INTO items VALUES (2)")
                try connection.query("INSERT INTO items VALUES (1)")
            }
        }
        #expect(error?.code == .queryFailed)
        #expect(error?.sqlState == "23505")  // unique_violation
        #expect(try connection.query("SELECT count(*) FROM items").rows[0].int(0) == 1)
        try Self.expectUsable(connection)
    }

    @Test func decodingErrorsNameTheColumn() throws {
        let connection = try TestServer.connect()
        let result = try connection.query("SELECT 'x'::text AS title, NULL::int AS n, 7::int AS \"Mixed\"")
        let row = result.rows[0]
        let mismatch = Self.failure { _ = try row.int(0) }
        #expect(mismatch?.code == .unexpectedType)
        #expect(mismatch?.message == #"column "title" has type text, expected an integer"#)
        let null = Self.failure { _ = try row.int(1) }
        #expect(null?.code == .unexpectedNull)
        #expect(null?.message == #"column "n" is NULL where an integer is required"#)
        #expect(try row.optionalInt(1) == nil)
        let past = Self.failure { _ = try row.optionalInt(3) }
        #expect(past?.code == .noSuchColumn)
        // Names are matched exactly, as they were written (a quoted name keeps its case).
        #expect(try result.columnIndex("Mixed") == 2)
        let unknown = Self.failure { _ = try result.columnIndex("mixed") }
        #expect(unknown?.code == .noSuchColumn)
        #expect(unknown?.message == #"the result has no column "mixed""#)
        let quoted = try connection.query(#"SELECT 1 AS "a""b""#)
        #expect(try quoted.columnIndex(#"a"b"#) == 0)
        try Self.expectUsable(connection)
    }

    @Test func singleRowStreamingStopsCleanlyWhenTheBodyThrows() throws {
        struct Stop: Error {}
        let connection = try TestServer.connect()
        var seen: [Int] = []
        do {
            try connection.forEachRow("SELECT g FROM generate_series(1, 200000) g") { row in
                seen.append(try row.int(0))
                if seen.count == 3 { throw Stop() }
            }
            Issue.record("the body's error was not thrown")
        } catch is Stop {
        }
        #expect(seen == [1, 2, 3])
        try Self.expectUsable(connection)
    }

    @Test func singleRowStreamingReportsTheServersErrors() throws {
        let connection = try TestServer.connect()
        let refused = Self.failure { try connection.forEachRow("SELECT nope FROM no_such_table_here") { _ in } }
        #expect(refused?.code == .queryFailed)
        #expect(refused?.sqlState == "42P01")
        try Self.expectUsable(connection)
        // An error after some rows: those rows came, then the error.
        var rows = 0
        let midway = Self.failure {
            try connection.forEachRow("SELECT 10 / (5 - g) FROM generate_series(1, 100000) g") { _ in rows += 1 }
        }
        #expect(midway?.sqlState == "22012")
        #expect(rows < 5)
        try Self.expectUsable(connection)
        var all = 0
        try connection.forEachRow("SELECT g FROM generate_series(1, $1::int) g", [.text("1000")]) { row in
            all += 1
            let n = try row.int(0)
            #expect(n == all)
        }
        #expect(all == 1000)
    }
}
