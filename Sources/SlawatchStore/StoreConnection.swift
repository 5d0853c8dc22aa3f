import PostgresClient

/// One open connection to PostgreSQL as the store's types use it.
///
/// Not `Sendable`: like the `PostgresConnection` it owns, it stays with the thread that uses it.
/// Outside the store nothing reaches the SQL connection itself: the store's types (`ClockStore`,
/// `EventStore`, ...) are made over a `StoreConnection` and run their own statements. Every
/// failure comes out as a `StoreError` that says what the store was doing.
public final class StoreConnection {
    let postgres: PostgresConnection
    public let settings: ConnectionSettings
    /// A second connection this one drives alongside itself (statements sent on both at once),
    /// opened on demand and closed with this one.
    private var companionConnection: StoreConnection?

    init(postgres: PostgresConnection, settings: ConnectionSettings) {
        self.postgres = postgres
        self.settings = settings
    }

    /// Opens a connection with `settings`: keepalives as connection keywords, then its
    /// `statement_timeout` (`SET TIME ZONE 'UTC'` comes with every `PostgresConnection`).
    static func open(_ settings: ConnectionSettings) throws(StoreError) -> StoreConnection {
        let postgres: PostgresConnection
        do {
            postgres = try PostgresConnection(
                url: settings.url, applicationName: settings.applicationName, options: settings.keepaliveOptions)
        } catch {
            throw StoreError(
                .unavailable, "cannot connect to PostgreSQL (\(PostgresConnection.redacted(settings.url)))",
                serverDetail: error.serverText ?? error.message, sqlState: error.sqlState)
        }
        let connection = StoreConnection(postgres: postgres, settings: settings)
        try connection.setStatementTimeout(milliseconds: settings.statementTimeoutMilliseconds, local: false)
        return connection
    }

    /// Whether the connection is still usable (the server may have gone away).
    public var isHealthy: Bool { postgres.isHealthy }

    /// Runs `body` inside a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try run("starting a transaction") { try $0.execute("BEGIN") }
        do {
            let value = try body()
            try run("committing a transaction") { try $0.execute("COMMIT") }
            return value
        } catch {
            try? postgres.execute("ROLLBACK")
            throw error
        }
    }

    /// The second connection, opened now when there is none or it broke; nil when it cannot be
    /// opened (the caller goes on with this one alone).
    public func companion() -> StoreConnection? {
        if let open = companionConnection, !open.isHealthy { companionConnection = nil }
        if companionConnection == nil { companionConnection = try? StoreConnection.open(settings) }
        return companionConnection
    }

    /// Closes the second connection, if any.
    public func dropCompanion() { companionConnection = nil }

    /// Runs `body` without the statement timeout, then sets it back: a read of a whole view takes as
    /// long as the view is large.
    func withoutStatementTimeout<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        let timeout = settings.statementTimeoutMilliseconds
        guard timeout != 0 else { return try body() }
        try setStatementTimeout(milliseconds: 0, local: false)
        let value: T
        do {
            value = try body()
        } catch {
            if isHealthy { try? setStatementTimeout(milliseconds: timeout, local: false) }
            throw error
        }
        try setStatementTimeout(milliseconds: timeout, local: false)
        return value
    }

    /// Sets `statement_timeout` for the session, or (`local`) for the current transaction only.
    func setStatementTimeout(milliseconds: Int, local: Bool) throws(StoreError) {
        try run("setting the statement timeout") {
            try $0.query(
                "SELECT set_config('statement_timeout', $1, $2)", [.string(String(milliseconds)), .bool(local)])
        }
    }

    /// Runs `body` with the SQL connection; any failure in it becomes a `StoreError` saying that
    /// the store was `doing` something.
    @discardableResult
    func run<T>(_ doing: @autoclosure () -> String, _ body: (PostgresConnection) throws -> T) throws(StoreError) -> T {
        do {
            return try body(postgres)
        } catch {
            throw StoreError.from(error, doing: doing())
        }
    }
}

@available(*, unavailable)
extension StoreConnection: Sendable {}
