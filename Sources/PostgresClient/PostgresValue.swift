/// A query parameter. Values are never spliced into SQL.
///
/// The typed cases travel in PostgreSQL's binary format under their type's OID, so the server
/// neither parses text nor guesses a type: SQL needs no `$1::bigint` casts, and arrays cost no
/// quoting or escaping. A typed case holding nil is a NULL of that type. `.text` and `.null` travel
/// untyped, as text the server types from its context (or from a cast in the SQL).
public enum PostgresParameter: Sendable, Hashable {
    /// An untyped NULL.
    case null
    /// Untyped text, typed by the server from its context.
    case text(String)
    /// `text`.
    case string(String?)
    case int8(Int64?)
    case float8(Double?)
    case bool(Bool?)
    /// A `uuid` given in its text form (hex digits, dashes optional); sent as its 16 bytes.
    case uuid(String?)
    /// A `timestamptz` in microseconds since 1970-01-01T00:00:00Z; `Int64.max` and `Int64.min` are
    /// infinity and -infinity.
    case timestamptz(Int64?)
    case bytea([UInt8]?)
    /// `text[]`; nil elements are NULLs.
    case textArray([String?])
    case int8Array([Int64?])
    case float8Array([Double?])
    case boolArray([Bool?])
    /// `uuid[]`, each element in its text form.
    case uuidArray([String?])
    /// `timestamptz[]` in microseconds since 1970-01-01T00:00:00Z.
    case timestamptzArray([Int64?])

    public init(_ string: String?) { self = string.map(PostgresParameter.text) ?? .null }
    public init(_ int: Int) { self = .int8(Int64(int)) }
    public init(_ double: Double) { self = .float8(double) }
    public init(_ bool: Bool) { self = .bool(bool) }
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
