import PostgresClient
import SlawatchCore

/// Every ticket of the source with its history, in chunks, so that a full evaluation of a help
/// desk of millions of tickets holds one chunk at a time.
///
/// It owns a connection of its own, holding one read-only snapshot with two cursors — tickets and
/// status changes, both ordered by ticket id — and merges them as it goes. Ids are ordered as bytes
/// (a uuid's canonical text, or text under the "C" collation), the order the merge compares in.
final class SourceStream {
    private let connection: PostgresConnection
    private let source: SourceRepository
    /// History rows fetched and not yet handed out; `next` is the first of them.
    private var buffer: [(id: String, change: StatusChange)] = []
    private var next = 0
    private var historyDone = false
    private var ticketsDone = false

    init(url: String, source: SourceRepository) throws(CommandError) {
        do {
            connection = try PostgresConnection(url: url, applicationName: "slawatch-reader")
        } catch {
            throw CommandError(.databaseUnreachable, error.message)
        }
        self.source = source
        let order = source.idType == "uuid" ? "ticket_id" : "ticket_id COLLATE \"C\""
        do {
            try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try connection.execute(
                "DECLARE slawatch_tickets NO SCROLL CURSOR FOR SELECT \(source.selectList) FROM \(source.views.tickets.quoted) ORDER BY \(order)")
            try connection.execute(
                """
                DECLARE slawatch_history NO SCROLL CURSOR FOR
                SELECT ticket_id, status, changed_at FROM \(source.views.statusChanges.quoted)
                WHERE ticket_id IS NOT NULL AND status IS NOT NULL AND changed_at IS NOT NULL ORDER BY \(order)
                """)
        } catch {
            throw .runtime("reading the source views: \(error.message)")
        }
    }

    deinit { try? connection.execute("ROLLBACK") }

    /// The next chunk of at most `size` tickets with their histories; empty when done.
    func next(_ size: Int) throws(CommandError) -> [(ticket: SourceTicket, history: [StatusChange])] {
        guard !ticketsDone else { return [] }
        var chunk: [(ticket: SourceTicket, history: [StatusChange])] = []
        do {
            let result = try connection.query("FETCH FORWARD \(size) FROM slawatch_tickets")
            if result.rowCount < size { ticketsDone = true }
            chunk.reserveCapacity(result.rowCount)
            for row in result.rows { chunk.append((try source.decodeTicket(row), [])) }
        } catch let error as CommandError {
            throw error
        } catch {
            throw .runtime("reading \(source.views.tickets): \(error)")
        }
        guard let last = chunk.last?.ticket.ticketID else { return [] }
        var index: [String: Int] = [:]
        index.reserveCapacity(chunk.count)
        for (i, item) in chunk.enumerated() { index[item.ticket.ticketID] = i }
        // History rows up to the chunk's last id belong to it (or to no ticket at all).
        while true {
            if next == buffer.count {
                if historyDone { break }
                do {
                    let result = try connection.query("FETCH FORWARD 50000 FROM slawatch_history")
                    buffer = try result.rows.map { row in
                        (try row.string(0), StatusChange(status: try row.string(1), at: Instant(microseconds: try row.timestamp(2))))
                    }
                } catch {
                    throw .runtime("reading \(source.views.statusChanges): \(error)")
                }
                next = 0
                if buffer.isEmpty { historyDone = true; break }
            }
            let (id, change) = buffer[next]
            if Self.bytesAfter(id, last) { break }
            if let i = index[id] { chunk[i].history.append(change) }
            next += 1
        }
        return chunk
    }

    static func bytesAfter(_ a: String, _ b: String) -> Bool {
        b.utf8.lexicographicallyPrecedes(a.utf8)
    }
}
