import HTTPServer
import SlawatchCore
import SlawatchStore

/// A body made of the tickets of a cursor, produced a batch at a time on the connection's thread, so
/// that memory does not grow with the rows; gives its connection back when the body ends or the client
/// goes away.
final class TicketStream {
    /// The text around the rows: before the first, between two, after the last, and instead of all of
    /// it when there is none.
    struct Framing {
        let first: String
        let separator: String
        let last: String
        let empty: String
    }

    private let request: APIRequest
    private var lease: BlockingConnectionPool.Lease?
    private var cursor: TicketCursor?
    private let evaluator: SLAEvaluator
    private let framing: Framing
    /// A row's text, or nil to leave it out.
    private let render: (APITicketRow) -> String?
    private var rowsWritten = 0

    init(
        request: APIRequest, lease: BlockingConnectionPool.Lease, cursor: TicketCursor, evaluator: SLAEvaluator,
        framing: Framing, render: @escaping (APITicketRow) -> String?
    ) {
        self.request = request
        self.lease = lease
        self.cursor = cursor
        self.evaluator = evaluator
        self.framing = framing
        self.render = render
    }

    deinit { finish() }

    func next() throws -> [UInt8]? {
        guard let cursor else { return nil }
        let batch: [(SourceTicket, [StatusChange])]?
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
        var text = ""
        for (ticket, history) in batch {
            guard let row = render(APITicketRow(ticket, history: history, evaluator: evaluator, now: request.now))
            else { continue }
            text += (rowsWritten == 0 ? framing.first : framing.separator) + row
            rowsWritten += 1
        }
        return Array(text.utf8)
    }

    private func finish() {
        // The cursor's transaction ends on the connection before the connection goes back.
        cursor?.close()
        cursor = nil
        if let lease { request.pool.give(back: lease) }
        lease = nil
    }
}
