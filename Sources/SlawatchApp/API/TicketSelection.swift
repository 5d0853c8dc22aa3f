import SlawatchCore
import SlawatchStore

/// The tickets a list or query request asks for: the store's query (scope, search, the filter's view
/// conditions, a sort on a view column, the page) and, when a filter or a sort needs clocks, the clocks
/// of every ticket the store keeps, filtered and ordered here.
///
/// Without clocks in the filter or the sort, PostgreSQL counts and pages (an index on the sort column
/// answers a page of 30 without reading the rest) and only the page's clocks are computed. With them,
/// every ticket the SQL part keeps is evaluated, a batch at a time, and only the best `offset + limit`
/// are kept in memory.
struct TicketSelection {
    var query: TicketQuery
    /// The whole filter, over columns.
    var filter: Filter?
    /// A column (view or computed); nil: `updated_at`.
    var sortColumn: String?
    var descending = true

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
        var total = 0
        // Each kept row with its place in the store's order: ties keep that order.
        var kept: [(row: APITicketRow, place: Int)] = []
        let cursor = try reader.cursor(q)
        defer { cursor.close() }
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
        let ordered = sorted(kept).map(\.row)
        let page = ordered.dropFirst(offset).prefix(limit ?? Int.max)
        return (total, Array(page))
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
