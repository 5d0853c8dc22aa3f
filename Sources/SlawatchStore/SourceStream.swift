import Foundation
import PostgresClient
import SlawatchCore

/// Every ticket of the source with its history and its stored clock, one ticket at a time, so
/// that a full evaluation of a help desk of millions of tickets holds one ticket at a time.
///
/// Three streams — tickets, status changes and (optionally) stored clocks, each ordered by ticket
/// id — are read on three connections of their own sharing one snapshot, so the server produces
/// all three at once while this process merges them. Ids are compared as bytes: a uuid's binary
/// form orders like its canonical text, and text ids are ordered under the "C" collation.
public final class SourceStream {
    /// A ticket, its status changes (in the order the view gave them) and the clock stored for it.
    public typealias Item = (ticket: SourceTicket, history: [StatusChange], stored: ClockStore.Stored?)

    // Each stream owns its connection: they close when the streams go.
    private let tickets: PostgresCopyStream
    private let changes: PostgresCopyStream
    private let clocks: PostgresCopyStream?
    private let source: SourceRepository

    // Ids are kept in buffers reused row after row: a full pass reads millions of rows.
    /// The status change read ahead of the ticket it belongs to, and its ticket id.
    private var change: StatusChange?
    private var changeID: [UInt8] = []
    /// The stored clock read ahead of the ticket it belongs to, and its ticket id.
    private var clock: ClockStore.Stored?
    private var clockID: [UInt8] = []
    private var previousID: [UInt8] = []
    private var previousHistory: [StatusChange] = []
    /// Stored clocks whose ticket the source no longer has, as they are found.
    public private(set) var orphanClocks: [String] = []
    /// Leave out tickets whose stored clock is stopped and of their current version.
    private let skipSettled: Bool
    /// Tickets left out so far for that reason.
    public private(set) var settled = 0

    /// Opens the streams on connections of their own, made with `settings` for streaming (no
    /// statement timeout: a pass over millions of tickets takes as long as it takes).
    public init(settings: ConnectionSettings, source: SourceRepository, withClocks: Bool, skipSettled: Bool = false)
        throws(StoreError)
    {
        self.source = source
        self.skipSettled = skipSettled && withClocks
        var opened: [PostgresConnection] = []
        for _ in 0..<(withClocks ? 3 : 2) { opened.append(try StoreConnection.open(settings.forStreaming).postgres) }
        let order = source.idType == "uuid" ? "ticket_id" : "ticket_id COLLATE \"C\""
        do {
            // JIT compiling three long scans costs more than it saves on them.
            for reader in opened { try reader.execute("SET jit = off") }
            try opened[0].execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            let snapshot = try opened[0].query("SELECT pg_export_snapshot()").rows[0].string(0)
            // SET TRANSACTION SNAPSHOT takes no parameters; the id comes from the server, and is
            // checked to be what the server makes (hex digits and dashes) before it is quoted.
            guard !snapshot.isEmpty,
                snapshot.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 70) }
                )
            else { throw StoreError(.unexpectedData, "unexpected snapshot id from the server: \(snapshot)") }
            for other in opened.dropFirst() {
                try other.execute(
                    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '\(snapshot)'")
            }
            tickets = try PostgresCopyStream(
                connection: opened[0],
                query: "SELECT \(source.selectList) FROM \(source.views.tickets.quoted) ORDER BY \(order)",
                columns: source.selectTypes)
            changes = try PostgresCopyStream(
                connection: opened[1],
                query: """
                    SELECT ticket_id, status, changed_at FROM \(source.views.statusChanges.quoted)
                    WHERE ticket_id IS NOT NULL AND status IS NOT NULL AND changed_at IS NOT NULL ORDER BY \(order)
                    """,
                columns: source.changeTypes)
            clocks =
                withClocks
                ? try PostgresCopyStream(
                    connection: opened[2], query: ClockStore.streamQuery, columns: ClockStore.streamColumns) : nil
        } catch {
            throw StoreError.from(error, doing: "reading the source views")
        }
        try advanceChange()
        try advanceClock()
    }

    /// The next ticket, or nil when every ticket was read (and `orphanClocks` is complete).
    public func next() throws(StoreError) -> Item? {
        while true {
            let read: Item??
            do { read = try tickets.next { row in try item(row) } } catch let error as StoreError { throw error } catch
            {
                throw StoreError.from(error, doing: "reading \(source.views.tickets)")
            }
            guard let read else {
                while clock != nil {
                    orphanClocks.append(String(decoding: clockID, as: UTF8.self))
                    try advanceClock()
                }
                return nil
            }
            if let item = read { return item }
        }
    }

    /// The ticket of `row` with its history and stored clock; nil when it is settled and left out.
    private func item(_ row: borrowing PostgresCopyRow) throws(StoreError) -> Item? {
        let id = row.bytes(0)
        let ticketID: String
        do { ticketID = try row.string(0) } catch {
            throw StoreError.from(error, doing: "source view \(source.views.tickets)")
        }
        let order = Self.compare(id, previousID)
        if order < 0 && !previousID.isEmpty {
            throw StoreError(
                .unexpectedData,
                "source view \(source.views.tickets) returned ticket \(ticketID) out of order; its ticket_id must sort as bytes (uuid, or text under COLLATE \"C\")"
            )
        }
        let stored = try storedClock(of: ticketID)
        if skipSettled, let stored, try isSettled(row, stored) {
            _ = try history(of: id, keep: false)
            Self.copy(id, into: &previousID)
            previousHistory = []
            settled += 1
            return nil
        }
        let ticket: SourceTicket
        do { ticket = try source.decodeTicket(row) } catch {
            throw StoreError.from(error, doing: "source view \(source.views.tickets)")
        }
        let history: [StatusChange]
        if order == 0 && !previousID.isEmpty {
            // The same id twice (a view joining to several rows): the history went to the first.
            history = previousHistory
        } else {
            history = try self.history(of: id, keep: true)
            Self.copy(id, into: &previousID)
            previousHistory = history
        }
        return (ticket, history, stored)
    }

    /// Whether a stopped stored clock is of the ticket's current version (`updated_at`, status and
    /// priority): a stopped clock does not move, so recomputing it would give it back unchanged. One
    /// stored before its due columns existed is recomputed once, to write them.
    private func isSettled(_ row: borrowing PostgresCopyRow, _ stored: ClockStore.Stored) throws(StoreError) -> Bool {
        guard stored.stopped, stored.hasDue else { return false }
        do {
            let version = try source.decodeVersion(row)
            return version.updated == stored.updated && version.status == stored.status
                && version.priority == stored.priority
        } catch {
            throw StoreError.from(error, doing: "source view \(source.views.tickets)")
        }
    }

    private func storedClock(of ticketID: String) throws(StoreError) -> ClockStore.Stored? {
        var stored: ClockStore.Stored?
        let text = ticketID.utf8
        while let s = clock {
            let o = clockID.withUnsafeBytes { a in
                text.withContiguousStorageIfAvailable { Self.compare(a, UnsafeRawBufferPointer($0)) }
                    ?? Self.compare(a, Array(text))
            }
            if o > 0 { break }
            if o == 0 { stored = s } else { orphanClocks.append(String(decoding: clockID, as: UTF8.self)) }
            try advanceClock()
        }
        return stored
    }

    /// Moves past the status changes of tickets before `id` and those of `id`; returns the latter
    /// when `keep`, else none.
    private func history(of id: UnsafeRawBufferPointer, keep: Bool) throws(StoreError) -> [StatusChange] {
        var history: [StatusChange] = []
        while let c = change {
            let o = changeID.withUnsafeBytes { Self.compare($0, id) }
            if o > 0 { break }
            if o == 0 && keep { history.append(c) }
            try advanceChange()
        }
        return history
    }

    private func advanceChange() throws(StoreError) {
        do {
            change = try changes.next { row in
                let change = StatusChange(status: try row.string(1), at: Instant(microseconds: try row.timestamp(2)))
                Self.copy(row.bytes(0), into: &changeID)
                return change
            }
        } catch {
            throw StoreError.from(error, doing: "reading \(source.views.statusChanges)")
        }
    }

    private func advanceClock() throws(StoreError) {
        guard let clocks else { return }
        do {
            clock = try clocks.next { row in
                let clock = try ClockStore.decodeStored(row)
                Self.copy(row.bytes(0), into: &clockID)
                return clock
            }
        } catch {
            throw StoreError.from(error, doing: "reading slawatch.clocks")
        }
    }

    static func copy(_ bytes: UnsafeRawBufferPointer, into buffer: inout [UInt8]) {
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: bytes)
    }

    /// memcmp order, the shorter first on a common prefix.
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        if n > 0 {
            let c = memcmp(a.baseAddress!, b.baseAddress!, n)
            if c != 0 { return Int(c) }
        }
        return a.count - b.count
    }

    static func compare(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Int {
        b.withUnsafeBytes { compare(a, $0) }
    }
}
