/// Something that lends a connection to PostgreSQL for a while: a `DatabasePool`, or a
/// `ConnectionThread` a caller keeps for itself.
public protocol ConnectionProvider: Sendable {
    /// Runs `body` with a connection, on that connection's thread, while the caller waits.
    /// `body` must not keep the connection.
    func withConnection<T>(_ body: (StoreConnection) throws -> T) async throws -> T
}
