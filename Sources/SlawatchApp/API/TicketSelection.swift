import SlawatchCore
import SlawatchStore

/// The tickets a list or query request asks for: the store's query (scope, search, the filter's view
/// conditions, a sort on a view column, the page) and, when a filter or a sort needs clocks, the clocks
/// of every ticket the store keeps, filtered and ordered here.
///
/// Without clocks in the filter or the sort, PostgreSQL counts and pages (an index on the sort column
/// answers a page of 30 without reading the rest) and only the page's clocks are computed. With them,
/// a ``ClockedTicketQuery``: the tickets whose stored clock is fresh are filtered, counted and ordered by
/// PostgreSQL over those clocks (the best `offset + limit` read); every other ticket the SQL part keeps
/// is evaluated, a batch at a time, keeping only its best `offset + limit`; the two are merged in the
/// order the engine's values give, and the rows shown are the engine's.
struct TicketSelection {
    var query: TicketQuery
    /// The whole filter, over columns.
    var filter: Filter?
    /// A column (view or computed); nil: `updated_at`.
    var sortColumn: String?
    var descending = true
    /// The fingerprint of the server's rules (``DashboardCursor/fingerprint(_:)``): the stored clocks
    /// are read only when the database compiled these rules. Nil: never.
    var compiledFingerprint: Int64?

    var needsClocks: Bool {
        !(filter?.columns ?? []).isDisjoint(with: ComputedColumn.names)
            || sortColumn.map(ComputedColumn.names.contains) ?? false
    }

    /// The store's part of the query.
    var storeQuery: TicketQuery {
        var q = query
        q.filter = filter
        let sortsInSQL = !(sortColumn.map(ComputedColumn.names.contains) ?? false)
        q.sortColumn = sortsInSQL ? sortColumn : nil
        q.descending = sortsInSQL ? descending : true
        return q
    }

    /// The tickets kept, their total, and the page `offset ..< offset + limit` (every one when `limit`
    /// is nil).
    func run(
        _ reader: TicketReader, offset: Int, limit: Int?, evaluator: SLAEvaluator, now: Instant
    ) throws(StoreError) -> (total: Int, rows: [APITicketRow]) {
        let q = storeQuery
        if !needsClocks {
            guard limit != 0 else { return (try reader.count(q), []) }
            // The count and the page with its histories in one statement: one round trip, planned once
            // per connection.
            let (total, page) = try reader.pageWithHistories(
                q, limit: limit ?? Int(Int64.max), offset: offset, counting: true)
            return (total ?? 0, page.map { APITicketRow($0.0, history: $0.1, evaluator: evaluator, now: now) })
        }
        let keep = limit.map { offset.addingReportingOverflow($0).partialValue } ?? Int.max
        let computedSort = sortColumn.flatMap { ComputedColumn.names.contains($0) ? $0 : nil }
        let clocked = ClockedTicketQuery(
            reader: reader, query: q, filter: filter, sortColumn: computedSort, descending: descending, now: now,
            fingerprint: compiledFingerprint)
        // The tickets with a fresh stored clock come filtered, counted and ordered by PostgreSQL (the
        // first `keep`); the others through the cursor, evaluated here as before.
        let (fresh, cursor) = try clocked.open(keep: keep < Int.max ? keep : nil)
        defer { cursor.close() }
        var total = 0
        // Each kept row with its place in the store's order: ties keep that order.
        var kept: [(row: APITicketRow, place: Int)] = []
        while let batch = try cursor.next() {
            for (ticket, history) in batch {
                let row = APITicketRow(ticket, history: history, evaluator: evaluator, now: now)
                if let filter, !filter.matches(row) { continue }
                total += 1
                kept.append((row, total))
                // Trimmed to the rows that can still make the page, now and then rather than per row.
                if keep < Int.max, kept.count >= max(2 * keep, 1_024) {
                    kept = Array(sorted(kept).prefix(keep))
                }
            }
        }
        let others = sorted(kept).prefix(keep).map(\.row)
        let stored = fresh.tickets.map { APITicketRow($0.0, history: $0.1, evaluator: evaluator, now: now) }
        let ordered = try merged(stored, others, clocked)
        let page = ordered.dropFirst(offset).prefix(limit ?? Int.max)
        return (fresh.total + total, Array(page))
    }

    /// The rows from stored clocks and those evaluated here, each already in the selection's order, as
    /// one list in that order: by the computed sort column as `sorted` orders it, ties (and a selection
    /// without one) in the store's order.
    private func merged(_ stored: [APITicketRow], _ others: [APITicketRow], _ clocked: ClockedTicketQuery)
        throws(StoreError) -> [APITicketRow]
    {
        if stored.isEmpty { return others }
        if others.isEmpty { return stored }
        let byStore: (APITicketRow, APITicketRow) -> Bool
        if let column = storeQuery.sortColumn, column != "updated_at" {
            // A view column's order is PostgreSQL's (types, collation): it orders the ids.
            let rows = Dictionary((stored + others).map { ($0.ticket.ticketID, $0) }, uniquingKeysWith: { a, _ in a })
            return try clocked.ordered(Array(rows.keys)).compactMap { rows[$0] }
        } else {
            // COALESCE(updated_at, created_at) in the query's direction, then the code as bytes.
            let newestFirst = storeQuery.descending
            byStore = { a, b in
                if a.ticket.updatedAt != b.ticket.updatedAt {
                    return newestFirst ? a.ticket.updatedAt > b.ticket.updatedAt : a.ticket.updatedAt < b.ticket.updatedAt
                }
                return a.ticket.code.utf8.lexicographicallyPrecedes(b.ticket.code.utf8)
            }
        }
        guard let column = sortColumn, ComputedColumn.names.contains(column) else {
            return (stored + others).sorted(by: byStore)
        }
        return (stored + others).sorted { a, b in
            let order = APITicketRow.compare(a.value(of: column) ?? .null, b.value(of: column) ?? .null)
            if order != 0 { return descending ? order > 0 : order < 0 }
            return byStore(a, b)
        }
    }

    private func sorted(_ rows: [(row: APITicketRow, place: Int)]) -> [(row: APITicketRow, place: Int)] {
        guard let column = sortColumn, ComputedColumn.names.contains(column) else { return rows }
        return rows.sorted { a, b in
            let order = APITicketRow.compare(a.row.value(of: column) ?? .null, b.row.value(of: column) ?? .null)
            if order != 0 { return descending ? order > 0 : order < 0 }
            return a.place < b.place
        }
    }
}
