import Foundation
import PostgresClient
import Testing

/// Typed parameters travel in binary under their type's OID: the server sees the type without a
/// cast, and every value comes back as it was sent.
@Suite struct TypedParameterTests {
    let db: StoreTestDatabase
    let connection: PostgresConnection

    init() throws {
        db = try StoreTestDatabase()
        connection = try db.connect()
    }

    /// `parameter` as the server received it: the value, and the type it was given.
    func echo(_ parameter: PostgresParameter) throws -> (row: PostgresRow, type: String) {
        let row = try connection.query("SELECT $1, pg_typeof($1)::text", [parameter]).rows[0]
        return (row, try row.string(1))
    }

    /// The elements of an array parameter, in order, as text (nil for NULL), and its type.
    func elements(_ parameter: PostgresParameter) throws -> (values: [String?], type: String) {
        let type = try connection.query("SELECT pg_typeof($1)::text", [parameter]).rows[0].string(0)
        let values = try connection.query(
            "SELECT u::text FROM unnest($1) WITH ORDINALITY AS x(u, n) ORDER BY n", [parameter]
        )
        .rows.map { try $0.optionalString(0) }
        return (values, type)
    }

    @Test func integers() throws {
        for value in [Int64.max, Int64.min, -1, 0, 42] {
            let (row, type) = try echo(.int8(value))
            #expect(try type == "bigint" && Int64(row.int(0)) == value)
        }
        let (row, type) = try echo(.int8(nil))
        #expect(type == "bigint" && row.isNull(0))
        #expect(try echo(PostgresParameter(7)).type == "bigint")
    }

    @Test func doublesToTheLastBit() throws {
        for value in [0.1, -0.0, 1e308, -2.5e-308, Double.leastNonzeroMagnitude, 1.0 / 3.0, .infinity, -.infinity] {
            let (row, type) = try echo(.float8(value))
            #expect(try type == "double precision" && row.double(0).bitPattern == value.bitPattern, "\(value)")
        }
        #expect(try echo(.float8(.nan)).row.double(0).isNaN)
        #expect(try echo(.float8(nil)).row.isNull(0))
    }

    @Test func booleans() throws {
        #expect(try echo(.bool(true)).row.bool(0) == true)
        #expect(try echo(.bool(false)).row.bool(0) == false)
        let (row, type) = try echo(.bool(nil))
        #expect(type == "boolean" && row.isNull(0))
    }

    @Test func textWithAnythingInIt() throws {
        for value in ["", "Título ñandú 日本語 🎉", #"a "quoted" \ back\slash {brace}, comma"#, "NULL", "line\nbreak\ttab"]
        {
            let (row, type) = try echo(.string(value))
            #expect(try type == "text" && row.string(0) == value)
        }
        #expect(try echo(.string(nil)).row.isNull(0))
        let length = try connection.query("SELECT length($1), octet_length($1)", [.string("ñandú🎉")]).rows[0]
        #expect(try length.int(0) == 6 && length.int(1) == 11)
    }

    @Test func uuidsInAnyOfTheirTextForms() throws {
        let canonical = "123e4567-e89b-12d3-a456-426614174000"
        for form in [
            canonical, canonical.uppercased(), canonical.replacingOccurrences(of: "-", with: ""), "{\(canonical)}",
        ] {
            let (row, type) = try echo(.uuid(form))
            #expect(try type == "uuid" && row.string(0) == canonical, "\(form)")
        }
        #expect(try echo(.uuid(nil)).row.isNull(0))
        for bad in ["nope", "123e4567-e89b-12d3-a456-42661417400", "123e4567-e89b-12d3-a456-4266141740001"] {
            #expect(throws: PostgresError.self) { try connection.query("SELECT $1", [.uuid(bad)]) }
        }
        // The connection is still usable after a parameter was refused before sending.
        #expect(try connection.query("SELECT 1").rows[0].int(0) == 1)
    }

    @Test func timestampsToTheMicrosecond() throws {
        let instants: [(Int64, String)] = [
            (1_774_348_200_123_456, "2026-03-24 10:30:00.123456+00"),
            (0, "1970-01-01 00:00:00+00"),
            (-1, "1969-12-31 23:59:59.999999+00"),
            (946_684_800_000_000, "2000-01-01 00:00:00+00"),
            (Int64.max, "infinity"),
            (Int64.min, "-infinity"),
        ]
        for (micros, text) in instants {
            let row = try connection.query("SELECT $1, $1::text, pg_typeof($1)::text", [.timestamptz(micros)]).rows[0]
            #expect(
                try row.timestamp(0) == micros && row.string(1) == text && row.string(2) == "timestamp with time zone")
        }
        #expect(try echo(.timestamptz(nil)).row.isNull(0))
    }

    @Test func bytes() throws {
        let value: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF, 0]
        let (row, type) = try echo(.bytea(value))
        #expect(type == "bytea" && Array(row.bytes(0)) == value)
        #expect(try echo(.bytea([])).row.bytes(0).isEmpty)
        #expect(try echo(.bytea(nil)).row.isNull(0))
    }

    @Test func arraysOfEveryTypeWithNulls() throws {
        let text = try elements(.textArray(["a", nil, "Ñandú 🎉", "", #"with "quote", \ and {brace}"#, "NULL"]))
        #expect(text.type == "text[]")
        #expect(text.values == ["a", nil, "Ñandú 🎉", "", #"with "quote", \ and {brace}"#, "NULL"])
        let ints = try elements(.int8Array([1, nil, Int64.min, Int64.max]))
        #expect(ints.type == "bigint[]" && ints.values == ["1", nil, "-9223372036854775808", "9223372036854775807"])
        let doubles = try connection.query(
            "SELECT u FROM unnest($1) WITH ORDINALITY AS x(u, n) ORDER BY n",
            [.float8Array([0.1, nil, -.infinity, .nan, 1.0 / 3.0])]
        ).rows.map { try $0.optionalDouble(0) }
        #expect(doubles.count == 5 && doubles[0] == 0.1 && doubles[1] == nil && doubles[2] == -.infinity)
        #expect(doubles[3]?.isNaN == true && doubles[4]?.bitPattern == (1.0 / 3.0).bitPattern)
        #expect(try elements(.float8Array([1.5])).type == "double precision[]")
        let bools = try elements(.boolArray([true, nil, false]))
        #expect(bools.type == "boolean[]" && bools.values == ["true", nil, "false"])
        let uuids = try elements(
            .uuidArray(["00000000-0000-0000-0000-000000000001", nil, "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"]))
        #expect(
            uuids.type == "uuid[]"
                && uuids.values == [
                    "00000000-0000-0000-0000-000000000001", nil, "ffffffff-ffff-ffff-ffff-ffffffffffff",
                ])
        let times = try connection.query(
            "SELECT u FROM unnest($1) WITH ORDINALITY AS x(u, n) ORDER BY n",
            [.timestamptzArray([1_774_348_200_123_456, nil, -1])]
        ).rows.map { try $0.optionalTimestamp(0) }
        #expect(times == [1_774_348_200_123_456, nil, -1])
        #expect(try elements(.timestamptzArray([0])).type == "timestamp with time zone[]")
        #expect(throws: PostgresError.self) {
            try connection.query("SELECT $1", [.uuidArray(["00000000-0000-0000-0000-000000000001", "x"])])
        }
    }

    @Test func emptyArrays() throws {
        for parameter: PostgresParameter in [
            .textArray([]), .int8Array([]), .float8Array([]), .boolArray([]), .uuidArray([]), .timestamptzArray([]),
        ] {
            let row = try connection.query("SELECT cardinality($1), $1::text", [parameter]).rows[0]
            #expect(try row.int(0) == 0 && row.string(1) == "{}", "\(parameter)")
        }
    }

    @Test func manyParametersOfMixedKindsInOneStatement() throws {
        let parameters: [PostgresParameter] = [
            .string("uno"), .int8(2), .float8(3.5), .bool(true), .uuid("00000000-0000-0000-0000-000000000005"),
            .timestamptz(6), .bytea([7]), .textArray(["8", nil]), .int8Array([9]), .float8Array([10.5]),
            .boolArray([false]),
            .uuidArray(["00000000-0000-0000-0000-00000000000c"]), .timestamptzArray([13]), .text("14"), .null,
            .int8(nil),
        ]
        let row = try connection.query(
            """
            SELECT $1 || '|' || $2 || '|' || $3 || '|' || $4 || '|' || $5 || '|' || ($6 = timestamptz '1970-01-01 00:00:00.000006+00')
                   || '|' || encode($7, 'hex') || '|' || $8::text || '|' || $9::text || '|' || $10::text || '|' || $11::text
                   || '|' || $12::text || '|' || ($13[1] = timestamptz '1970-01-01 00:00:00.000013+00') || '|' || ($14::int + 0)
                   || '|' || coalesce($15::text, 'null') || '|' || coalesce($16::text, 'null')
            """, parameters
        ).rows[0]
        #expect(
            try row.string(0)
                == "uno|2|3.5|true|00000000-0000-0000-0000-000000000005|true|07|{8,NULL}|{9}|{10.5}|{f}|{00000000-0000-0000-0000-00000000000c}|true|14|null|null"
        )
    }

    @Test func untypedTextIsTypedByTheServer() throws {
        #expect(try connection.query("SELECT $1::int + 1", [.text("41")]).rows[0].int(0) == 42)
        #expect(
            try connection.query("SELECT $1::timestamptz", [.text("2026-03-24T10:30:00Z")]).rows[0].timestamp(0)
                == 1_774_348_200_000_000)
        #expect(try connection.query("SELECT $1::text IS NULL", [.null]).rows[0].bool(0))
    }

    @Test func largeArraysArriveWhole() throws {
        let values = (0..<100_000).map { Int64($0) * 3 }
        let ids = (0..<20_000).map { "ticket-\($0)-ñ" }
        let row = try connection.query(
            "SELECT sum(u)::bigint, cardinality($2), (SELECT count(DISTINCT t) FROM unnest($2) t) FROM unnest($1) u",
            [.int8Array(values), .textArray(ids)]
        ).rows[0]
        #expect(try row.int(0) == Int(values.reduce(0, +)) && row.int(1) == ids.count && row.int(2) == ids.count)
    }
}
