/// A query parameter, sent to the server as text and typed by the server from its context
/// (or by an explicit cast in the SQL, e.g. `$1::timestamptz`). Values are never spliced into SQL.
public enum PostgresParameter: Sendable, Hashable {
    case null
    case text(String)

    public init(_ string: String?) { self = string.map(PostgresParameter.text) ?? .null }
    public init(_ int: Int) { self = .text(String(int)) }
    public init(_ double: Double) { self = .text(double.isFinite ? "\(double)" : (double.isNaN ? "NaN" : (double > 0 ? "Infinity" : "-Infinity"))) }
    public init(_ bool: Bool) { self = .text(bool ? "t" : "f") }
}

/// One decoded cell of a result, for code that reads columns it does not know in advance.
public enum PostgresValue: Sendable, Hashable {
    case null
    case text(String)
    case integer(Int64)
    case double(Double)
    case bool(Bool)
    /// Microseconds since 1970-01-01T00:00:00Z.
    case timestamp(Int64)
    case uuid(String)
}
