import PostgresClient
import Testing

/// The decoders on what the server really sends, through both ways rows arrive: a whole result
/// (`query`) and binary COPY (`PostgresCopyStream`). numeric must read as the server's own
/// `numeric::float8` does, to the last bit.
@Suite struct ServerDecodingTests {
    static let numerics = [
        "0", "1", "-1", "0.1", "0.3", "-123.45", "1.5", "12345678.9", "0.0001", "0.00000001", "100000000000000000000",
        "3.14159265358979323846264338327950288419716939937510", "-2.718281828459045235360287471352662497757",
        "123456789012345678901234567890.123456789", "-999999999999.999999999999", "0.1000000000000001",
        "9007199254740993", "90071992.54740993", "4.94e-312", "1e-300", "1.7976931348623157e308", "123.4560000",
        "0.000000000000000000000000000001", "NaN", "Infinity", "-Infinity",
    ]

    /// Each numeric with the server's float8 of it, as a whole result and as COPY rows.
    static func numericPairs(_ connection: PostgresConnection) throws -> [(String, Double, Double)] {
        let sql =
            "SELECT v, v::numeric, v::numeric::float8 FROM unnest($1::text[]) WITH ORDINALITY AS u(v, i) ORDER BY i"
        let literal = "{" + numerics.map { "\"\($0)\"" }.joined(separator: ",") + "}"
        var pairs: [(String, Double, Double)] = []
        for row in try connection.query(sql, [.text(literal)]).rows {
            pairs.append((try row.string(0), try row.double(1), try row.double(2)))
        }
        // COPY takes no parameters: the values go in as quoted literals, which these are.
        let values = numerics.enumerated().map { "(\($0.offset), '\($0.element)')" }.joined(separator: ", ")
        let copy = "SELECT v, v::numeric, v::numeric::float8 FROM (VALUES \(values)) AS u(i, v) ORDER BY i"
        let stream = try PostgresCopyStream(
            connection: connection, query: copy, columns: [("v", 25), ("n", 1700), ("f", 701)])
        while let pair = try stream.next({ row in ("copy " + (try row.string(0)), try row.double(1), try row.double(2))
            })
        {
            pairs.append(pair)
        }
        return pairs
    }

    @Test func numericReadsAsTheServersFloat8() throws {
        let connection = try TestServer.connect()
        let pairs = try Self.numericPairs(connection)
        #expect(pairs.count == 2 * Self.numerics.count)
        for (text, got, server) in pairs {
            #expect(
                got.bitPattern == server.bitPattern || (got.isNaN && server.isNaN),
                "\(text): got \(got), the server says \(server)")
        }
    }

    @Test func everyTypeAsAResultAndAsCOPY() throws {
        let connection = try TestServer.connect()
        let query = """
            SELECT (-32768)::int2 AS a, 2147483647::int4 AS b, (-9223372036854775808)::int8 AS c, 0.1::float4 AS d,
                   '-Infinity'::float8 AS e, true AS f, timestamptz '2026-03-24 10:30:00.123456Z' AS g,
                   timestamptz 'infinity' AS h, date '1969-12-31' AS i, '123e4567-e89b-12d3-a456-4266141740ff'::uuid AS j,
                   'Título ✓'::text AS k, 'x'::varchar(3) AS l, 'ab'::char(3) AS m, '{"a": [1, 2]}'::jsonb AS n,
                   NULL::int AS o, ''::text AS p
            """
        let expected: [PostgresValue] = [
            .integer(-32768), .integer(2_147_483_647), .integer(Int64.min), .double(Double(Float(0.1))),
            .double(-.infinity),
            .bool(true), .timestamp(1_774_348_200_123_456), .timestamp(Int64.max), .timestamp(-86_400_000_000),
            .uuid("123e4567-e89b-12d3-a456-4266141740ff"), .text("Título ✓"), .text("x"), .text("ab "),
            .text(#"{"a": [1, 2]}"#), .null, .text(""),
        ]
        let result = try connection.query(query)
        #expect(try (0..<result.columnCount).map { try result.rows[0].value($0) } == expected)
        let columns = try connection.query(query + " LIMIT 0")
        let types = columns.columnNames.enumerated().map { ($1, columns.columnType($0)) }
        let stream = try PostgresCopyStream(connection: connection, query: query, columns: types)
        let copied = try stream.next { row in try (0..<row.columnCount).map { try row.value($0) } }
        #expect(copied == expected)
        #expect(try stream.next { _ in } == nil)
    }

    @Test func aCOPYRowNamesItsColumnsInErrors() throws {
        let connection = try TestServer.connect()
        let stream = try PostgresCopyStream(
            connection: connection, query: "SELECT 'x'::text AS title, NULL::int AS n",
            columns: [("title", 25), ("n", 23)])
        let failures = try stream.next { row -> [PostgresError?] in
            var failures: [PostgresError?] = []
            do throws(PostgresError) { _ = try row.int(0) } catch { failures.append(error) }
            do throws(PostgresError) { _ = try row.int(1) } catch { failures.append(error) }
            do throws(PostgresError) { _ = try row.optionalString(2) } catch { failures.append(error) }
            return failures
        }
        #expect(failures?.map { $0?.code } == [.unexpectedType, .unexpectedNull, .noSuchColumn])
        #expect(failures?[0]?.message == #"column "title" has type text, expected an integer"#)
        #expect(failures?[1]?.message == #"column "n" is NULL where an integer is required"#)
        #expect(try stream.next { _ in } == nil)
        #expect(try connection.query("SELECT 1").rows[0].int(0) == 1)
    }
}
