import PostgresClient

/// A row made of bytes as the server sends them in binary, for the decoders of `PostgresFields`
/// without a server. Each cell lives in memory of its own until the row goes.
final class BytesRow: PostgresFields {
    private let cells: [UnsafeMutableRawBufferPointer?]
    private let types: [UInt32]
    private let names: [String]

    /// Cells of (name, type OID, bytes; nil for NULL).
    init(_ columns: [(name: String, type: UInt32, bytes: [UInt8]?)]) {
        types = columns.map(\.type)
        names = columns.map(\.name)
        cells = columns.map { column in
            column.bytes.map { bytes in
                let cell = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
                cell.copyBytes(from: bytes)
                return UnsafeMutableRawBufferPointer(rebasing: cell[0..<bytes.count])
            }
        }
    }

    /// One cell named "c".
    convenience init(type: UInt32, bytes: [UInt8]?) { self.init([("c", type, bytes)]) }

    deinit { for cell in cells { cell?.deallocate() } }

    var columnCount: Int { types.count }
    func isNull(_ column: Int) -> Bool { cells[column] == nil }
    func bytes(_ column: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(cells[column]!) }
    func columnType(_ column: Int) -> UInt32 { types[column] }
    func columnName(_ column: Int) -> String { names[column] }
}

/// Type OIDs, as in pg_type.
enum OID {
    static let bool: UInt32 = 16, int8: UInt32 = 20, int2: UInt32 = 21, int4: UInt32 = 23, text: UInt32 = 25
    static let json: UInt32 = 114, float4: UInt32 = 700, float8: UInt32 = 701, varchar: UInt32 = 1043
    static let date: UInt32 = 1082, timestamp: UInt32 = 1114, timestamptz: UInt32 = 1184, interval: UInt32 = 1186
    static let numeric: UInt32 = 1700, uuid: UInt32 = 2950, jsonb: UInt32 = 3802
}

/// PostgreSQL's binary formats, written out for tests.
enum Binary {
    static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    /// numeric: ndigits, weight, sign, dscale, then the base-10000 digits.
    static func numeric(weight: Int16, sign: UInt16 = 0, dscale: Int16 = 0, _ digits: [Int16]) -> [UInt8] {
        bigEndian(Int16(digits.count)) + bigEndian(weight) + bigEndian(sign) + bigEndian(dscale)
            + digits.flatMap { bigEndian($0) }
    }

    static let positive: UInt16 = 0x0000, negative: UInt16 = 0x4000, nan: UInt16 = 0xC000
    static let infinity: UInt16 = 0xD000, negativeInfinity: UInt16 = 0xF000
}
