import CLibPQ

/// The rows of `COPY (query) TO STDOUT (FORMAT binary)`, one at a time, as the server sends them.
///
/// The fastest way out of PostgreSQL: no per-row result objects, and the server keeps producing
/// rows while the client works on earlier ones. The stream takes its connection for its whole
/// life, so nothing else can be sent on it meanwhile; a stream dropped before its end cancels the
/// COPY and drains it, leaving the connection usable.
///
/// A row lives in libpq's buffer only until the next one is read, so it is never handed out: `next`
/// lends it to a closure, and the row cannot be copied or kept beyond it.
///
/// COPY takes no parameters: the query must carry no values, only (quoted) identifiers.
public final class PostgresCopyStream {
    private let connection: PostgresConnection
    private let types: [UInt32]
    private let names: [String]
    /// The current row's message from libpq, released when the next one is read.
    private var message: UnsafeMutablePointer<CChar>?
    private var parser: PostgresCopyParser
    /// Whether a row is lent out: its body must not read the next row from under it.
    private var lending = false
    private var finished = false
    private let sql: String

    /// Starts the COPY of `query`, whose columns have `columns` names and type OIDs (binary COPY
    /// does not say; `PostgresResult.columnType` of a `LIMIT 0` of the same query does).
    public init(connection: PostgresConnection, query: String, columns: [(name: String, type: UInt32)]) throws(PostgresError) {
        self.connection = connection
        types = columns.map(\.type)
        names = columns.map(\.name)
        parser = PostgresCopyParser(columnCount: columns.count)
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

    /// Reads the next row and lends it to `body`; returns what `body` returned, or nil after the
    /// last row (then `body` is not called). What `body` throws is thrown as it is.
    public func next<R>(_ body: (borrowing PostgresCopyRow) throws -> R) throws -> R? {
        precondition(!lending, "a COPY row's body must not read the next row of its own stream")
        guard try advance() else { return nil }
        lending = true
        defer { lending = false }
        return try body(PostgresCopyRow(stream: self, base: UnsafeRawPointer(message!)))
    }

    /// Reads messages until the next row; false after the end of the data.
    private func advance() throws(PostgresError) -> Bool {
        while true {
            if let message { PQfreemem(message); self.message = nil }
            guard !finished else { return false }
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
                guard parser.ended else { throw malformed("the data ended without its trailer") }
                return false
            }
            message = buffer
            let content: PostgresCopyParser.Content
            do {
                content = try parser.parse(UnsafeRawBufferPointer(start: buffer, count: length))
            } catch {
                throw malformed(error.reason)
            }
            if content == .row { return true }
        }
    }

    private func malformed(_ what: String) -> PostgresError {
        PostgresError(.queryFailed, "unexpected COPY data (\(what)) from: \(sql)")
    }

    fileprivate func cell(_ column: Int, base: UnsafeRawPointer) -> UnsafeRawBufferPointer {
        let cell = parser.cell(column)
        return UnsafeRawBufferPointer(start: base + cell.start, count: max(cell.length, 0))
    }

    fileprivate func isNull(_ column: Int) -> Bool { parser.cell(column).length < 0 }
    fileprivate func type(_ column: Int) -> UInt32 { types[column] }
    fileprivate func name(_ column: Int) -> String { names[column] }
    fileprivate var count: Int { types.count }
}

@available(*, unavailable)
extension PostgresCopyStream: Sendable {}

/// One row of a `PostgresCopyStream`, lent to the body of `next` and valid only there: it cannot
/// be copied, so it cannot outlive the message it points into.
public struct PostgresCopyRow: PostgresFields, ~Copyable {
    // Unowned: the row exists only while `next` runs on its stream.
    fileprivate unowned(unsafe) let stream: PostgresCopyStream
    fileprivate let base: UnsafeRawPointer

    fileprivate init(stream: PostgresCopyStream, base: UnsafeRawPointer) {
        self.stream = stream
        self.base = base
    }

    public var columnCount: Int { stream.count }
    public func isNull(_ column: Int) -> Bool { stream.isNull(column) }
    public func bytes(_ column: Int) -> UnsafeRawBufferPointer { stream.cell(column, base: base) }
    public func columnType(_ column: Int) -> UInt32 { stream.type(column) }
    public func columnName(_ column: Int) -> String { stream.name(column) }
}
