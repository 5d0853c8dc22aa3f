import Foundation
import PostgresClient
import Testing

/// The binary decoders of `PostgresFields` on bytes: what each type's accessor gives, and the
/// errors that name the column when the type or a NULL is not what the caller asked for.
@Suite struct FieldDecodingTests {
    @Test func integers() throws {
        #expect(try BytesRow(type: OID.int2, bytes: Binary.bigEndian(Int16(-32768))).int(0) == -32768)
        #expect(try BytesRow(type: OID.int2, bytes: Binary.bigEndian(Int16(12345))).int(0) == 12345)
        #expect(try BytesRow(type: OID.int4, bytes: Binary.bigEndian(Int32.min)).int(0) == Int(Int32.min))
        #expect(try BytesRow(type: OID.int4, bytes: Binary.bigEndian(Int32(-1))).int(0) == -1)
        #expect(try BytesRow(type: OID.int8, bytes: Binary.bigEndian(Int64.max)).int(0) == Int(Int64.max))
        #expect(try BytesRow(type: OID.int8, bytes: Binary.bigEndian(Int64(-5_000_000_000))).int(0) == -5_000_000_000)
        // Integers read as numbers too.
        #expect(try BytesRow(type: OID.int4, bytes: Binary.bigEndian(Int32(-7))).double(0) == -7)
        #expect(try BytesRow(type: OID.int8, bytes: Binary.bigEndian(Int64(42))).value(0) == .integer(42))
    }

    @Test func floats() throws {
        #expect(try BytesRow(type: OID.float8, bytes: Binary.bigEndian(0.1.bitPattern)).double(0) == 0.1)
        #expect(try BytesRow(type: OID.float8, bytes: Binary.bigEndian((-2.5e-300).bitPattern)).double(0) == -2.5e-300)
        #expect(try BytesRow(type: OID.float8, bytes: Binary.bigEndian(Double.nan.bitPattern)).double(0).isNaN)
        #expect(
            try BytesRow(type: OID.float8, bytes: Binary.bigEndian(Double.infinity.bitPattern)).double(0) == .infinity)
        #expect(
            try BytesRow(type: OID.float8, bytes: Binary.bigEndian((-Double.infinity).bitPattern)).double(0)
                == -.infinity)
        // A real is widened exactly: the float nearest 0.1, not the double nearest 0.1.
        #expect(
            try BytesRow(type: OID.float4, bytes: Binary.bigEndian(Float(0.1).bitPattern)).double(0)
                == Double(Float(0.1)))
        #expect(
            try BytesRow(type: OID.float4, bytes: Binary.bigEndian(Float.infinity.bitPattern)).double(0) == .infinity)
        #expect(try BytesRow(type: OID.float4, bytes: Binary.bigEndian(Float.nan.bitPattern)).double(0).isNaN)
        #expect(
            try BytesRow(type: OID.float4, bytes: Binary.bigEndian(Float(-3.5).bitPattern)).value(0) == .double(-3.5))
    }

    /// numeric's base-10000 digits, as PostgreSQL sends them, read as the double nearest the
    /// decimal value: what PostgreSQL's own `numeric::float8` gives.
    @Test(
        "numeric",
        arguments: [
            (Binary.numeric(weight: 0, []), "0"),
            (Binary.numeric(weight: 0, dscale: 1, [1, 5000]), "1.5"),
            (Binary.numeric(weight: 0, sign: Binary.negative, dscale: 2, [123, 4500]), "-123.45"),
            (Binary.numeric(weight: -1, dscale: 1, [1000]), "0.1"),
            (Binary.numeric(weight: -1, dscale: 1, [3000]), "0.3"),
            (Binary.numeric(weight: -1, dscale: 4, [1]), "0.0001"),
            (Binary.numeric(weight: -2, dscale: 8, [1]), "0.00000001"),
            (Binary.numeric(weight: 5, [1]), "100000000000000000000"),
            (Binary.numeric(weight: 1, dscale: 1, [1234, 5678, 9000]), "12345678.9"),
            (Binary.numeric(weight: 0, sign: Binary.negative, dscale: 2, [0, 100]), "-0.01"),
            // Many digits, on both sides of the point.
            (
                Binary.numeric(weight: 0, dscale: 36, [3, 1415, 9265, 3589, 7932, 3846, 2643, 3832, 7950, 2884, 1971]),
                "3.14159265358979323846264338327950288419710000"
            ),
            (
                Binary.numeric(weight: 7, [12, 3456, 7890, 1234, 5678, 9012, 3456, 7890]),
                "123456789012345678901234567890"
            ),
            (
                Binary.numeric(weight: 2, sign: Binary.negative, dscale: 12, [9999, 9999, 9999, 9999, 9999, 9999]),
                "-999999999999.999999999999"
            ),
            (Binary.numeric(weight: -4, dscale: 20, [1234, 5678]), "0.00000000000012345678"),
            (Binary.numeric(weight: 0, dscale: 16, [0, 1000, 0, 0, 1]), "0.1000000000000001"),
            (Binary.numeric(weight: 0, dscale: 17, [2, 2250, 7385, 8507, 2014]), "2.22507385850720140"),
            (Binary.numeric(weight: 1, dscale: 8, [9007, 1992, 5474, 993]), "90071992.54740993"),
            (Binary.numeric(weight: -78, dscale: 314, [4, 9400]), "4.94e-312"),
            (Binary.numeric(weight: 77, [17]), "1.7e309"),
        ])
    func numeric(bytes: [UInt8], text: String) throws {
        let expected = Double(text)!
        let got = try BytesRow(type: OID.numeric, bytes: bytes).double(0)
        #expect(got == expected, "\(text): got \(got), expected \(expected)")
        #expect(got.sign == expected.sign)
    }

    @Test func numericSpecialValues() throws {
        #expect(try BytesRow(type: OID.numeric, bytes: Binary.numeric(weight: 0, sign: Binary.nan, [])).double(0).isNaN)
        #expect(
            try BytesRow(type: OID.numeric, bytes: Binary.numeric(weight: 0, sign: Binary.infinity, [])).double(0)
                == .infinity)
        #expect(
            try BytesRow(type: OID.numeric, bytes: Binary.numeric(weight: 0, sign: Binary.negativeInfinity, [])).double(
                0) == -.infinity)
        #expect(
            try BytesRow(type: OID.numeric, bytes: Binary.numeric(weight: 0, dscale: 1, [2, 5000])).value(0)
                == .double(2.5))
    }

    @Test func booleans() throws {
        #expect(try BytesRow(type: OID.bool, bytes: [1]).bool(0) == true)
        #expect(try BytesRow(type: OID.bool, bytes: [0]).bool(0) == false)
        #expect(try BytesRow(type: OID.bool, bytes: [1]).value(0) == .bool(true))
    }

    @Test func timestamps() throws {
        // Microseconds since 2000-01-01 on the wire; since 1970-01-01 from the accessor.
        let at2026 = Int64(1_774_348_200_123_456)  // 2026-03-24T10:30:00.123456Z
        let wire = at2026 - 946_684_800_000_000
        #expect(try BytesRow(type: OID.timestamptz, bytes: Binary.bigEndian(wire)).timestamp(0) == at2026)
        #expect(try BytesRow(type: OID.timestamp, bytes: Binary.bigEndian(wire)).timestamp(0) == at2026)
        #expect(
            try BytesRow(type: OID.timestamptz, bytes: Binary.bigEndian(Int64(-1))).timestamp(0) == 946_684_799_999_999)
        // Before 1970 and before 2000.
        let at1969 = Int64(-86_400_000_000)
        #expect(
            try BytesRow(type: OID.timestamptz, bytes: Binary.bigEndian(at1969 - 946_684_800_000_000)).timestamp(0)
                == at1969)
        // infinity and -infinity stay the extremes.
        #expect(try BytesRow(type: OID.timestamptz, bytes: Binary.bigEndian(Int64.max)).timestamp(0) == Int64.max)
        #expect(try BytesRow(type: OID.timestamptz, bytes: Binary.bigEndian(Int64.min)).timestamp(0) == Int64.min)
        // A date is its midnight UTC.
        #expect(
            try BytesRow(type: OID.date, bytes: Binary.bigEndian(Int32(9579))).timestamp(0) == 1_774_310_400_000_000)
        #expect(try BytesRow(type: OID.timestamptz, bytes: Binary.bigEndian(wire)).value(0) == .timestamp(at2026))
    }

    @Test func uuids() throws {
        let bytes: [UInt8] = [
            0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0xff,
        ]
        #expect(try BytesRow(type: OID.uuid, bytes: bytes).string(0) == "123e4567-e89b-12d3-a456-4266141740ff")
        #expect(try BytesRow(type: OID.uuid, bytes: bytes).value(0) == .uuid("123e4567-e89b-12d3-a456-4266141740ff"))
        #expect(
            try BytesRow(type: OID.uuid, bytes: Array(repeating: 0, count: 16)).string(0)
                == "00000000-0000-0000-0000-000000000000")
    }

    @Test func texts() throws {
        #expect(try BytesRow(type: OID.text, bytes: Array("Título ✓".utf8)).string(0) == "Título ✓")
        #expect(try BytesRow(type: OID.varchar, bytes: []).string(0) == "")
        #expect(try BytesRow(type: OID.json, bytes: Array(#"{"a":1}"#.utf8)).string(0) == #"{"a":1}"#)
        // jsonb: a version byte, then the text.
        #expect(try BytesRow(type: OID.jsonb, bytes: [1] + Array(#"{"a": 1}"#.utf8)).string(0) == #"{"a": 1}"#)
        #expect(try BytesRow(type: OID.text, bytes: Array("x".utf8)).value(0) == .text("x"))
    }

    @Test func nullsAndTheirAccessors() throws {
        let row = BytesRow([
            ("n", OID.int4, nil), ("t", OID.text, nil), ("d", OID.float8, nil), ("at", OID.timestamptz, nil),
        ])
        #expect(try row.optionalInt(0) == nil)
        #expect(try row.optionalString(1) == nil)
        #expect(try row.optionalDouble(2) == nil)
        #expect(try row.optionalTimestamp(3) == nil)
        #expect(try row.value(0) == .null)
        let reads: [(Int, () throws -> Any)] = [
            (0, { try row.int(0) }), (1, { try row.string(1) }), (2, { try row.double(2) }),
            (3, { try row.timestamp(3) }),
        ]
        for (column, read) in reads {
            #expect { _ = try read() } throws: { error in
                guard let error = error as? PostgresError else { return false }
                return error.code == .unexpectedNull && error.message.contains("\"\(row.columnName(column))\" is NULL")
            }
        }
        #expect(throws: PostgresError.self) { try row.bool(0) }
    }

    @Test func aTypeThatIsNotTheOneAskedForNamesTheColumn() throws {
        let row = BytesRow([
            ("title", OID.text, Array("x".utf8)), ("n", OID.int4, Binary.bigEndian(Int32(1))),
            ("span", OID.interval, Array(repeating: 0, count: 16)),
        ])
        let cases: [(String, () throws -> Any)] = [
            (#"column "title" has type text, expected an integer"#, { try row.int(0) }),
            (#"column "title" has type text, expected a number"#, { try row.double(0) }),
            (#"column "title" has type text, expected a boolean"#, { try row.bool(0) }),
            (#"column "title" has type text, expected a timestamp"#, { try row.timestamp(0) }),
            (#"column "n" has type integer, expected text"#, { try row.string(1) }),
            (
                #"column "span" has type oid 1186, expected a text, number, boolean, uuid or timestamp"#,
                { try row.value(2) }
            ),
        ]
        for (message, read) in cases {
            #expect { _ = try read() } throws: { error in
                guard let error = error as? PostgresError else { return false }
                return error.code == .unexpectedType && error.message == message
            }
        }
    }

    @Test func aColumnPastTheLastIsNamedAsSuch() throws {
        let row = BytesRow(type: OID.int4, bytes: Binary.bigEndian(Int32(1)))
        let reads: [() throws -> Any] = [
            { try row.int(1) }, { try row.optionalInt(1) as Any }, { try row.string(3) },
            { try row.optionalString(-1) as Any },
        ]
        for read in reads {
            #expect { _ = try read() } throws: { error in
                (error as? PostgresError)?.code == .noSuchColumn
            }
        }
    }
}
