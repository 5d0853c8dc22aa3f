/// Something that lends a connection to PostgreSQL for a while: a `DatabasePool`, or a
/// `ConnectionThread` a caller keeps for itself.
public protocol ConnectionProvider: Sendable {
    /// Runs `body` with a connection, on that connection's thread, while the caller waits.
    /// `body` must not keep the connection.
    func withConnection<T>(_ body: (StoreConnection) throws -> T) async throws -> T

    /// Opens a new connection in place of one that broke, so that the next call can succeed once the
    /// database answers again; throws when it cannot. A provider that replaces broken connections by
    /// itself has nothing to do.
    func repair() async throws
}

extension ConnectionProvider {
    public func repair() async throws {}
}
