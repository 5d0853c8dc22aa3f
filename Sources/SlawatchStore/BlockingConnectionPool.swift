import Glibc
import Synchronization

/// A pool of connections for callers on threads of their own that may block, such as the HTTP API's
/// handlers, which run on libmicrohttpd's threads.
///
/// `DatabasePool` serves async callers: each of its connections has a thread, and a borrower is
/// suspended while the thread works. A handler on libmicrohttpd's thread is synchronous and may not
/// wait on Swift's cooperative pool (it would have to block a thread of that pool, or of its own, on a
/// continuation); it needs a connection it can use on its own thread. So this pool lends the
/// connections themselves: a borrower blocks (on a condition variable, a bounded time) until one is
/// idle, uses it on its own thread, and gives it back. A connection is used by one thread at a time,
/// which is all libpq asks. Connections are opened when first lent with the pool's settings; one
/// that broke is replaced when it is lent next.
public final class BlockingConnectionPool: @unchecked Sendable {
    // @unchecked: every field below is read and written only with `mutex` held; the connections
    // themselves are used only by the thread that borrowed them.
    public let settings: ConnectionSettings
    public let size: Int
    private var mutex = pthread_mutex_t()
    private var available = pthread_cond_t()
    private var idle: [StoreConnection?]
    private var lentCount = 0
    private var closed = false

    public init(settings: ConnectionSettings, size: Int) {
        precondition(size > 0, "a pool needs at least one connection")
        self.settings = settings
        self.size = size
        idle = Array(repeating: nil, count: size)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&available, nil)
    }

    deinit {
        pthread_cond_destroy(&available)
        pthread_mutex_destroy(&mutex)
    }

    /// A connection lent to the calling thread until ``give(back:)``.
    public struct Lease {
        public let connection: StoreConnection
    }

    /// Blocks the calling thread until a connection is idle (at most `timeout`), then lends it, opened
    /// (or replaced, when it broke) first. Throws `unavailable` when none became idle in time, when the
    /// pool is closed, or when the connection cannot be opened.
    public func borrow(timeout: Duration = .seconds(10)) throws(StoreError) -> Lease {
        let slot: StoreConnection?
        pthread_mutex_lock(&mutex)
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let (seconds, attoseconds) = timeout.components
        deadline.tv_sec += Int(seconds)
        deadline.tv_nsec += Int(attoseconds / 1_000_000_000)
        if deadline.tv_nsec >= 1_000_000_000 {
            deadline.tv_sec += 1
            deadline.tv_nsec -= 1_000_000_000
        }
        // Bounded by the deadline: a timed wait returns ETIMEDOUT once it passed.
        while !closed && lentCount == size {
            if pthread_cond_timedwait(&available, &mutex, &deadline) == ETIMEDOUT { break }
        }
        guard !closed, lentCount < size else {
            let isClosed = closed
            pthread_mutex_unlock(&mutex)
            throw StoreError(
                .unavailable,
                isClosed
                    ? "the connection pool is closed"
                    : "every database connection of the pool (\(size)) stayed busy for \(timeout)")
        }
        lentCount += 1
        slot = idle.popLast() ?? nil
        pthread_mutex_unlock(&mutex)
        if let slot, slot.isHealthy { return Lease(connection: slot) }
        do {
            return Lease(connection: try StoreConnection.open(settings))
        } catch {
            release(nil)
            throw error
        }
    }

    /// Takes a connection back; a broken one (or any, once the pool is closed) is closed.
    public func give(back lease: Lease) {
        let connection = lease.connection
        release(connection.isHealthy ? connection : nil)
    }

    /// Runs `body` with a borrowed connection on the calling thread.
    public func withConnection<T>(timeout: Duration = .seconds(10), _ body: (StoreConnection) throws -> T) throws -> T {
        let lease = try borrow(timeout: timeout)
        let connection = lease.connection
        defer { give(back: lease) }
        return try body(connection)
    }

    /// Closes the idle connections; borrowers waiting or to come get `unavailable`, and connections
    /// still lent are closed as they come back.
    public func close() {
        pthread_mutex_lock(&mutex)
        closed = true
        idle = []
        pthread_cond_broadcast(&available)
        pthread_mutex_unlock(&mutex)
    }

    /// Connections lent out right now.
    public var lent: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return lentCount
    }

    private func release(_ connection: StoreConnection?) {
        pthread_mutex_lock(&mutex)
        lentCount -= 1
        if !closed { idle.append(connection) }
        pthread_cond_signal(&available)
        pthread_mutex_unlock(&mutex)
    }
}
