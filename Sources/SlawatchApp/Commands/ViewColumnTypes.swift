import SlawatchCore

/// The types filters compare a source view's columns by, read from the view's PostgreSQL types, so
/// that the CLI's `--filter` is checked against the columns as they are rather than as documented.
enum ViewColumnTypes {
    /// The filter type of a PostgreSQL type OID (domains already resolved to their base type); nil
    /// for a type filters do not compare by kind (json, arrays, ...), whose operands are not checked.
    static func type(oid: UInt32) -> ColumnType? {
        switch oid {
        case 16: return .boolean
        case 20, 21, 23, 700, 701, 1700: return .number  // int8, int2, int4, float4, float8, numeric
        case 1082, 1114, 1184: return .timestamptz  // date, timestamp, timestamptz
        case 2950: return .uuid
        case 19, 25, 705, 1042, 1043: return .text  // name, text, unknown, bpchar, varchar
        default: return nil
        }
    }

    /// A usage error naming the first condition of `filter` (given as `--filter`) whose operand does
    /// not fit its column: a column of `view` by the view's type, a computed column by its own.
    static func check(_ filter: Filter, view: [(name: String, type: UInt32)]) throws(CommandError) {
        var types: [String: ColumnType] = [:]
        for column in view { types[column.name] = type(oid: column.type) }
        // A computed column hides a view column of the same name, as in the rows filters see.
        for name in ComputedColumn.names { types[name] = ColumnType.known[name] }
        if let mismatch = filter.typeMismatches({ types[$0] }).first {
            throw .usage("--filter: \(mismatch.path): \(mismatch.message)")
        }
    }
}
