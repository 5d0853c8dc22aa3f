import CLibPQ

/// The rows of `COPY (query) TO STDOUT (FORMAT binary)`, one at a time, as the server sends them.
///
/// The fastest way out of PostgreSQL: no per-row result objects, and the server keeps producing
/// rows while the client works on earlier ones. The stream takes its connection for its whole
/// life, so nothing else can be sent on it meanwhile; a stream dropped before its end cancels the
/// COPY and drains it, leaving the connection usable.
///
/// COPY takes no parameters: the query must carry no values, only (quoted) identifiers.
public final class PostgresCopyStream {
    private let connection: PostgresConnection
    private let types: [UInt32]
    private let names: [String]
    /// The current row's message from libpq, released when the next one is read.
    private var message: UnsafeMutablePointer<CChar>?
    /// Each column's offset and length in the current row (length -1: NULL). A buffer of its
    /// own, not arrays: this is written for every cell of millions of rows.
    private let cells: UnsafeMutableBufferPointer<(start: Int, length: Int)>
    private var headerRead = false
    private var finished = false
    private let sql: String

    /// Starts the COPY of `query`, whose columns have `columns` names and type OIDs (binary COPY
    /// does not say; `PostgresResult.columnType` of a `LIMIT 0` of the same query does).
    public init(connection: PostgresConnection, query: String, columns: [(name: String, type: UInt32)]) throws(PostgresError) {
        self.connection = connection
        types = columns.map(\.type)
        names = columns.map(\.name)
        cells = .allocate(capacity: columns.count)
        cells.initialize(repeating: (0, -1))
        sql = "COPY (\(query)) TO STDOUT (FORMAT binary)"
        guard let raw = PQexec(connection.conn, sql) else {
            throw PostgresError(.queryFailed, PostgresConnection.firstLine(String(cString: PQerrorMessage(connection.conn))))
        }
        if PQresultStatus(raw) != PGRES_COPY_OUT {
            _ = try PostgresResult.checked(raw, connection: connection.conn, sql: sql)
            throw PostgresError(.queryFailed, "expected COPY OUT from: \(sql)")
        }
        PQclear(raw)
    }

    deinit {
        cells.deallocate()
        if let message { PQfreemem(message) }
        guard !finished else { return }
        if let cancel = PQgetCancel(connection.conn) {
            var buffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(cancel, &buffer, Int32(buffer.count))
            PQfreeCancel(cancel)
        }
        var row: UnsafeMutablePointer<CChar>?
        while PQgetCopyData(connection.conn, &row, 0) > 0 { PQfreemem(row); row = nil }
        while let raw = PQgetResult(connection.conn) { PQclear(raw) }
    }

    /// The next row, valid until the following call; nil after the last one.
    public func next() throws(PostgresError) -> PostgresCopyRow? {
        if let message { PQfreemem(message); self.message = nil }
        guard !finished else { return nil }
        var buffer: UnsafeMutablePointer<CChar>?
        let length = Int(PQgetCopyData(connection.conn, &buffer, 0))
        if length < 0 {
            finished = true
            var failure: PostgresError?
            while let raw = PQgetResult(connection.conn) {
                do { _ = try PostgresResult.checked(raw, connection: connection.conn, sql: sql) } catch { failure = failure ?? error }
            }
            if let failure { throw failure }
            if length == -2 {
                throw PostgresError(.queryFailed, PostgresConnection.firstLine(String(cString: PQerrorMessage(connection.conn))))
            }
            return nil
        }
        message = buffer
        let bytes = UnsafeRawBufferPointer(start: buffer, count: length)
        var offset = 0
        if !headerRead {
            // "PGCOPY\n\377\r\n\0", flags, then the header extension's length and bytes.
            guard length >= 19, bytes[0] == UInt8(ascii: "P"), bytes[5] == UInt8(ascii: "Y") else { throw malformed("no COPY header") }
            offset = 19 + Int(Self.int32(bytes, 15))
            headerRead = true
            if offset == length { return try next() }
        }
        guard offset + 2 <= length else { throw malformed("truncated row") }
        let count = Int(Int16(bitPattern: UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])))
        offset += 2
        // -1 is the trailer; the end of the data follows.
        if count == -1 { return try next() }
        guard count == types.count else { throw malformed("a row of \(count) columns where \(types.count) were expected") }
        for i in 0..<count {
            guard offset + 4 <= length else { throw malformed("truncated row") }
            let size = Int(Int32(bitPattern: Self.int32(bytes, offset)))
            offset += 4
            cells[i] = (offset, size)
            if size > 0 {
                guard offset + size <= length else { throw malformed("truncated row") }
                offset += size
            }
        }
        return PostgresCopyRow(stream: self, base: UnsafeRawPointer(buffer!))
    }

    private func malformed(_ what: String) -> PostgresError {
        PostgresError(.queryFailed, "unexpected COPY data (\(what)) from: \(sql)")
    }

    private static func int32(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }

    fileprivate func cell(_ column: Int, base: UnsafeRawPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + cells[column].start, count: max(cells[column].length, 0))
    }

    fileprivate func isNull(_ column: Int) -> Bool { cells[column].length < 0 }
    fileprivate func type(_ column: Int) -> UInt32 { types[column] }
    fileprivate func name(_ column: Int) -> String { names[column] }
    fileprivate var count: Int { types.count }
}

@available(*, unavailable)
extension PostgresCopyStream: Sendable {}

/// One row of a `PostgresCopyStream`, valid until the stream's next row is read.
public struct PostgresCopyRow: PostgresFields {
    fileprivate let stream: PostgresCopyStream
    fileprivate let base: UnsafeRawPointer

    public var columnCount: Int { stream.count }
    public func isNull(_ column: Int) -> Bool { stream.isNull(column) }
    public func bytes(_ column: Int) -> UnsafeRawBufferPointer { stream.cell(column, base: base) }
    public func columnType(_ column: Int) -> UInt32 { stream.type(column) }
    public func columnName(_ column: Int) -> String { stream.name(column) }
}
