import PostgresClient
import Testing

/// `queryPrepared`: a statement is prepared once per connection and text of parameter types, executed
/// with new values afterwards, and prepared again on a connection that does not have it.
@Suite struct PreparedStatementTests {
    /// The statements this session has prepared, by their text.
    func prepared(_ connection: PostgresConnection) throws -> [String] {
        try connection.query("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql ORDER BY statement").rows
            .map { try $0.string(0) }
    }

    @Test func preparedOncePerTextAndTypesThenExecutedWithNewValues() throws {
        let connection = try TestServer.connect()
        let sql = "SELECT $1::int8 + 1, $2::text"
        for i in 0..<5 {
            let row = try connection.queryPrepared(sql, [.int8(Int64(i)), .string("v\(i)")]).rows[0]
            #expect(try row.int(0) == i + 1)
            #expect(try row.string(1) == "v\(i)")
        }
        #expect(try prepared(connection) == [sql])
        // Another parameter type (an untyped NULL) is another statement; the result is the same.
        #expect(try connection.queryPrepared(sql, [.int8(1), .null]).rows[0].optionalString(1) == nil)
        #expect(try prepared(connection).count == 2)
        // A failure is the statement's, with the server's words; the connection goes on.
        #expect(throws: PostgresError.self) { try connection.queryPrepared("SELECT 1 / $1::int8", [.int8(0)]) }
        #expect(try connection.queryPrepared("SELECT 1 / $1::int8", [.int8(1)]).rows[0].int(0) == 1)
        // A new connection (a reconnect) prepares again.
        let other = try TestServer.connect()
        #expect(try prepared(other).isEmpty)
        #expect(try other.queryPrepared(sql, [.int8(41), .string("x")]).rows[0].int(0) == 42)
    }

    @Test func aStatementTheSessionLostIsPreparedAgain() throws {
        let connection = try TestServer.connect()
        let sql = "SELECT $1::text || '!'"
        #expect(try connection.queryPrepared(sql, [.string("a")]).rows[0].string(0) == "a!")
        try connection.execute("DEALLOCATE ALL")
        // The session lost it: prepared again.
        #expect(try connection.queryPrepared(sql, [.string("b")]).rows[0].string(0) == "b!")
        // Within a transaction the failure aborted it: the call fails, the next one after it prepares again.
        try connection.execute("DEALLOCATE ALL; BEGIN")
        #expect(throws: PostgresError.self) { try connection.queryPrepared(sql, [.string("c")]) }
        try connection.execute("ROLLBACK")
        #expect(try connection.queryPrepared(sql, [.string("d")]).rows[0].string(0) == "d!")
    }

    @Test func atMostTheLimitStayPrepared() throws {
        let connection = try TestServer.connect()
        for i in 0...PostgresConnection.preparedStatementLimit {
            #expect(try connection.queryPrepared("SELECT \(i) + $1::int8", [.int8(1)]).rows[0].int(0) == i + 1)
        }
        #expect(try prepared(connection).count == 1)
    }
}
