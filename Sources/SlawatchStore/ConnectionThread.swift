/// One connection to PostgreSQL with a thread of its own: every call on the connection runs on
/// that thread, and async callers get the results back through a continuation.
///
/// The connection is opened at the first call and kept; it is the same session from call to
/// call, which is what a caller holding session state needs (the worker's advisory lock). When it
/// breaks it stays broken until `reconnect()`, so that such a caller notices. A `DatabasePool` is
/// made of these and replaces a broken one on its next borrow.
public final class ConnectionThread: ConnectionProvider {
    public let settings: ConnectionSettings
    private let thread: StoreThread

    public init(settings: ConnectionSettings) {
        self.settings = settings
        thread = StoreThread()
    }

    deinit { thread.stop() }

    /// Runs `body` on this connection's thread, opening the connection first when there is none.
    /// The caller is suspended meanwhile; `body` must not keep the connection.
    public func withConnection<T>(_ body: (StoreConnection) throws -> T) async throws -> T {
        try await run(replacing: false, body).result.get()
    }

    /// Closes the connection and opens a new one (a new session: what the old one held is gone).
    public func reconnect() async throws {
        _ = try await run(replacing: true) { _ in }.result.get()
    }

    /// Reconnects when the connection broke (a new session), and otherwise keeps it.
    public func repair() async throws {
        if !(await isHealthy()) { try await reconnect() }
    }

    /// Whether there is an open connection that has not broken.
    public func isHealthy() async -> Bool {
        await thread.perform { $0?.isHealthy ?? false } ?? false
    }

    /// Runs `body` on the thread with the connection, replaced by a new one first when
    /// `replacing`; returns what it gave or threw, and whether the connection is usable after it.
    func run<T>(
        replacing: Bool, _ body: (StoreConnection) throws -> T
    ) async -> (result: Result<T, any Error>, healthy: Bool) {
        let settings = self.settings
        return await withoutActuallyEscaping(body) { body in
            let lent = Lent(body)
            // The body must be gone when this closure returns, also when the thread never ran it.
            defer { lent.release() }
            let outcome = await thread.perform { slot in
                Unchecked(Self.call(lent, replacing: replacing, settings: settings, on: &slot))
            }
            guard let outcome else {
                return (.failure(StoreError(.unavailable, "the database connection was closed")), false)
            }
            return outcome.value
        }
    }

    /// Runs the lent body once with the thread's connection (opened or replaced first as needed),
    /// letting go of the body before it returns.
    private static func call<T>(
        _ lent: Lent<(StoreConnection) throws -> T>, replacing: Bool, settings: ConnectionSettings,
        on slot: inout StoreConnection?
    ) -> (result: Result<T, any Error>, healthy: Bool) {
        guard let body = lent.take() else {
            return (.failure(StoreError(.unavailable, "the database connection was closed")), false)
        }
        do {
            if replacing { slot = nil }
            if slot == nil { slot = try StoreConnection.open(settings) }
            return (.success(try body(slot!)), slot!.isHealthy)
        } catch {
            return (.failure(error), slot?.isHealthy ?? false)
        }
    }
}

/// A caller's closure lent to a store thread while the caller waits: taken by the thread once,
/// and released by the caller after the thread answered (the answer orders the two).
final class Lent<Body>: @unchecked Sendable {
    private var body: Body?
    init(_ body: Body) { self.body = body }

    func take() -> Body? {
        defer { body = nil }
        return body
    }

    func release() { body = nil }
}

/// A value handed to another thread while its owner waits for it to come back.
struct Unchecked<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

extension StoreThread {
    /// Runs `work` on the thread with its connection and returns its result; nil when the thread
    /// has stopped.
    func perform<R: Sendable>(_ work: @escaping @Sendable (inout StoreConnection?) -> R) async -> R? {
        await withCheckedContinuation { (continuation: CheckedContinuation<R?, Never>) in
            let accepted = submit { slot in continuation.resume(returning: work(&slot)) }
            if !accepted { continuation.resume(returning: nil) }
        }
    }
}
