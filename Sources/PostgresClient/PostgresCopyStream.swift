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
    /// Each column's type OID, in memory the rows point into.
    private let types: UnsafeMutableBufferPointer<UInt32>
    private let names: [String]
    /// The current row's message from libpq, released when the next one is read.
    private var message: UnsafeMutablePointer<CChar>?
    // Unchecked: a stream is confined to one thread, and `lending` keeps a row's body from parsing
    // the next row meanwhile; a checked access would cost a runtime call for every row.
    @exclusivity(unchecked) private var parser: PostgresCopyParser
    /// Whether a row is lent out: its body must not read the next row from under it.
    private var lending = false
    private var finished = false
    private let sql: String

    /// Starts the COPY of `query`, whose columns have `columns` names and type OIDs (binary COPY
    /// does not say; `PostgresResult.columnType` of a `LIMIT 0` of the same query does).
    public init(connection: PostgresConnection, query: String, columns: [(name: String, type: UInt32)])
        throws(PostgresError)
    {
        self.connection = connection
        types = .allocate(capacity: max(columns.count, 1))
        _ = types.initialize(from: columns.map(\.type))
        names = columns.map(\.name)
        parser = PostgresCopyParser(columnCount: columns.count)
        sql = "COPY (\(query)) TO STDOUT (FORMAT binary)"
        guard let raw = PQexec(connection.conn, sql) else {
            throw PostgresConnection.lastError(connection.conn)
        }
        if PQresultStatus(raw) != PGRES_COPY_OUT {
            _ = try PostgresResult.checked(raw, connection: connection.conn, sql: sql)
            throw PostgresError(.queryFailed, "expected COPY OUT from: \(sql)")
        }
        PQclear(raw)
    }

    deinit {
        types.deallocate()
        if let message { PQfreemem(message) }
        guard !finished else { return }
        connection.cancelStatement()
        var row: UnsafeMutablePointer<CChar>?
        while PQgetCopyData(connection.conn, &row, 0) > 0 {
            PQfreemem(row)
            row = nil
        }
        while let raw = PQgetResult(connection.conn) { PQclear(raw) }
    }

    /// Reads the next row and lends it to `body`; returns what `body` returned, or nil after the
    /// last row (then `body` is not called). What `body` throws is thrown as it is.
    // Inlinable, so that `body` is specialized and inlined at the caller: this runs for every row.
    @inlinable public func next<R>(_ body: (borrowing PostgresCopyRow) throws -> R) throws -> R? {
        guard try lendNextRow() else { return nil }
        defer { endLending() }
        return try body(currentRow())
    }

    /// Reads the next row and marks it lent; false after the last one.
    @usableFromInline func lendNextRow() throws(PostgresError) -> Bool {
        precondition(!lending, "a COPY row's body must not read the next row of its own stream")
        guard try advance() else { return false }
        lending = true
        return true
    }

    @usableFromInline func endLending() { lending = false }

    /// The row just read; valid until `endLending`.
    @usableFromInline func currentRow() -> PostgresCopyRow {
        PostgresCopyRow(
            base: UnsafeRawPointer(message!), cells: parser.cellsBase, types: UnsafePointer(types.baseAddress!),
            columnCount: parser.columnCount, stream: self)
    }

    /// Reads messages until the next row; false after the end of the data.
    private func advance() throws(PostgresError) -> Bool {
        while true {
            if let message {
                PQfreemem(message)
                self.message = nil
            }
            guard !finished else { return false }
            var buffer: UnsafeMutablePointer<CChar>?
            let length = Int(PQgetCopyData(connection.conn, &buffer, 0))
            if length < 0 {
                finished = true
                var failure: PostgresError?
                while let raw = PQgetResult(connection.conn) {
                    do { _ = try PostgresResult.checked(raw, connection: connection.conn, sql: sql) } catch {
                        failure = failure ?? error
                    }
                }
                if let failure { throw failure }
                if length == -2 {
                    throw PostgresConnection.lastError(connection.conn)
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

    fileprivate func name(_ column: Int) -> String { names[column] }
}

@available(*, unavailable)
extension PostgresCopyStream: Sendable {}

/// One row of a `PostgresCopyStream`, lent to the body of `next` and valid only there: it cannot
/// be copied, so it cannot outlive the message it points into.
public struct PostgresCopyRow: PostgresFields, ~Copyable {
    // Pointers into the stream's current message and buffers: the row exists only while `next`
    // runs, and reading a cell is a load, inlined at the caller.
    @usableFromInline let base: UnsafeRawPointer
    @usableFromInline let cells: UnsafePointer<(start: Int, length: Int)>
    @usableFromInline let types: UnsafePointer<UInt32>
    public let columnCount: Int
    private unowned(unsafe) let stream: PostgresCopyStream

    @usableFromInline init(
        base: UnsafeRawPointer, cells: UnsafePointer<(start: Int, length: Int)>, types: UnsafePointer<UInt32>,
        columnCount: Int, stream: PostgresCopyStream
    ) {
        self.base = base
        self.cells = cells
        self.types = types
        self.columnCount = columnCount
        self.stream = stream
    }

    @inlinable public func isNull(_ column: Int) -> Bool { cells[column].length < 0 }

    @inlinable public func bytes(_ column: Int) -> UnsafeRawBufferPointer {
        let cell = cells[column]
        return UnsafeRawBufferPointer(start: base + cell.start, count: max(cell.length, 0))
    }

    @inlinable public func columnType(_ column: Int) -> UInt32 { types[column] }
    public func columnName(_ column: Int) -> String { stream.name(column) }
}
