import SlawatchCore

/// A request's `filter` (the rules' grammar over the API's field names and any column), read and
/// checked against the tickets view's columns and types: every problem is a message for the client.
enum APIFilter {
    enum Problem: Error {
        /// The exact text the ticket list documents for an operator it does not know.
        case unsupportedOperator(String)
        case invalid(String)
    }

    /// The filter over columns; nil for `null` or an absent one.
    static func read(_ value: JSONValue?) throws(Problem) -> Filter? {
        guard let value else { return nil }
        var filterValue = value
        switch value {
        case .null: return nil
        case .string(let text):
            // A filter sent as JSON text, as some clients encode it.
            do { filterValue = try JSON5Parser.parse(text) } catch {
                throw .invalid("filter: not valid JSON (\(error.location))")
            }
        default: break
        }
        if let op = unknownOperator(filterValue) { throw .unsupportedOperator(Filter.unsupportedOperatorMessage(op)) }
        do {
            return try RulesLoader.filter(value: filterValue, origin: "filter", aliases: APIField.columns)
        } catch {
            throw .invalid(error.issues.map(\.description).joined(separator: "; "))
        }
    }

    /// Checks that every column is a view or computed column and every operand fits its column's type.
    static func check(_ filter: Filter, view: [(name: String, type: UInt32)]) throws(Problem) {
        let names = Set(view.map(\.name))
        if let unknown = filter.columns.subtracting(names).subtracting(ComputedColumn.names).sorted().first {
            throw .invalid(
                "filter: the column \(unknown) is neither a field of the list (\(APIField.columns.keys.sorted().joined(separator: ", "))) nor a column of the tickets view"
            )
        }
        var types: [String: ColumnType] = [:]
        for column in view { types[column.name] = ViewColumnTypes.type(oid: column.type) }
        for name in ComputedColumn.names { types[name] = ColumnType.known[name] }
        if let mismatch = filter.typeMismatches({ types[$0] }).first {
            throw .invalid("filter: \(mismatch.path): \(mismatch.message)")
        }
    }

    /// The first operator (of a condition or a group) that is neither a comparison nor AND/OR, as sent.
    /// Bounded by the value's size (the parser already bounds its depth).
    static func unknownOperator(_ value: JSONValue) -> String? {
        guard case .object(let members) = value else { return nil }
        if case .string(let op)? = members["op"], Filter.Operator(rawValue: op) == nil,
            Filter.GroupOperator(rawValue: op) == nil
        {
            return op
        }
        if members["column"] == nil, case .array(let items)? = members["operand"] {
            for item in items { if let op = unknownOperator(item) { return op } }
        }
        return nil
    }
}
