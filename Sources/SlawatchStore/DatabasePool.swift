import Synchronization

/// A small pool of connections to PostgreSQL, each with a thread of its own, for callers that
/// may come from many tasks at once.
///
/// A borrower gets an idle connection, or waits (suspended, not blocking a thread) until one is
/// given back. Connections are opened when first lent, with the pool's settings (keepalives, a
/// `statement_timeout`); one that broke in a borrower's hands is replaced by a new one when it is
/// lent next. A connection is lent to one borrower at a time, and used only on its own thread.
public final class DatabasePool: ConnectionProvider {
    public let settings: ConnectionSettings
    private let connections: [ConnectionThread]
    private typealias Ledger = PoolLedger<CheckedContinuation<PoolLease, Never>>
    private let ledger: Mutex<Ledger>

    /// A pool of at most `size` connections.
    public init(settings: ConnectionSettings, size: Int = 4) {
        precondition(size > 0, "a pool needs at least one connection")
        self.settings = settings
        var connections: [ConnectionThread] = []
        for _ in 0..<size { connections.append(ConnectionThread(settings: settings)) }
        self.connections = connections
        ledger = Mutex(Ledger(size: size))
    }

    public var size: Int { connections.count }

    /// Runs `body` with a connection of the pool, on that connection's thread.
    public func withConnection<T>(_ body: (StoreConnection) throws -> T) async throws -> T {
        let lease = await borrow()
        let (result, healthy) = await connections[lease.index].run(replacing: lease.replace, body)
        giveBack(lease.index, healthy: healthy)
        return try result.get()
    }

    /// Connections lent out, idle (open or not yet opened), borrowers waiting, and connections
    /// replaced so far.
    public var counts: (lent: Int, idle: Int, waiting: Int, replaced: Int) {
        ledger.withLock { ($0.lent, $0.idleCount, $0.waiting, $0.replacements) }
    }

    private func borrow() async -> PoolLease {
        await withCheckedContinuation { continuation in
            if let lease = ledger.withLock({ $0.borrow(continuation) }) { continuation.resume(returning: lease) }
        }
    }

    private func giveBack(_ index: Int, healthy: Bool) {
        // The next waiter is resumed outside the lock.
        guard let (waiter, lease) = ledger.withLock({ $0.giveBack(index, healthy: healthy) }) else { return }
        waiter.resume(returning: lease)
    }
}
