import PostgresClient

/// A failure of the store, with a message meant for a person.
///
/// `code` says what kind of failure it is, so that callers can map it (the CLI: `unavailable` is
/// exit code 3, `unknownColumn` a usage error, everything else 1). `message` says what the store
/// was doing and what went wrong in its own words; it never holds the text PostgreSQL or libpq
/// sent, which is kept apart in `serverDetail` for a caller that chooses to show it.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The database cannot be reached: the connection failed or was lost.
        public static let unavailable = Code(name: "unavailable")
        /// The server refused or failed a statement.
        public static let queryFailed = Code(name: "queryFailed")
        /// The data is not what slawatch needs: a source view without a required column, a value
        /// of an unexpected type or NULL where one is required, a stored notice that cannot be read.
        public static let unexpectedData = Code(name: "unexpectedData")
        /// A statement ran longer than the connection's `statement_timeout`.
        public static let timeout = Code(name: "timeout")
        /// A rule or filter names a column the tickets view does not have.
        public static let unknownColumn = Code(name: "unknownColumn")
        public var description: String { name }
    }

    public let code: Code
    public let message: String
    /// What PostgreSQL (or libpq) said, verbatim, when it said something.
    public let serverDetail: String?
    /// The five-character SQLSTATE of a server error, when the server sent one.
    public let sqlState: String?

    public init(_ code: Code, _ message: String, serverDetail: String? = nil, sqlState: String? = nil) {
        self.code = code
        self.message = message
        self.serverDetail = serverDetail
        self.sqlState = sqlState
    }

    /// The message alone: interpolating an error never shows the server's text by accident.
    public var description: String { message }

    /// The message followed by the server's text, for a caller that shows both.
    public var messageWithDetail: String { serverDetail.map { "\(message): \($0)" } ?? message }

    /// `error` as a store error that says the store was `doing` something when it happened.
    static func from(_ error: any Error, doing: String) -> StoreError {
        switch error {
        case let error as StoreError:
            return error
        case let error as PostgresError:
            if error.code == .connectionFailed {
                return StoreError(
                    .unavailable, "\(doing) failed: the connection to PostgreSQL was lost",
                    serverDetail: error.serverText ?? error.message, sqlState: error.sqlState)
            }
            if error.sqlState == "57014" {
                return StoreError(
                    .timeout, "\(doing) took longer than the statement timeout allows", serverDetail: error.message,
                    sqlState: error.sqlState)
            }
            if error.code == .queryFailed {
                return StoreError(
                    .queryFailed, "\(doing) failed", serverDetail: error.message, sqlState: error.sqlState)
            }
            // Decoding failures are PostgresClient's own words about a column, not the server's.
            return StoreError(.unexpectedData, "\(doing): \(error.message)")
        default:
            return StoreError(.unexpectedData, "\(doing): \(error)")
        }
    }
}
