import PostgresClient
import SlawatchCore

/// A filter on a view's columns as a plain SQL predicate over a row alias, matching exactly the rows
/// `slawatch.filter_matches(filter, slawatch.filter_subject(to_jsonb(row)), filter_kinds(view))` matches
/// (the semantics the engine has, README "Rules"), so that PostgreSQL can use indexes and needs no
/// PL/pgSQL call per row.
///
/// Column names come from the view's own columns and are quoted; every operand is a parameter. A
/// condition whose column type and operand are not mirrored here (a boolean column, an operand of
/// another type than its column's, a column of another type) keeps `slawatch.filter_matches` for that
/// condition only. The predicate is never NULL.
///
/// Computed columns (`computed`) are SQL expressions of the query with their kind, compared the same
/// way (a NULL one, a ticket without a clock, matches only `EQ null`); a condition on one that is not
/// mirrored here is handed to `filter_matches` over a JSON object holding that one value.
public enum FilterPredicate {
    /// How a value is compared, as `slawatch.filter_compare` names its kinds.
    public enum Kind: Sendable {
        case text, number, timestamp, bool

        var name: String {
            switch self {
            case .text: return "text"
            case .number: return "number"
            case .timestamp: return "timestamp"
            case .bool: return "bool"
            }
        }
    }

    /// A computed column as an expression of the query: text, a float8, a timestamptz or a boolean.
    public struct Computed: Sendable {
        public var expression: String
        public var kind: Kind

        public init(_ expression: String, _ kind: Kind) {
            self.expression = expression
            self.kind = kind
        }
    }

    /// `columnTypes`: the view's columns with their type OIDs; `view`: the view's quoted name (for the
    /// conditions left to `filter_matches`); `computed`: the computed columns by name (they take
    /// precedence over view columns, as in the engine); `parameter` adds a parameter and returns its
    /// placeholder.
    public static func sql(
        _ filter: Filter, alias: String, columnTypes: [(name: String, type: UInt32)], view: String,
        computed: [String: Computed] = [:], parameter: (PostgresParameter) -> String
    ) -> String {
        let types = Dictionary(columnTypes.map { ($0.name, $0.type) }, uniquingKeysWith: { first, _ in first })
        var viewParameter: String?
        func build(_ filter: Filter) -> String {
            switch filter {
            case .group(let op, let items):
                if items.isEmpty { return op == .AND ? "true" : "false" }
                return "(" + items.map(build).joined(separator: op == .AND ? " AND " : " OR ") + ")"
            case .condition(let condition):
                if let c = computed[condition.column] {
                    if let compiled = compile(
                        condition, raw: c.expression, value: c.expression, kind: c.kind, parameter: parameter)
                    {
                        return compiled
                    }
                    let json = parameter(.string(CompiledRules.filterJSON(filter)))
                    let name = parameter(.string(condition.column))
                    return "slawatch.filter_matches(\(json)::jsonb, jsonb_build_object(\(name)::text, \(c.expression)), "
                        + "jsonb_build_object(\(name)::text, \(parameter(.string(c.kind.name)))::text))"
                }
                if let compiled = compile(condition, alias: alias, types: types, parameter: parameter) {
                    return compiled
                }
                let json = parameter(.string(CompiledRules.filterJSON(filter)))
                if viewParameter == nil { viewParameter = parameter(.string(view)) }
                // The kinds in a subquery: an init plan read once, not a catalog lookup per row.
                return "slawatch.filter_matches(\(json)::jsonb, slawatch.filter_subject(to_jsonb(\(alias))), "
                    + "(SELECT slawatch.filter_kinds(\(viewParameter!)::regclass)))"
            }
        }
        return build(filter)
    }

    static func kind(_ type: UInt32) -> Kind? {
        switch type {
        case 25, 1043, 2950: return .text
        case 20, 21, 23, 700, 701, 1700: return .number
        case 1082, 1114, 1184: return .timestamp
        default: return nil
        }
    }

    /// The condition as SQL, or nil when `filter_matches` must evaluate it.
    static func compile(
        _ c: Filter.Condition, alias: String, types: [String: UInt32], parameter: (PostgresParameter) -> String
    ) -> String? {
        guard let type = types[c.column], let kind = kind(type) else { return nil }
        func column(_ name: String) -> String { alias + ".\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        // The value as filter_subject shows it: no title or priority is an empty one, no updated_at is
        // created_at (when both have one type, else left to filter_matches).
        let raw: String
        switch c.column {
        case "title", "priority":
            guard kind == .text else { return nil }
            raw = "COALESCE(\(column(c.column))::text, '')"
        case "updated_at":
            guard types["created_at"] == type else { return nil }
            raw = "COALESCE(\(column("updated_at")), \(column("created_at")))"
        default:
            raw = column(c.column)
        }
        // The value as filter_compare reads it back from its JSON: text as text, numbers as doubles,
        // a timestamp without zone or a date as UTC.
        let value: String
        switch (kind, type) {
        case (.text, _): value = raw == column(c.column) ? raw + "::text" : raw
        case (.number, _): value = raw + "::float8"
        case (.timestamp, 1114): value = "(\(raw) AT TIME ZONE 'UTC')"
        case (.timestamp, 1082): value = "(\(raw)::timestamp AT TIME ZONE 'UTC')"
        case (.timestamp, _), (.bool, _): value = raw
        }
        return compile(c, raw: raw, value: value, kind: kind, parameter: parameter)
    }

    /// The condition over `raw` (the value, NULL when missing) read as `value`, or nil when
    /// `filter_matches` must evaluate it.
    static func compile(
        _ c: Filter.Condition, raw: String, value: String, kind: Kind, parameter: (PostgresParameter) -> String
    ) -> String? {
        switch (c.op, c.operand) {
        case (.EQ, .null): return "(\(raw) IS NULL)"
        case (.NE, .null): return "(\(raw) IS NOT NULL)"
        case (.LIKE, .text(let pattern)):
            guard kind == .text else { return "false" }
            let p = "normalize(\(parameter(.string(pattern)))::text, NFC)"
            // A pattern's last backslash escapes nothing and is dropped, as filter_matches does.
            let trimmed =
                "(CASE WHEN (length(\(p)) - length(rtrim(\(p), chr(92)))) % 2 = 1 THEN left(\(p), -1) ELSE \(p) END)"
            return "COALESCE(normalize(\(value), NFC) LIKE \(trimmed), false)"
        case (.LIKE, _): return "false"
        case (.IN, .list(let items)):
            var parts: [String] = []
            for item in items {
                if case .null = item {
                    parts.append("\(raw) IS NULL")
                } else if let equal = comparison(.EQ, value, kind, item, parameter) {
                    parts.append(equal)
                } else {
                    return nil
                }
            }
            return parts.isEmpty ? "false" : "COALESCE(" + parts.joined(separator: " OR ") + ", false)"
        case (.IN, _): return nil
        default:
            guard let compared = comparison(c.op, value, kind, c.operand, parameter) else { return nil }
            return "COALESCE(\(compared), false)"
        }
    }

    /// `value op operand` as filter_compare orders them; NULL when either is NULL or the operand does not
    /// read as the column's kind; nil when not mirrored here.
    static func comparison(
        _ op: Filter.Operator, _ value: String, _ kind: Kind, _ operand: FilterOperand,
        _ parameter: (PostgresParameter) -> String
    ) -> String? {
        let symbol: String
        switch op {
        case .EQ: symbol = "="
        case .NE: symbol = "<>"
        case .GT: symbol = ">"
        case .GE: symbol = ">="
        case .LT: symbol = "<"
        case .LE: symbol = "<="
        case .LIKE, .IN: return nil
        }
        switch (kind, operand) {
        case (.number, .number):
            // Read from the operand's JSON, as filter_compare reads it.
            let p = parameter(.string(CompiledRules.operandJSON(operand)))
            return "(\(value) \(symbol) (\(p)::jsonb #>> '{}')::float8)"
        case (.number, .text(let text)):
            return "(\(value) \(symbol) slawatch.filter_number(\(parameter(.string(text)))::text))"
        case (.timestamp, .text(let text)):
            return "(\(value) \(symbol) slawatch.filter_instant(\(parameter(.string(text)))::text))"
        case (.bool, .bool(let b)):
            // false < true, as filter_compare orders booleans.
            return "(\(value) \(symbol) \(parameter(.bool(b)))::boolean)"
        case (.text, .text(let text)):
            let p = parameter(.string(text)) + "::text"
            // Equal when byte for byte, or canonically equivalent when either is not ASCII; otherwise
            // ordered by code point.
            let equal =
                "(\(value) = \(p) OR ((octet_length(\(value)) <> char_length(\(value)) OR octet_length(\(p)) <> char_length(\(p))) AND normalize(\(value), NFC) = normalize(\(p), NFC)))"
            let less = "\(value) COLLATE \"C\" < \(p) COLLATE \"C\""
            let greater = "\(value) COLLATE \"C\" > \(p) COLLATE \"C\""
            switch op {
            case .EQ: return equal
            case .NE: return "(NOT \(equal))"
            case .GT: return "(NOT \(equal) AND \(greater))"
            case .GE: return "(\(equal) OR \(greater))"
            case .LT: return "(NOT \(equal) AND \(less))"
            case .LE: return "(\(equal) OR \(less))"
            case .LIKE, .IN: return nil
            }
        default:
            return nil
        }
    }
}
