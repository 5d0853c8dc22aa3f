import PostgresClient
import SlawatchCore

/// Which tickets of the tickets view the HTTP API reads, and in which order: the one query path behind
/// its endpoints (README, "The HTTP API").
///
/// Everything here is answered by PostgreSQL, with values as parameters: the scope, a ticket's code,
/// the conditions of `filter` on view columns (as a ``FilterPredicate``: plain SQL that compares exactly
/// as `slawatch.filter_matches`, the function the dashboard function and `migrate` share, does), the
/// search, and a sort on a view column. What needs a clock (a computed column in a filter or a sort) is
/// the caller's, which evaluates the clocks of the rows read.
public struct TicketQuery: Sendable {
    public enum Scope: Sendable, Hashable {
        /// Every ticket.
        case all
        /// The tickets whose `area` is this one, code point for code point.
        case area(String)
        /// The tickets whose `requester_email` is this one.
        case requester(String)
    }

    public var scope: Scope = .all
    /// Only the ticket with this code.
    public var code: String?
    /// Applied in SQL as far as it names view columns only (the whole filter, or those operands of a
    /// top-level AND): the caller applies the whole filter again once clocks are known.
    public var filter: Filter?
    /// Text searched for, ignoring case, in `searchColumns` (those the view has).
    public var search: String?
    public var searchColumns: [String] = ["code", "title", "category", "description"]
    /// A view column to sort by, nulls last, then by code; nil: `updated_at` (missing: `created_at`).
    public var sortColumn: String?
    public var descending = true

    public init() {}

    /// The part of `filter` that names no computed column.
    var sqlFilter: Filter? {
        guard let filter else { return nil }
        if filter.columns.isDisjoint(with: ComputedColumn.names) { return filter }
        if case .group(.AND, let items) = filter {
            let plain = items.filter { $0.columns.isDisjoint(with: ComputedColumn.names) }
            return plain.isEmpty ? nil : .group(.AND, plain)
        }
        return nil
    }
}

/// Reads tickets and their histories for a ``TicketQuery`` over one connection.
///
/// Not `Sendable`: it stays with the thread its connection is lent to.
public struct TicketReader {
    let connection: StoreConnection
    public let source: SourceRepository

    /// View columns the API shows when the view has them.
    public static let optionalColumns: Set<String> = [
        "description", "subcategory", "assignee", "requester_id", "requester_name",
    ]

    /// `alsoColumns`: further view columns to read (those a filter names); an unknown one is
    /// `unknownColumn`.
    public init(connection: StoreConnection, rules: RuleSet, alsoColumns: Set<String> = []) throws(StoreError) {
        self.init(
            connection: connection,
            layout: try Self.layout(connection: connection, rules: rules, alsoColumns: alsoColumns))
    }

    /// Over a layout read before (the API keeps them between requests).
    public init(connection: StoreConnection, layout: SourceRepository.Layout) {
        self.connection = connection
        source = SourceRepository(connection: connection, layout: layout)
    }

    /// The views' layout with the columns the API shows and `alsoColumns`.
    public static func layout(connection: StoreConnection, rules: RuleSet, alsoColumns: Set<String> = [])
        throws(StoreError) -> SourceRepository.Layout
    {
        try SourceRepository.Layout(
            connection: connection, rules: rules, alsoColumns: alsoColumns, optionalColumns: optionalColumns)
    }

    /// How many tickets the query's SQL part keeps.
    public func count(_ query: TicketQuery) throws(StoreError) -> Int {
        let (condition, parameters) = whereClause(query)
        return try connection.run("counting the tickets of \(source.views.tickets)") {
            try $0.query("SELECT count(*) FROM \(source.views.tickets.quoted) s \(condition)", parameters).rows[0]
                .int(0)
        }
    }

    /// A page of the query's tickets in its order, each with its status changes, and (`counting`) how
    /// many tickets the query's SQL part keeps: one statement, prepared on the connection (its text
    /// depends only on the query's shape; the values are parameters).
    public func pageWithHistories(_ query: TicketQuery, limit: Int, offset: Int, counting: Bool) throws(StoreError)
        -> (total: Int?, tickets: [(SourceTicket, [StatusChange])])
    {
        var (condition, parameters) = whereClause(query)
        let order = orderClause(query)
        let limitParameter = "$\(parameters.count + 1)"
        let offsetParameter = "$\(parameters.count + 2)"
        parameters += [.int8(Int64(limit)), .int8(Int64(offset))]
        // The count as a window over the rows the condition keeps: one scan of them, and a bounded sort
        // for the page (a count of its own would read them a second time). The page's rows are then
        // numbered in the page's order, which orders the joined rows: a ticket comes with a row per change.
        let page =
            "SELECT \(source.selectList(of: "s"))\(counting ? ", count(*) OVER () AS slawatch_total" : "") "
            + "FROM \(source.views.tickets.quoted) s \(condition) ORDER BY \(order) "
            + "LIMIT \(limitParameter) OFFSET \(offsetParameter)"
        let sql =
            "SELECT q.*, h.\"status\", h.\"changed_at\" FROM (SELECT p.*, row_number() OVER () AS slawatch_place "
            + "FROM (\(page)) p) q LEFT JOIN \(source.views.statusChanges.quoted) h "
            + "ON h.\"ticket_id\" = q.\"ticket_id\" "
            + "ORDER BY q.slawatch_place"
        let columns = SourceTicket.requiredColumns.count + source.extraColumns.count
        let placeColumn = columns + (counting ? 1 : 0)
        var total: Int?
        var tickets: [(SourceTicket, [StatusChange])] = []
        try connection.run("reading \(source.views.tickets)") { connection in
            var place: Int?
            for row in try connection.queryPrepared(sql, parameters).rows {
                if counting, total == nil { total = try row.int(columns) }
                let rowPlace = try row.int(placeColumn)
                if rowPlace != place {
                    place = rowPlace
                    tickets.append((try source.decodeTicket(row), []))
                }
                // As the history is read apart: a row without status or instant says nothing about a clock.
                if let status = try row.optionalString(placeColumn + 1),
                    let at = try row.optionalTimestamp(placeColumn + 2)
                {
                    tickets[tickets.count - 1].1.append(StatusChange(status: status, at: Instant(microseconds: at)))
                }
            }
        }
        // A page past the end has no row to carry the count.
        if counting, total == nil { total = offset == 0 ? 0 : try count(query) }
        return (total, tickets)
    }

    /// Every ticket of the query in its order, a batch at a time, through a cursor in one read-only
    /// snapshot: memory holds one batch. The cursor holds the connection's transaction until it is
    /// finished or closed.
    public func cursor(_ query: TicketQuery, batchSize: Int = 1_000) throws(StoreError) -> TicketCursor {
        let (sql, parameters) = select(query)
        try connection.run("opening a cursor on \(source.views.tickets)") { connection in
            try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            do {
                try connection.query("DECLARE slawatch_api_cursor NO SCROLL CURSOR FOR " + sql, parameters)
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
        return TicketCursor(reader: self, batchSize: max(1, batchSize))
    }

    func fetch(_ count: Int) throws(StoreError) -> [(SourceTicket, [StatusChange])] {
        var tickets: [SourceTicket] = []
        try connection.run("reading \(source.views.tickets)") { connection in
            for row in try connection.query("FETCH \(count) FROM slawatch_api_cursor").rows {
                tickets.append(try source.decodeTicket(row))
            }
        }
        return try withHistories(tickets)
    }

    func endCursor(commit: Bool) {
        try? connection.run("closing a cursor") { try $0.execute(commit ? "COMMIT" : "ROLLBACK") }
    }

    private func withHistories(_ tickets: [SourceTicket]) throws(StoreError) -> [(SourceTicket, [StatusChange])] {
        guard !tickets.isEmpty else { return [] }
        let histories = try source.statusChanges(ticketIDs: tickets.map(\.ticketID))
        return tickets.map { ($0, histories[$0.ticketID] ?? []) }
    }

    private func select(_ query: TicketQuery) -> (String, [PostgresParameter]) {
        let (condition, parameters) = whereClause(query)
        let sql =
            "SELECT \(source.selectList(of: "s")) FROM \(source.views.tickets.quoted) s \(condition) "
            + "ORDER BY \(orderClause(query))"
        return (sql, parameters)
    }

    /// The query's order over the view's alias `s`: its sort column, nulls last, then the code as bytes.
    func orderClause(_ query: TicketQuery) -> String {
        let direction = query.descending ? "DESC" : "ASC"
        let order: String
        if let column = query.sortColumn, column != "updated_at" {
            let isText = [25, 1043, 1042, 19].contains(type(of: column))
            order = "s.\"\(column)\"\(isText ? "::text COLLATE \"C\"" : "") \(direction) NULLS LAST"
        } else {
            // As the dashboard orders: a ticket without updated_at shows created_at.
            order = "COALESCE(s.\"updated_at\", s.\"created_at\") \(direction)"
        }
        return "\(order), s.\"code\"::text COLLATE \"C\""
    }

    private func type(of column: String) -> UInt32 {
        source.layout.viewColumnTypes.first { $0.name == column }?.type ?? 0
    }

    func whereClause(_ query: TicketQuery) -> (String, [PostgresParameter]) {
        var conditions: [String] = []
        var parameters: [PostgresParameter] = []
        func parameter(_ value: PostgresParameter) -> String {
            parameters.append(value)
            return "$\(parameters.count)"
        }
        switch query.scope {
        case .all: break
        case .area(let area): conditions.append("s.\"area\"::text = \(parameter(.string(area)))")
        case .requester(let email): conditions.append("s.\"requester_email\"::text = \(parameter(.string(email)))")
        }
        if let code = query.code { conditions.append("s.\"code\"::text = \(parameter(.string(code)))") }
        if let search = query.search, !search.isEmpty {
            var escaped = ""
            for character in search {
                if character == "\\" || character == "%" || character == "_" { escaped.append("\\") }
                escaped.append(character)
            }
            let pattern = parameter(.string("%" + escaped + "%"))
            let columns = query.searchColumns.filter { column in
                source.layout.viewColumnTypes.contains { $0.name == column }
            }
            if !columns.isEmpty {
                conditions.append(
                    "(" + columns.map { "s.\"\($0)\"::text ILIKE \(pattern)" }.joined(separator: " OR ") + ")")
            }
        }
        if let filter = query.sqlFilter {
            conditions.append(
                FilterPredicate.sql(
                    filter, alias: "s", columnTypes: source.layout.viewColumnTypes,
                    view: source.views.tickets.quoted, parameter: parameter))
        }
        return (conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "), parameters)
    }
}

/// The rows of a ``TicketReader/cursor(_:batchSize:)``, a batch at a time; closes its transaction when
/// the last batch was read, on ``close()``, or when it goes.
public final class TicketCursor {
    private let reader: TicketReader
    private let batchSize: Int
    private var open = true

    init(reader: TicketReader, batchSize: Int) {
        self.reader = reader
        self.batchSize = batchSize
    }

    deinit { close() }

    /// The next batch; nil once every row was read.
    public func next() throws(StoreError) -> [(SourceTicket, [StatusChange])]? {
        guard open else { return nil }
        let batch: [(SourceTicket, [StatusChange])]
        do {
            batch = try reader.fetch(batchSize)
        } catch {
            close()
            throw error
        }
        if batch.isEmpty {
            reader.endCursor(commit: true)
            open = false
            return nil
        }
        return batch
    }

    /// Ends the cursor's transaction (rolled back: it only read).
    public func close() {
        guard open else { return }
        open = false
        reader.endCursor(commit: false)
    }
}

@available(*, unavailable)
extension TicketCursor: Sendable {}
