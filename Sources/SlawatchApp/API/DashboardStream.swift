import HTTPServer
import SlawatchCore
import SlawatchStore

/// The dashboard's body read from the SQL function, a batch at a time on the connection's thread, each
/// row written as the CLI writes it: memory holds one batch. Gives its connection back when the body
/// ends or the client goes away.
final class DashboardStream {
    private let request: APIRequest
    private var lease: BlockingConnectionPool.Lease?
    private var cursor: DashboardCursor?
    private let framing: TicketStream.Framing
    private var rowsWritten = 0

    init(
        request: APIRequest, lease: BlockingConnectionPool.Lease, cursor: DashboardCursor,
        framing: TicketStream.Framing
    ) {
        self.request = request
        self.lease = lease
        self.cursor = cursor
        self.framing = framing
    }

    deinit { finish() }

    func next() throws -> [UInt8]? {
        guard let cursor else { return nil }
        let batch: [DashboardEntry]?
        do {
            batch = try cursor.next()
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
        for entry in batch {
            bytes.append(contentsOf: (rowsWritten == 0 ? framing.first : framing.separator).utf8)
            DashboardCommand.appendJSON(entry, to: &bytes)
            rowsWritten += 1
        }
        return bytes
    }

    private func finish() {
        // The cursor's transaction ends on the connection before the connection goes back.
        cursor?.close()
        cursor = nil
        if let lease { request.pool.give(back: lease) }
        lease = nil
    }
}
