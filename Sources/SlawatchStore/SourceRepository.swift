import Foundation
import PostgresClient
import SlawatchCore

/// Reads the help desk through its two source views (README, 'Pointing slawatch at your help
/// desk'). Never writes to them.
///
/// View names come from the rules as validated identifiers and are always quoted; values travel
/// as parameters.
public struct SourceRepository {
    let connection: StoreConnection
    /// The views' columns and their types, as read when the repository was made.
    public let layout: Layout
    public var views: SourceViews { layout.views }
    var extraColumns: [String] { layout.extraColumns }
    var idType: String { layout.idType }
    public var selectTypes: [(name: String, type: UInt32)] { layout.selectTypes }
    var changeTypes: [(name: String, type: UInt32)] { layout.changeTypes }

    /// Reads the views' layout; `alsoColumns`: further columns to read, e.g. those a `--filter`
    /// mentions.
    public init(connection: StoreConnection, rules: RuleSet, alsoColumns: Set<String> = []) throws(StoreError) {
        self.init(
            connection: connection, layout: try Layout(connection: connection, rules: rules, alsoColumns: alsoColumns))
    }

    /// Over `connection`, with a layout read before (a worker keeps it between cycles).
    public init(connection: StoreConnection, layout: Layout) {
        self.connection = connection
        self.layout = layout
    }

    /// What the views hold: their names, the columns read from them and the columns' types.
    public struct Layout: Sendable {
        public let views: SourceViews
        /// Further view columns that rule conditions mention and that must be read too.
        let extraColumns: [String]
        /// `uuid` when the views' `ticket_id` is a uuid (so that lookups by id can use an index), else `text`.
        let idType: String
        /// The type OID of every column of `selectList`, in its order.
        let selectTypes: [(name: String, type: UInt32)]
        /// The type OIDs of the status changes view's `ticket_id`, `status` and `changed_at`.
        let changeTypes: [(name: String, type: UInt32)]
        /// Every column of the tickets view with its type OID, in the view's order.
        public let viewColumnTypes: [(name: String, type: UInt32)]

        /// `alsoColumns`: further columns to read, e.g. those a `--filter` mentions. A view without a
        /// column slawatch needs is `unexpectedData`; a column of `alsoColumns` or of the rules that the
        /// tickets view lacks (and is not computed) is `unknownColumn`.
        /// `optionalColumns` are read too when the view has them (the API's `description`, say).
        init(connection: StoreConnection, rules: RuleSet, alsoColumns: Set<String>, optionalColumns: Set<String> = [])
            throws(StoreError)
        {
            self.views = rules.source
            let both = try SourceRepository.typedColumns(
                of: [rules.source.tickets, rules.source.statusChanges], connection)
            let typed = both[0]
            let ticketColumns = typed.map(\.name)
            viewColumnTypes = typed
            idType = typed.first { $0.name == "ticket_id" }?.type == 2950 ? "uuid" : "text"
            let missing = SourceTicket.requiredColumns.filter { !ticketColumns.contains($0) }
            if !missing.isEmpty {
                throw StoreError(
                    .unexpectedData,
                    "source view \(rules.source.tickets) has no column \(missing.joined(separator: ", ")); redefine the view with the columns README 'Pointing slawatch at your help desk' lists"
                )
            }
            let typedChanges = both[1]
            let changeColumns = typedChanges.map(\.name)
            let missingChanges = ["ticket_id", "status", "changed_at"].filter { !changeColumns.contains($0) }
            if !missingChanges.isEmpty {
                throw StoreError(
                    .unexpectedData,
                    "source view \(rules.source.statusChanges) has no column \(missingChanges.joined(separator: ", ")); it needs ticket_id, status, changed_at (see README)"
                )
            }
            let referenced = rules.referencedSourceColumns.union(alsoColumns.subtracting(ComputedColumn.names))
                .union(optionalColumns.filter { ticketColumns.contains($0) })
                .subtracting(SourceTicket.requiredColumns)
            let unknown = referenced.filter { !ticketColumns.contains($0) }.sorted()
            if !unknown.isEmpty {
                throw StoreError(
                    .unknownColumn,
                    "column \(unknown.joined(separator: ", ")) is neither a column of view \(rules.source.tickets) nor a computed column (\(ComputedColumn.names.sorted().joined(separator: ", "))); add it to the view or fix the rule or filter"
                )
            }
            extraColumns = referenced.sorted()
            let types = Dictionary(typed.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
            selectTypes = (SourceTicket.requiredColumns + extraColumns).map { ($0, types[$0]!) }
            let changeTypesByName = Dictionary(typedChanges.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
            changeTypes = ["ticket_id", "status", "changed_at"].map { ($0, changeTypesByName[$0]!) }
        }
    }

    /// The columns of each view with their type OIDs, read from the catalog: asking for a view's
    /// rows with `LIMIT 0` would plan its joins, a few milliseconds of every cycle.
    static func typedColumns(of views: [QualifiedName], _ connection: StoreConnection) throws(StoreError) -> [[(
        name: String, type: UInt32
    )]] {
        var columns = Array(repeating: [(name: String, type: UInt32)](), count: views.count)
        var found = Array(repeating: false, count: views.count)
        try connection.run("reading the columns of source views \(views.map(\.description).joined(separator: ", "))") {
            connection in
            let result = try connection.query(
                """
                SELECT v.n::int, a.attname::text, (
                    -- A domain's values travel in its base type's format, which is what the decoders know.
                    WITH RECURSIVE d(t) AS (
                        SELECT a.atttypid UNION ALL SELECT ty.typbasetype FROM pg_type ty JOIN d ON ty.oid = d.t WHERE ty.typtype = 'd')
                    SELECT d.t FROM d JOIN pg_type ty ON ty.oid = d.t WHERE ty.typtype <> 'd')::bigint
                FROM unnest($1) WITH ORDINALITY AS v(name, n)
                JOIN pg_class c ON c.oid = to_regclass(v.name)
                LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                ORDER BY v.n, a.attnum
                """, [.textArray(views.map(\.quoted))])
            for row in result.rows {
                let n = try row.int(0) - 1
                found[n] = true
                if let name = try row.optionalString(1), let type = try row.optionalInt(2) {
                    columns[n].append((name, UInt32(type)))
                }
            }
        }
        if let missing = found.firstIndex(of: false) {
            throw StoreError(
                .unexpectedData,
                "source view \(views[missing]) does not exist; create it as README 'Pointing slawatch at your help desk' shows"
            )
        }
        return columns
    }

    var selectList: String { selectList(of: nil) }

    /// The columns a ticket is decoded from, in `decodeTicket`'s order, quoted, of the view as
    /// `alias` when given.
    func selectList(of alias: String?) -> String {
        (SourceTicket.requiredColumns + extraColumns).map { "\(alias.map { $0 + "." } ?? "")\"\($0)\"" }.joined(
            separator: ", ")
    }

    /// Every ticket (without a statement timeout), or those whose code is `code`.
    public func tickets(code: String? = nil) throws(StoreError) -> [SourceTicket] {
        guard code != nil else {
            return try connection.withoutStatementTimeout { () throws(StoreError) in try read(code: nil) }
        }
        return try read(code: code)
    }

    private func read(code: String?) throws(StoreError) -> [SourceTicket] {
        var sql = "SELECT \(selectList) FROM \(views.tickets.quoted)"
        var parameters: [PostgresParameter] = []
        if let code {
            // Untyped: the view's code may be of any text type.
            sql += " WHERE code = $1"
            parameters.append(.text(code))
        }
        var result: [SourceTicket] = []
        try connection.run("reading \(views.tickets)") { connection in
            try connection.forEachRow(sql, parameters) { row in
                result.append(try decodeTicket(row))
            }
        }
        return result
    }

    /// For an incremental cycle: the ids of the tickets updated after `instant` in a version not
    /// in `seen`, in the order read.
    ///
    /// Cycles look back past their predecessor (for late commits), so most tickets updated since
    /// were evaluated already in this very version; only a narrow range of the view is read.
    public func ticketIDs(updatedAfter instant: Instant, except seen: EvaluatedVersions) throws(StoreError) -> [String]
    {
        try connection.run("reading \(views.tickets) for changes") { connection in
            var ids: [String] = []
            for row in try connection.query(
                "SELECT ticket_id::text, updated_at, status::text, priority::text FROM \(views.tickets.quoted) WHERE updated_at > $1",
                [.timestamptz(instant.microseconds)]
            ).rows {
                let id = try row.string(0)
                let version = (
                    updated: try row.timestamp(1), status: try row.optionalString(2) ?? "",
                    priority: try row.optionalString(3) ?? ""
                )
                if !seen.contains(id: id, updated: version.updated, status: version.status, priority: version.priority)
                {
                    ids.append(id)
                }
            }
            return ids
        }
    }

    /// The tickets of `ids`, each with what its stored clock saw when it was last evaluated (nil
    /// when it has none), and their status changes. With `second`, each half of `ids` is read on
    /// a connection of its own, the two at the same time.
    public func ticketsWithEarlierReadings(
        _ ids: [String], alongside second: StoreConnection? = nil
    ) throws(StoreError) -> (
        tickets: [(SourceTicket, EventDetector.EarlierReading?)], histories: [String: [StatusChange]]
    ) {
        guard !ids.isEmpty else { return ([], [:]) }
        let earlierAt = SourceTicket.requiredColumns.count + extraColumns.count
        let ticketSQL = """
            SELECT \(selectList(of: "t")), \(ClockStore.earlierColumns)
            FROM \(views.tickets.quoted) t LEFT JOIN slawatch.clocks k ON k.ticket_id = t.ticket_id::text COLLATE "C"
            WHERE t.ticket_id = ANY($1)
            """
        let historySQL = statusChangesSQL(byID: true)
        var ticketResults: [PostgresResult] = []
        var historyResults: [PostgresResult] = []
        try connection.run("reading \(views.tickets) and \(views.statusChanges)") { connection in
            if let second, ids.count > 1 {
                let halves = [Array(ids[..<(ids.count / 2)]), Array(ids[(ids.count / 2)...])].map { [idArray($0)] }
                let tickets = try connection.query(
                    ticketSQL, halves[0], alongside: second.postgres, ticketSQL, halves[1])
                let history = try connection.query(
                    historySQL, halves[0], alongside: second.postgres, historySQL, halves[1])
                ticketResults = [tickets.0, tickets.1]
                historyResults = [history.0, history.1]
            } else {
                let parameters = [idArray(ids)]
                ticketResults = [try connection.query(ticketSQL, parameters)]
                historyResults = [try connection.query(historySQL, parameters)]
            }
        }
        var histories: [String: [StatusChange]] = [:]
        var tickets: [(SourceTicket, EventDetector.EarlierReading?)] = []
        tickets.reserveCapacity(ids.count)
        try connection.run("reading \(views.statusChanges)") { _ in
            for row in historyResults.flatMap(\.rows) { try Self.addStatusChange(row, to: &histories) }
        }
        try connection.run("reading \(views.tickets) with the stored clocks") { _ in
            for row in ticketResults.flatMap(\.rows) {
                tickets.append((try decodeTicket(row), try ClockStore.decodeEarlier(row, at: earlierAt)))
            }
        }
        return (tickets, histories)
    }

    /// Ticket ids as an array parameter of the views' id type.
    private func idArray(_ ids: [String]) -> PostgresParameter { idType == "uuid" ? .uuidArray(ids) : .textArray(ids) }

    /// The version of the ticket in a row of `selectList` — what a stored clock was computed from —
    /// read as `decodeTicket` reads it, without the rest.
    func decodeVersion(_ row: borrowing some PostgresFields & ~Copyable) throws -> (
        updated: Int64, status: String?, priority: String
    ) {
        (try row.optionalTimestamp(10) ?? row.timestamp(9), try row.optionalString(5), try row.optionalString(6) ?? "")
    }

    func decodeTicket(_ row: borrowing some PostgresFields & ~Copyable) throws -> SourceTicket {
        do {
            var ticket = SourceTicket(
                ticketID: try row.string(0), code: try row.string(1), title: try row.optionalString(2) ?? "",
                category: try row.optionalString(3), requesterEmail: try row.optionalString(4),
                status: try row.string(5),
                priority: try row.optionalString(6) ?? "", area: try row.optionalString(7),
                areaManagerEmail: try row.optionalString(8), createdAt: Instant(microseconds: try row.timestamp(9)),
                updatedAt: Instant(microseconds: try row.optionalTimestamp(10) ?? row.timestamp(9)))
            for (offset, name) in extraColumns.enumerated() {
                ticket.extra[name] = Self.fieldValue(try row.value(11 + offset))
            }
            return ticket
        } catch {
            let id = (try? row.optionalString(0)) ?? nil
            throw StoreError(.unexpectedData, "source view \(views.tickets), ticket \(id ?? "?"): \(error)")
        }
    }

    static func fieldValue(_ value: PostgresValue) -> FieldValue {
        switch value {
        case .null: return .null
        case .text(let s), .uuid(let s): return .text(s)
        case .integer(let i): return .number(Double(i))
        case .double(let d): return .number(d)
        case .bool(let b): return .bool(b)
        case .timestamp(let t): return .instant(Instant(microseconds: t))
        }
    }

    /// Status changes grouped by ticket id; only of `ticketIDs` when given, else all of them
    /// (without a statement timeout).
    public func statusChanges(ticketIDs: [String]? = nil) throws(StoreError) -> [String: [StatusChange]] {
        guard ticketIDs != nil else {
            return try connection.withoutStatementTimeout { () throws(StoreError) in
                try readStatusChanges(ticketIDs: nil)
            }
        }
        return try readStatusChanges(ticketIDs: ticketIDs)
    }

    private func readStatusChanges(ticketIDs: [String]?) throws(StoreError) -> [String: [StatusChange]] {
        let sql = statusChangesSQL(byID: ticketIDs != nil)
        let parameters: [PostgresParameter] = ticketIDs.map { [idArray($0)] } ?? []
        var result: [String: [StatusChange]] = [:]
        try connection.run("reading \(views.statusChanges)") { connection in
            // A few tickets' history comes whole; row-at-a-time mode costs a result per row and
            // is kept for reading every ticket's.
            if ticketIDs != nil {
                for row in try connection.query(sql, parameters).rows { try Self.addStatusChange(row, to: &result) }
            } else {
                try connection.forEachRow(sql, parameters) { try Self.addStatusChange($0, to: &result) }
            }
        }
        return result
    }

    /// Every status change, or (`byID`) those of the ticket ids in `$1`.
    private func statusChangesSQL(byID: Bool) -> String {
        "SELECT ticket_id, status, changed_at FROM \(views.statusChanges.quoted)"
            + (byID ? " WHERE ticket_id = ANY($1)" : "")
    }

    private static func addStatusChange(_ row: PostgresRow, to changes: inout [String: [StatusChange]]) throws {
        guard let id = try row.optionalString(0), let status = try row.optionalString(1),
            let at = try row.optionalTimestamp(2)
        else { return }  // A row without ticket, status or instant says nothing about a clock.
        changes[id, default: []].append(StatusChange(status: status, at: Instant(microseconds: at)))
    }
}
