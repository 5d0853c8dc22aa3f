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
/// caller expected. A row may be noncopyable (`PostgresCopyRow`): it is then only borrowed.
public protocol PostgresFields: ~Copyable {
    var columnCount: Int { get }
    func isNull(_ column: Int) -> Bool
    /// The cell's bytes; valid while the row is.
    func bytes(_ column: Int) -> UnsafeRawBufferPointer
    func columnType(_ column: Int) -> UInt32
    func columnName(_ column: Int) -> String
}

// Inlinable: decoding runs for every cell of a full pass, and specialized for the row type at
// the caller it costs no dynamic calls.
extension PostgresFields where Self: ~Copyable {
    @inlinable public func string(_ column: Int) throws(PostgresError) -> String {
        try require(column, "text")
        return try optionalString(column)!
    }

    @inlinable public func optionalString(_ column: Int) throws(PostgresError) -> String? {
        guard try present(column) else { return nil }
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
        guard try present(column) else { return nil }
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
        guard try present(column) else { return nil }
        let b = bytes(column)
        switch columnType(column) {
        case PGType.float8: return Double(bitPattern: PGType.bigEndian(b))
        case PGType.float4: return Double(Float(bitPattern: UInt32(PGType.bigEndian(b))))
        case PGType.numeric:
            guard let value = PGType.numericValue(b) else {
                throw PostgresError(
                    .unexpectedType, "column \"\(columnName(column))\" holds bytes that are not a numeric")
            }
            return value
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
        guard try present(column) else { return nil }
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
        guard try present(column) else { return .null }
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

    /// Whether the cell holds a value (false: NULL); a column the row does not have is an error,
    /// not a NULL.
    @inlinable func present(_ column: Int) throws(PostgresError) -> Bool {
        guard column >= 0 && column < columnCount else {
            throw PostgresError(.noSuchColumn, "the result has no column at position \(column)")
        }
        return !isNull(column)
    }

    @inlinable func require(_ column: Int, _ what: String) throws(PostgresError) {
        guard try present(column) else {
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
    @usableFromInline static let bool: UInt32 = 16, int8: UInt32 = 20, int2: UInt32 = 21, int4: UInt32 = 23,
        text: UInt32 = 25
    @usableFromInline static let json: UInt32 = 114, float4: UInt32 = 700, float8: UInt32 = 701, unknown: UInt32 = 705
    @usableFromInline static let bpchar: UInt32 = 1042, varchar: UInt32 = 1043, date: UInt32 = 1082,
        timestamp: UInt32 = 1114
    @usableFromInline static let timestamptz: UInt32 = 1184, numeric: UInt32 = 1700, uuid: UInt32 = 2950,
        jsonb: UInt32 = 3802
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
                if i == 4 || i == 6 || i == 8 || i == 10 {
                    out[n] = UInt8(ascii: "-")
                    n += 1
                }
                out[n] = hex.utf8Start[Int(byte >> 4)]
                out[n + 1] = hex.utf8Start[Int(byte & 0x0F)]
                n += 2
            }
            return n
        }
    }

    /// numeric's binary form: ndigits, weight, sign, dscale (int16 each), then base-10000 digits,
    /// read as the double nearest its decimal value (what PostgreSQL's own `numeric::float8`
    /// gives); nil when the bytes are not that form.
    @usableFromInline static func numericValue(_ b: UnsafeRawBufferPointer) -> Double? {
        guard b.count >= 8 else { return nil }
        func int16(_ offset: Int) -> Int { Int(Int16(bitPattern: UInt16(b[offset]) << 8 | UInt16(b[offset + 1]))) }
        let ndigits = int16(0)
        let weight = int16(2)
        let sign = UInt16(truncatingIfNeeded: int16(4))
        switch sign {
        case 0xC000: return .nan
        case 0xD000: return .infinity
        case 0xF000: return -.infinity
        case 0x0000, 0x4000: break
        default: return nil
        }
        guard ndigits >= 0, b.count == 8 + 2 * ndigits else { return nil }
        // The digits as one integer times a power of ten, while the integer fits in 64 bits.
        var mantissa: UInt64 = 0
        var fits = true
        for i in 0..<ndigits {
            let digit = int16(8 + 2 * i)
            guard (0..<10_000).contains(digit) else { return nil }
            if mantissa > (UInt64.max - 9_999) / 10_000 {
                fits = false
                continue
            }
            mantissa = mantissa * 10_000 + UInt64(digit)
        }
        if fits {
            var exponent = 4 * (weight - ndigits + 1)
            if mantissa == 0 { return 0 }
            while mantissa % 10 == 0 {
                mantissa /= 10
                exponent += 1
            }
            // An integer below 2^53 and a power of ten up to 1e22 are both exact doubles, so one
            // multiplication or division rounds once, correctly. Summing the digits each times its
            // own power of ten would round at every step and miss by an ulp.
            if mantissa <= 1 << 53 && (-22...22).contains(exponent) {
                var power = 1.0
                for _ in 0..<abs(exponent) { power *= 10 }
                let magnitude = exponent >= 0 ? Double(mantissa) * power : Double(mantissa) / power
                return sign == 0x4000 ? -magnitude : magnitude
            }
        }
        return numericFromText(b, ndigits: ndigits, weight: weight, negative: sign == 0x4000)
    }

    /// More digits or a wider exponent than one exact operation allows: the decimal text, read by
    /// the standard library's correctly rounded parser (the one place this decoder allocates).
    @usableFromInline static func numericFromText(
        _ b: UnsafeRawBufferPointer, ndigits: Int, weight: Int, negative: Bool
    ) -> Double? {
        var text = negative ? "-" : ""
        text.reserveCapacity(ndigits * 4 + 10)
        for i in 0..<ndigits {
            let digit = Int(Int16(bitPattern: UInt16(b[8 + 2 * i]) << 8 | UInt16(b[9 + 2 * i])))
            let digits = String(digit)
            text += String(repeating: "0", count: 4 - digits.count) + digits
        }
        text += "e\(4 * (weight - ndigits + 1))"
        return Double(text)
    }
}
