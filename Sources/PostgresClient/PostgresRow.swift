/// One row of a `PostgresResult`; typed accessors by column position.
///
/// A row is a view into its result and lives no longer than the caller's use of it.
public struct PostgresRow: PostgresFields {
    let result: PostgresResult
    public let index: Int

    public var columnCount: Int { result.columnCount }
    public func isNull(_ column: Int) -> Bool { result.isNull(index, column) }
    public func bytes(_ column: Int) -> UnsafeRawBufferPointer { result.bytes(index, column) }
    public func columnType(_ column: Int) -> UInt32 { result.columnType(column) }
    public func columnName(_ column: Int) -> String { result.columnName(column) }
}

/// The cells of one row in PostgreSQL's binary format, with typed accessors by column position.
/// Each accessor checks the column's type and says, naming the column, when it is not what the
/// caller expected.
public protocol PostgresFields {
    var columnCount: Int { get }
    func isNull(_ column: Int) -> Bool
    /// The cell's bytes; valid while the row is.
    func bytes(_ column: Int) -> UnsafeRawBufferPointer
    func columnType(_ column: Int) -> UInt32
    func columnName(_ column: Int) -> String
}

// Inlinable: decoding runs for every cell of a full pass, and specialized for the row type at
// the caller it costs no dynamic calls.
extension PostgresFields {
    @inlinable public func string(_ column: Int) throws(PostgresError) -> String {
        try require(column, "text")
        return try optionalString(column)!
    }

    @inlinable public func optionalString(_ column: Int) throws(PostgresError) -> String? {
        if isNull(column) { return nil }
        let type = columnType(column)
        switch type {
        case PGType.text, PGType.varchar, PGType.bpchar, PGType.name, PGType.unknown, PGType.json:
            return String(decoding: bytes(column), as: UTF8.self)
        case PGType.jsonb:
            return String(decoding: bytes(column).dropFirst(), as: UTF8.self)
        case PGType.uuid:
            return PGType.formatUUID(bytes(column))
        default:
            throw mismatch(column, expected: "text")
        }
    }

    @inlinable public func int(_ column: Int) throws(PostgresError) -> Int {
        try require(column, "an integer")
        return try optionalInt(column)!
    }

    @inlinable public func optionalInt(_ column: Int) throws(PostgresError) -> Int? {
        if isNull(column) { return nil }
        let b = bytes(column)
        switch columnType(column) {
        case PGType.int2: return Int(Int16(bitPattern: UInt16(PGType.bigEndian(b))))
        case PGType.int4: return Int(Int32(bitPattern: UInt32(PGType.bigEndian(b))))
        case PGType.int8: return Int(Int64(bitPattern: PGType.bigEndian(b)))
        default: throw mismatch(column, expected: "an integer")
        }
    }

    @inlinable public func double(_ column: Int) throws(PostgresError) -> Double {
        try require(column, "a number")
        return try optionalDouble(column)!
    }

    @inlinable public func optionalDouble(_ column: Int) throws(PostgresError) -> Double? {
        if isNull(column) { return nil }
        let b = bytes(column)
        switch columnType(column) {
        case PGType.float8: return Double(bitPattern: PGType.bigEndian(b))
        case PGType.float4: return Double(Float(bitPattern: UInt32(PGType.bigEndian(b))))
        case PGType.numeric: return PGType.numericValue(b)
        case PGType.int2, PGType.int4, PGType.int8: return try optionalInt(column).map(Double.init)
        default: throw mismatch(column, expected: "a number")
        }
    }

    @inlinable public func bool(_ column: Int) throws(PostgresError) -> Bool {
        try require(column, "a boolean")
        guard columnType(column) == PGType.bool else { throw mismatch(column, expected: "a boolean") }
        return bytes(column)[0] != 0
    }

    /// A `timestamptz` (or `timestamp`, read as UTC) in microseconds since 1970-01-01T00:00:00Z.
    @inlinable public func timestamp(_ column: Int) throws(PostgresError) -> Int64 {
        try require(column, "a timestamp")
        return try optionalTimestamp(column)!
    }

    @inlinable public func optionalTimestamp(_ column: Int) throws(PostgresError) -> Int64? {
        if isNull(column) { return nil }
        switch columnType(column) {
        case PGType.timestamptz, PGType.timestamp:
            let raw = Int64(bitPattern: PGType.bigEndian(bytes(column)))
            if raw == Int64.max || raw == Int64.min { return raw }
            return raw + PGType.epochOffsetMicros
        case PGType.date:
            let days = Int64(Int32(bitPattern: UInt32(PGType.bigEndian(bytes(column)))))
            return days * 86_400_000_000 + PGType.epochOffsetMicros
        default:
            throw mismatch(column, expected: "a timestamp")
        }
    }

    /// Any supported column, decoded by its type; for columns chosen at run time (rule filters).
    @inlinable public func value(_ column: Int) throws(PostgresError) -> PostgresValue {
        if isNull(column) { return .null }
        switch columnType(column) {
        case PGType.bool: return .bool(try bool(column))
        case PGType.int2, PGType.int4, PGType.int8: return .integer(Int64(try int(column)))
        case PGType.float4, PGType.float8, PGType.numeric: return .double(try double(column))
        case PGType.timestamptz, PGType.timestamp, PGType.date: return .timestamp(try timestamp(column))
        case PGType.uuid: return .uuid(try string(column))
        case PGType.text, PGType.varchar, PGType.bpchar, PGType.name, PGType.unknown, PGType.json, PGType.jsonb:
            return .text(try string(column))
        default:
            throw mismatch(column, expected: "a text, number, boolean, uuid or timestamp")
        }
    }

    @usableFromInline func require(_ column: Int, _ what: String) throws(PostgresError) {
        guard column < columnCount else {
            throw PostgresError(.noSuchColumn, "the result has no column at position \(column)")
        }
        if isNull(column) {
            throw PostgresError(.unexpectedNull, "column \"\(columnName(column))\" is NULL where \(what) is required")
        }
    }

    @usableFromInline func mismatch(_ column: Int, expected: String) -> PostgresError {
        PostgresError(
            .unexpectedType,
            "column \"\(columnName(column))\" has type \(PGType.name(columnType(column))), expected \(expected)")
    }
}

/// PostgreSQL built-in type OIDs and their binary formats.
@usableFromInline enum PGType {
    @usableFromInline static let bool: UInt32 = 16, int8: UInt32 = 20, int2: UInt32 = 21, int4: UInt32 = 23, text: UInt32 = 25
    @usableFromInline static let json: UInt32 = 114, float4: UInt32 = 700, float8: UInt32 = 701, unknown: UInt32 = 705
    @usableFromInline static let bpchar: UInt32 = 1042, varchar: UInt32 = 1043, date: UInt32 = 1082, timestamp: UInt32 = 1114
    @usableFromInline static let timestamptz: UInt32 = 1184, numeric: UInt32 = 1700, uuid: UInt32 = 2950, jsonb: UInt32 = 3802
    @usableFromInline static let name: UInt32 = 19
    /// Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
    @usableFromInline static let epochOffsetMicros: Int64 = 946_684_800_000_000

    @usableFromInline static func name(_ oid: UInt32) -> String {
        let known: [UInt32: String] = [
            bool: "boolean", int8: "bigint", int2: "smallint", int4: "integer", text: "text", json: "json",
            float4: "real", float8: "double precision", bpchar: "character", varchar: "character varying",
            date: "date", timestamp: "timestamp", timestamptz: "timestamptz", numeric: "numeric", uuid: "uuid",
            jsonb: "jsonb", name: "name", unknown: "unknown",
        ]
        return known[oid] ?? "oid \(oid)"
    }

    @usableFromInline static func bigEndian(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var value: UInt64 = 0
        for byte in bytes { value = value << 8 | UInt64(byte) }
        return value
    }

    @usableFromInline static func formatUUID(_ bytes: UnsafeRawBufferPointer) -> String {
        // One allocation: this runs for every ticket of a full pass.
        String(unsafeUninitializedCapacity: bytes.count * 2 + 4) { out in
            let hex: StaticString = "0123456789abcdef"
            var n = 0
            for (i, byte) in bytes.enumerated() {
                if i == 4 || i == 6 || i == 8 || i == 10 { out[n] = UInt8(ascii: "-"); n += 1 }
                out[n] = hex.utf8Start[Int(byte >> 4)]
                out[n + 1] = hex.utf8Start[Int(byte & 0x0F)]
                n += 2
            }
            return n
        }
    }

    /// numeric's binary form: ndigits, weight, sign, dscale (int16 each), then base-10000 digits.
    /// The nearest double, as PostgreSQL's own `::float8` gives: the digits are read as decimal
    /// text (summing powers of 10000 in doubles would be off by an ulp for one value in fifty).
    @usableFromInline static func numericValue(_ b: UnsafeRawBufferPointer) -> Double {
        func int16(_ offset: Int) -> Int { Int(Int16(bitPattern: UInt16(b[offset]) << 8 | UInt16(b[offset + 1]))) }
        let ndigits = int16(0), weight = int16(2), sign = UInt16(bitPattern: Int16(int16(4)))
        if sign == 0xC000 { return .nan }
        if sign == 0xD000 { return .infinity }
        if sign == 0xF000 { return -.infinity }
        guard ndigits > 0 else { return 0 }
        // 0.DDDDdddd...e(4 * (weight + 1)): every base-10000 digit as four decimal ones.
        var text: [UInt8] = sign == 0x4000 ? [UInt8(ascii: "-")] : []
        text.reserveCapacity(4 * ndigits + 12)
        text += [UInt8(ascii: "0"), UInt8(ascii: ".")]
        for i in 0..<ndigits {
            let digit = int16(8 + 2 * i)
            for divisor in [1000, 100, 10, 1] { text.append(UInt8(ascii: "0") + UInt8(digit / divisor % 10)) }
        }
        text.append(UInt8(ascii: "e"))
        text += Array(String(4 * (weight + 1)).utf8)
        return Double(String(decoding: text, as: UTF8.self)) ?? .nan
    }
}
