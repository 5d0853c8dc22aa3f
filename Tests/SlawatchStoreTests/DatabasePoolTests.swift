import Foundation
import Glibc
import PostgresClient
import Synchronization
import Testing

@testable import SlawatchStore

/// The pool against a real PostgreSQL: its connections' settings, its threads, concurrent
/// borrowers, and a broken connection replaced.
@Suite struct DatabasePoolTests {
    @Test func connectionsHaveTheirStatementTimeoutAndKeepalives() async throws {
        let db = try StoreTestDatabase()
        let pool = DatabasePool(settings: ConnectionSettings(url: db.url, statementTimeoutMilliseconds: 2_500), size: 2)
        let (timeout, name, keepalive) = try await pool.withConnection { connection in
            try connection.run("reading settings") { postgres in
                let row = try postgres.query(
                    "SELECT current_setting('statement_timeout'), current_setting('application_name')"
                ).rows[0]
                return (try row.string(0), try row.string(1), Self.keepalive(of: postgres.socketDescriptor))
            }
        }
        #expect(timeout == "2500ms" && name == "slawatch")
        #expect(
            keepalive.enabled && keepalive.idle == 30 && keepalive.interval == 10 && keepalive.count == 3,
            "\(keepalive)")
        // SHOW says the same.
        let shown = try await pool.withConnection {
            try $0.run("SHOW") { try $0.query("SHOW statement_timeout").rows[0].string(0) }
        }
        #expect(shown == "2500ms")
        // The default is a minute; a stream's connections have none.
        let defaults = DatabasePool(settings: db.settings, size: 1)
        #expect(
            try await defaults.withConnection {
                try $0.run("SHOW") { try $0.query("SHOW statement_timeout").rows[0].string(0) }
            } == "1min")
        let streaming = DatabasePool(settings: db.settings.forStreaming, size: 1)
        let stream = try await streaming.withConnection { connection in
            try connection.run("SHOW") { postgres in
                (
                    try postgres.query("SHOW statement_timeout").rows[0].string(0),
                    Self.keepalive(of: postgres.socketDescriptor).enabled
                )
            }
        }
        #expect(stream.0 == "0" && stream.1)
    }

    /// The socket's keepalive options as the kernel has them.
    static func keepalive(of socket: Int32) -> (enabled: Bool, idle: Int32, interval: Int32, count: Int32) {
        func option(_ level: Int32, _ name: Int32) -> Int32 {
            var value: Int32 = -1
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(socket, level, name, &value, &length) == 0 else { return -1 }
            return value
        }
        let tcp = Int32(IPPROTO_TCP)
        return (
            option(SOL_SOCKET, SO_KEEPALIVE) == 1, option(tcp, TCP_KEEPIDLE), option(tcp, TCP_KEEPINTVL),
            option(tcp, TCP_KEEPCNT)
        )
    }

    @Test func bodiesRunOnTheStoresOwnThreads() async throws {
        let db = try StoreTestDatabase()
        let pool = DatabasePool(settings: db.settings, size: 1)
        let callerThread = pthread_self()
        let (name, sameThread) = try await pool.withConnection { _ in
            (Thread.current.name, pthread_equal(pthread_self(), callerThread) != 0)
        }
        #expect(name == "slawatch-db" && !sameThread, "\(String(describing: name))")
    }

    @Test func concurrentBorrowersShareTheConnectionsOneAtATime() async throws {
        let db = try StoreTestDatabase()
        let size = 3
        let pool = DatabasePool(settings: db.settings, size: size)
        let tracker = Tracker()
        let pids = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<24 {
                group.addTask {
                    try await pool.withConnection { connection in
                        let count = tracker.inUse.withLock { set -> Int? in
                            guard set.insert(ObjectIdentifier(connection)).inserted else { return nil }
                            return set.count
                        }
                        guard let count else {
                            tracker.overlaps.add(1, ordering: .relaxed)
                            return -1
                        }
                        _ = tracker.most.max(count, ordering: .relaxed)
                        defer { tracker.inUse.withLock { _ = $0.remove(ObjectIdentifier(connection)) } }
                        return try connection.run("sleeping") {
                            try $0.query("SELECT pg_backend_pid(), pg_sleep(0.02)").rows[0].int(0)
                        }
                    }
                }
            }
            var pids: [Int] = []
            for try await pid in group { pids.append(pid) }
            return pids
        }
        #expect(pids.count == 24 && tracker.overlaps.load(ordering: .relaxed) == 0)
        #expect(Set(pids).count <= size && tracker.most.load(ordering: .relaxed) <= size)
        #expect(tracker.most.load(ordering: .relaxed) > 1, "borrowers ran side by side")
        let counts = pool.counts
        #expect(counts.lent == 0 && counts.idle == size && counts.waiting == 0 && counts.replaced == 0)
    }

    /// Which connections are in a borrower's hands, and the most at once.
    final class Tracker: Sendable {
        let inUse = Mutex<Set<ObjectIdentifier>>([])
        let most = Atomic<Int>(0)
        let overlaps = Atomic<Int>(0)
    }

    @Test func aBrokenConnectionIsReplacedOnItsNextBorrow() async throws {
        let db = try StoreTestDatabase()
        let pool = DatabasePool(settings: db.settings, size: 1)
        let first = try await pool.withConnection {
            try $0.run("pid") { try $0.query("SELECT pg_backend_pid()").rows[0].int(0) }
        }
        _ = try db.connect().query("SELECT pg_terminate_backend($1::int)", [.int8(Int64(first))])
        // The borrower that finds it broken gets the error; the next one a new connection.
        var failure: StoreError?
        for _ in 0..<50 {
            do {
                _ = try await pool.withConnection { try $0.run("pid") { try $0.query("SELECT pg_backend_pid()") } }
                try await Task.sleep(for: .milliseconds(20))
            } catch let error as StoreError {
                failure = error
                break
            }
        }
        #expect(failure?.code == .unavailable, "\(String(describing: failure))")
        let second = try await pool.withConnection {
            try $0.run("pid") { try $0.query("SELECT pg_backend_pid()").rows[0].int(0) }
        }
        #expect(second != first && pool.counts.replaced == 1)
    }

    @Test func aPoolThatGoesAwayClosesItsConnections() async throws {
        let db = try StoreTestDatabase()
        let observer = try db.connect()
        func open() throws -> Int {
            try observer.query(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).rows[0].int(0)
        }
        do {
            let pool = DatabasePool(settings: db.settings, size: 3)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        try await pool.withConnection {
                            try $0.run("sleeping") { try $0.query("SELECT pg_sleep(0.05)") }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try open() == 3)
        }
        var remaining = try open()
        for _ in 0..<100 where remaining > 0 {
            try await Task.sleep(for: .milliseconds(20))
            remaining = try open()
        }
        #expect(remaining == 0)
    }

    @Test func aConnectionThreadKeepsItsSessionUntilItReconnects() async throws {
        let db = try StoreTestDatabase()
        let thread = ConnectionThread(settings: db.settings)
        let locked = try await thread.withConnection { try WorkerStore(connection: $0).tryEvaluatorLock() }
        let again = try await thread.withConnection { try WorkerStore(connection: $0).tryEvaluatorLock() }
        #expect(locked && again, "the same session takes its own lock again")
        let other = ConnectionThread(settings: db.settings)
        #expect(try await other.withConnection { try WorkerStore(connection: $0).tryEvaluatorLock() } == false)
        #expect(await thread.isHealthy())
        try await thread.reconnect()
        #expect(
            try await other.withConnection { try WorkerStore(connection: $0).tryEvaluatorLock() } == true,
            "a new session holds nothing")
    }
}
