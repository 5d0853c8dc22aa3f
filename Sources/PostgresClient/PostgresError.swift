/// A failure talking to PostgreSQL, with a message meant for a person.
///
/// `code` says what kind of failure it is so that callers can map it (an unreachable server is
/// exit code 3 for the CLI); `message` says what happened and, where it can, what to do.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public static let connectionFailed = Code(name: "connectionFailed")
        public static let queryFailed = Code(name: "queryFailed")
        public static let unexpectedType = Code(name: "unexpectedType")
        public static let unexpectedNull = Code(name: "unexpectedNull")
        public static let noSuchColumn = Code(name: "noSuchColumn")
        public var description: String { name }
    }

    public let code: Code
    public let message: String
    /// The five-character SQLSTATE of a server error, when the server sent one.
    public let sqlState: String?
    /// What libpq or the server said, verbatim, when `message` wraps it in words of its own (a
    /// failed connection attempt); nil when `message` is that text itself.
    public let serverText: String?

    public init(_ code: Code, _ message: String, sqlState: String? = nil, serverText: String? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.serverText = serverText
    }

    public var description: String { message }
}
