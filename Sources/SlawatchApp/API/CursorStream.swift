import HTTPServer
import SlawatchStore

/// A body made of the rows of a cursor, produced a batch at a time on the connection's thread, so that
/// memory holds one batch whatever the number of rows; gives its connection back when the body ends or
/// the client goes away. The dashboard's rows from the SQL function and the tickets the engine
/// evaluates are both sent so.
final class CursorStream<Row> {
    private let request: APIRequest
    private var lease: BlockingConnectionPool.Lease?
    /// The cursor's next batch (nil once every row was read), and how it is closed; both nil once the
    /// body ended.
    private var fetch: (() throws(StoreError) -> [Row]?)?
    private var close: (() -> Void)?
    private let framing: RowFraming
    /// Appends a row's text; false leaves the row out.
    private let write: (Row, inout [UInt8]) -> Bool
    private var rowsWritten = 0

    init(
        request: APIRequest, lease: BlockingConnectionPool.Lease, framing: RowFraming,
        fetch: @escaping () throws(StoreError) -> [Row]?, close: @escaping () -> Void,
        write: @escaping (Row, inout [UInt8]) -> Bool
    ) {
        self.request = request
        self.lease = lease
        self.framing = framing
        self.fetch = fetch
        self.close = close
        self.write = write
    }

    deinit { finish() }

    func next() throws -> [UInt8]? {
        guard let fetch else { return nil }
        let batch: [Row]?
        do {
            batch = try fetch()
        } catch {
            // Logged; the client sees a body cut short (the headers are gone already).
            _ = request.failure(error)
            finish()
            throw error
        }
        guard let batch else {
            finish()
            return Array((rowsWritten == 0 ? framing.empty : framing.last).utf8)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(batch.count * 400)
        for row in batch {
            let mark = bytes.count
            bytes.append(contentsOf: (rowsWritten == 0 ? framing.first : framing.separator).utf8)
            if write(row, &bytes) {
                rowsWritten += 1
            } else {
                bytes.removeSubrange(mark...)
            }
        }
        return bytes
    }

    private func finish() {
        // The cursor's transaction ends on the connection before the connection goes back.
        close?()
        close = nil
        fetch = nil
        if let lease { request.pool.give(back: lease) }
        lease = nil
    }
}

/// The text around a streamed body's rows: before the first, between two, after the last, and instead of
/// all of it when there is none.
struct RowFraming {
    let first: String
    let separator: String
    let last: String
    let empty: String
}
