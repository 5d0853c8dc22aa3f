import Foundation
import PostgresClient
import SlawatchCore

/// Reads the help desk through the two source views of SPEC section 2. Never writes to them.
///
/// View names come from the rules as validated identifiers and are always quoted; values travel
/// as parameters.
struct SourceRepository {
    let connection: PostgresConnection
    let views: SourceViews
    /// Further view columns that rule conditions mention and that must be read too.
    let extraColumns: [String]
    /// `uuid` when the views' `ticket_id` is a uuid (so that lookups by id can use an index), else `text`.
    let idType: String
    /// The type OID of every column of `selectList`, in its order.
    let selectTypes: [(name: String, type: UInt32)]
    /// The type OIDs of the status changes view's `ticket_id`, `status` and `changed_at`.
    let changeTypes: [(name: String, type: UInt32)]

    /// `alsoColumns`: further columns to read, e.g. those a `--filter` mentions.
    init(connection: PostgresConnection, rules: RuleSet, alsoColumns: Set<String> = []) throws(CommandError) {
        self.connection = connection
        self.views = rules.source
        let both = try Self.typedColumns(of: [rules.source.tickets, rules.source.statusChanges], connection)
        let typed = both[0]
        let ticketColumns = typed.map(\.name)
        idType = typed.first { $0.name == "ticket_id" }?.type == 2950 ? "uuid" : "text"
        let missing = SourceTicket.requiredColumns.filter { !ticketColumns.contains($0) }
        if !missing.isEmpty {
            throw .runtime(
                "source view \(rules.source.tickets) has no column \(missing.joined(separator: ", ")); redefine the view with the columns of SPEC section 2 (see README, 'Pointing slawatch at your help desk')")
        }
        let typedChanges = both[1]
        let changeColumns = typedChanges.map(\.name)
        let missingChanges = ["ticket_id", "status", "changed_at"].filter { !changeColumns.contains($0) }
        if !missingChanges.isEmpty {
            throw .runtime(
                "source view \(rules.source.statusChanges) has no column \(missingChanges.joined(separator: ", ")); it needs ticket_id, status, changed_at (see README)")
        }
        let referenced = rules.referencedSourceColumns.union(alsoColumns.subtracting(ComputedColumn.names))
            .subtracting(SourceTicket.requiredColumns)
        let unknown = referenced.filter { !ticketColumns.contains($0) }.sorted()
        if !unknown.isEmpty {
            throw .usage(
                "column \(unknown.joined(separator: ", ")) is neither a column of view \(rules.source.tickets) nor a computed column (\(ComputedColumn.names.sorted().joined(separator: ", "))); add it to the view or fix the rule or filter")
        }
        extraColumns = referenced.sorted()
        let types = Dictionary(typed.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
        selectTypes = (SourceTicket.requiredColumns + extraColumns).map { ($0, types[$0]!) }
        let changeTypesByName = Dictionary(typedChanges.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
        changeTypes = ["ticket_id", "status", "changed_at"].map { ($0, changeTypesByName[$0]!) }
    }

    /// The columns of each view with their type OIDs, read from the catalog: asking for a view's
    /// rows with `LIMIT 0` would plan its joins, a few milliseconds of every cycle.
    static func typedColumns(of views: [QualifiedName], _ connection: PostgresConnection) throws(CommandError) -> [[(name: String, type: UInt32)]] {
        var columns = Array(repeating: [(name: String, type: UInt32)](), count: views.count)
        var found = Array(repeating: false, count: views.count)
        do {
            let result = try connection.query(
                """
                SELECT v.n::int, a.attname::text, (
                    -- A domain's values travel in its base type's format, which is what the decoders know.
                    WITH RECURSIVE d(t) AS (
                        SELECT a.atttypid UNION ALL SELECT ty.typbasetype FROM pg_type ty JOIN d ON ty.oid = d.t WHERE ty.typtype = 'd')
                    SELECT d.t FROM d JOIN pg_type ty ON ty.oid = d.t WHERE ty.typtype <> 'd')::bigint
                FROM unnest($1::text[]) WITH ORDINALITY AS v(name, n)
                JOIN pg_class c ON c.oid = to_regclass(v.name)
                LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                ORDER BY v.n, a.attnum
                """, [.text(textArray(views.map(\.quoted)))])
            for row in result.rows {
                let n = try row.int(0) - 1
                found[n] = true
                if let name = try row.optionalString(1), let type = try row.optionalInt(2) { columns[n].append((name, UInt32(type))) }
            }
        } catch {
            throw .runtime("cannot read the columns of source views \(views.map(\.description).joined(separator: ", ")): \(error)")
        }
        if let missing = found.firstIndex(of: false) {
            throw .runtime("source view \(views[missing]) does not exist; create it as README 'Pointing slawatch at your help desk' shows")
        }
        return columns
    }

    var selectList: String { selectList(of: nil) }

    /// The columns a ticket is decoded from, in `decodeTicket`'s order, quoted, of the view as
    /// `alias` when given.
    func selectList(of alias: String?) -> String {
        (SourceTicket.requiredColumns + extraColumns).map { "\(alias.map { $0 + "." } ?? "")\"\($0)\"" }.joined(separator: ", ")
    }

    /// Every ticket, or those whose code is `code`.
    func tickets(code: String? = nil) throws(CommandError) -> [SourceTicket] {
        var sql = "SELECT \(selectList) FROM \(views.tickets.quoted)"
        var parameters: [PostgresParameter] = []
        if let code {
            sql += " WHERE code = $1"
            parameters.append(.text(code))
        }
        var result: [SourceTicket] = []
        do {
            try connection.forEachRow(sql, parameters) { row in
                result.append(try decodeTicket(row))
            }
        } catch let error as CommandError {
            throw error
        } catch {
            throw .runtime("reading \(views.tickets): \(error)")
        }
        return result
    }

    /// For an incremental cycle: the ids of the tickets updated after `instant` in a version not
    /// in `seen`, in the order read.
    ///
    /// Cycles look back past their predecessor (for late commits), so most tickets updated since
    /// were evaluated already in this very version; only a narrow range of the view is read.
    func ticketIDs(updatedAfter instant: Instant, except seen: EvaluatedVersions) throws(CommandError) -> [String] {
        do {
            var ids: [String] = []
            for row in try connection.query(
                "SELECT ticket_id::text, updated_at, status::text, priority::text FROM \(views.tickets.quoted) WHERE updated_at > $1::timestamptz",
                [.text(instant.iso8601)]
            ).rows {
                let id = try row.string(0)
                let version = (updated: try row.timestamp(1), status: try row.optionalString(2) ?? "", priority: try row.optionalString(3) ?? "")
                if !seen.contains(id: id, updated: version.updated, status: version.status, priority: version.priority) { ids.append(id) }
            }
            return ids
        } catch {
            throw .runtime("reading \(views.tickets) for changes: \(error)")
        }
    }

    /// The tickets of `ids`, each with what its stored clock saw when it was last evaluated (nil
    /// when it has none), and their status changes. With `second`, each half of `ids` is read on
    /// a connection of its own, the two at the same time.
    func ticketsWithEarlierReadings(
        _ ids: [String], alongside second: PostgresConnection? = nil
    ) throws(CommandError) -> (tickets: [(SourceTicket, EventDetector.EarlierReading?)], histories: [String: [StatusChange]]) {
        guard !ids.isEmpty else { return ([], [:]) }
        let earlierAt = SourceTicket.requiredColumns.count + extraColumns.count
        let ticketSQL = """
            SELECT \(selectList(of: "t")), \(ClockStore.earlierColumns)
            FROM \(views.tickets.quoted) t LEFT JOIN slawatch.clocks k ON k.ticket_id = t.ticket_id::text COLLATE "C"
            WHERE t.ticket_id = ANY($1::\(idType)[])
            """
        let historySQL = statusChangesSQL(byID: true)
        var ticketResults: [PostgresResult] = [], historyResults: [PostgresResult] = []
        do {
            if let second, ids.count > 1 {
                let halves = [Array(ids[..<(ids.count / 2)]), Array(ids[(ids.count / 2)...])].map { [PostgresParameter.text(Self.textArray($0))] }
                let tickets = try connection.query(ticketSQL, halves[0], alongside: second, ticketSQL, halves[1])
                let history = try connection.query(historySQL, halves[0], alongside: second, historySQL, halves[1])
                ticketResults = [tickets.0, tickets.1]
                historyResults = [history.0, history.1]
            } else {
                let parameters: [PostgresParameter] = [.text(Self.textArray(ids))]
                ticketResults = [try connection.query(ticketSQL, parameters)]
                historyResults = [try connection.query(historySQL, parameters)]
            }
        } catch {
            throw .runtime("reading \(views.tickets) and \(views.statusChanges): \(error)")
        }
        var histories: [String: [StatusChange]] = [:]
        var tickets: [(SourceTicket, EventDetector.EarlierReading?)] = []
        tickets.reserveCapacity(ids.count)
        do {
            for row in historyResults.flatMap(\.rows) { try Self.addStatusChange(row, to: &histories) }
        } catch {
            throw .runtime("reading \(views.statusChanges): \(error)")
        }
        do {
            for row in ticketResults.flatMap(\.rows) { tickets.append((try decodeTicket(row), try ClockStore.decodeEarlier(row, at: earlierAt))) }
        } catch let error as CommandError {
            throw error
        } catch {
            throw .runtime("reading \(views.tickets) with the stored clocks: \(error)")
        }
        return (tickets, histories)
    }

    /// The version of the ticket in a row of `selectList` — what a stored clock was computed from —
    /// read as `decodeTicket` reads it, without the rest.
    func decodeVersion(_ row: some PostgresFields) throws -> (updated: Int64, status: String?, priority: String) {
        (try row.optionalTimestamp(10) ?? row.timestamp(9), try row.optionalString(5), try row.optionalString(6) ?? "")
    }

    func decodeTicket(_ row: some PostgresFields) throws -> SourceTicket {
        do {
            var ticket = SourceTicket(
                ticketID: try row.string(0), code: try row.string(1), title: try row.optionalString(2) ?? "",
                category: try row.optionalString(3), requesterEmail: try row.optionalString(4), status: try row.string(5),
                priority: try row.optionalString(6) ?? "", area: try row.optionalString(7),
                areaManagerEmail: try row.optionalString(8), createdAt: Instant(microseconds: try row.timestamp(9)),
                updatedAt: Instant(microseconds: try row.optionalTimestamp(10) ?? row.timestamp(9)))
            for (offset, name) in extraColumns.enumerated() {
                ticket.extra[name] = Self.fieldValue(try row.value(11 + offset))
            }
            return ticket
        } catch {
            let id = (try? row.optionalString(0)) ?? nil
            throw CommandError.runtime("source view \(views.tickets), ticket \(id ?? "?"): \(error)")
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

    /// Status changes grouped by ticket id; only of `ticketIDs` when given.
    func statusChanges(ticketIDs: [String]? = nil) throws(CommandError) -> [String: [StatusChange]] {
        let sql = statusChangesSQL(byID: ticketIDs != nil)
        let parameters: [PostgresParameter] = ticketIDs.map { [.text(Self.textArray($0))] } ?? []
        var result: [String: [StatusChange]] = [:]
        do {
            // A few tickets' history comes whole; row-at-a-time mode costs a result per row and
            // is kept for reading every ticket's.
            if ticketIDs != nil {
                for row in try connection.query(sql, parameters).rows { try Self.addStatusChange(row, to: &result) }
            } else {
                try connection.forEachRow(sql, parameters) { try Self.addStatusChange($0, to: &result) }
            }
        } catch {
            throw .runtime("reading \(views.statusChanges): \(error)")
        }
        return result
    }

    /// Every status change, or (`byID`) those of the ticket ids in `$1`.
    private func statusChangesSQL(byID: Bool) -> String {
        "SELECT ticket_id, status, changed_at FROM \(views.statusChanges.quoted)" + (byID ? " WHERE ticket_id = ANY($1::\(idType)[])" : "")
    }

    private static func addStatusChange(_ row: PostgresRow, to changes: inout [String: [StatusChange]]) throws {
        guard let id = try row.optionalString(0), let status = try row.optionalString(1), let at = try row.optionalTimestamp(2)
        else { return }  // A row without ticket, status or instant says nothing about a clock.
        changes[id, default: []].append(StatusChange(status: status, at: Instant(microseconds: at)))
    }

    /// A PostgreSQL array literal for a text[] parameter; every element quoted and escaped.
    static func textArray(_ items: [String]) -> String { arrayLiteral(items.map { Optional($0) }) }

    /// A text[] literal where nil elements are SQL NULLs, every other element quoted and escaped.
    static func arrayLiteral(_ items: [String?]) -> String {
        // Built byte by byte: this runs over every id of every chunk of a full pass.
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(items.count * 40 + 2)
        for (n, item) in items.enumerated() {
            if n > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let item else { bytes.append(contentsOf: "NULL".utf8); continue }
            bytes.append(UInt8(ascii: "\""))
            for byte in item.utf8 {
                if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }
}
