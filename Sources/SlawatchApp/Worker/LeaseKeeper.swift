import Dispatch
import SlawatchStore
import Synchronization

/// The leases of the deliveries a worker holds: it renews them while they are being sent, and
/// tells a sender, right before each message leaves, whether its deliveries are still certainly held.
///
/// Each held delivery is covered from the instant the statement that last claimed or renewed it
/// was sent (by this process's monotonic clock: the database stamps the lease later, never
/// earlier); a renewal covers only the deliveries it says it renewed, so one taken by another
/// worker meanwhile is never covered again. That instant plus ``DeliveryQueue/boundMicros``, less a
/// safety margin for the clocks' and the network's imprecision, is the deadline the worker goes by:
/// past it a message is not sent any more. Another worker takes a claim only after that bound
/// (when the holder's session is gone) or after the whole lease (``DeliveryQueue``), so a live
/// worker never has a delivery taken while it may still send it. A renewal that fails leaves the
/// deadlines where they are, so a worker cut off from the database stops sending within the bound.
///
/// The renewal connection also holds the worker's holder lock (``DeliveryQueue/holdSession()``),
/// taken again after it was reconnected: while that session lives, the worker's claims outlast late
/// renewals; when the process dies, its claims are free for others once the bound has passed.
final class LeaseKeeper: Sendable {
    /// Renewed this often; the bound (``DeliveryQueue/boundMicros``) is four times as long.
    static let renewEveryNanos: UInt64 = 1_000_000_000
    /// Taken off the bound for the deadline the worker goes by.
    static let marginNanos: UInt64 = 1_000_000_000

    /// Held deliveries, each with the instant (monotonic nanoseconds) the statement that last
    /// covered it was sent.
    private let state = Mutex([Int64: UInt64]())

    static func clock() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Those of `ids` not held already. A delivery on its way whose lease ran out in the database
    /// (its renewals came late) can come back in this worker's own next claim: it must not go twice.
    func notHeld(_ ids: [Int64]) -> Set<Int64> {
        state.withLock { held in Set(ids.filter { held[$0] == nil }) }
    }

    /// Notes `ids` as held from a claim sent at `sent`.
    func hold(_ ids: [Int64], sent: UInt64) {
        state.withLock { held in
            for id in ids { held[id] = max(held[id] ?? 0, sent) }
        }
    }

    /// Forgets `ids` (recorded, given back, or given up).
    func release<S: Sequence<Int64>>(_ ids: S) {
        state.withLock { held in
            for id in ids { held[id] = nil }
        }
    }

    /// Whether the worker certainly still holds every one of `ids` (a message's deliveries).
    func allows(_ ids: [Int64]) -> Bool {
        let bound = UInt64(DeliveryQueue.boundMicros) * 1000 - Self.marginNanos
        let now = Self.clock()
        return state.withLock { held in
            ids.allSatisfy { id in held[id].map { now < $0 + bound } ?? false }
        }
    }

    /// Renews the held leases every ``renewEveryNanos`` on `database` (a connection of its own, so
    /// that a renewal never waits behind claims and records) until the calling task is cancelled;
    /// the holder lock is taken on it first, and again whenever it was reconnected.
    func keepRenewing(on database: any ConnectionProvider, worker: String, log: Logger) async {
        var failing = false
        _ = try? await database.withConnection { try DeliveryQueue(connection: $0, worker: worker).holdSession() }
        while !Task.isCancelled {
            do { try await Task.sleep(nanoseconds: Self.renewEveryNanos) } catch { return }
            let sent = Self.clock()
            // Only what was covered half a renewal period ago or earlier: a delivery claimed since is
            // answered before it needs one, most of the time, and is renewed at the next round at
            // the latest, 1.5 s after it was covered, well within the bound.
            let ids = state.withLock { held in
                held.compactMap { id, covered in sent - min(sent, covered) >= Self.renewEveryNanos / 2 ? id : nil }
            }
            guard !ids.isEmpty else { continue }
            do {
                let renewed = try await database.withConnection { connection in
                    let queue = DeliveryQueue(connection: connection, worker: worker)
                    try queue.holdSession()
                    return try queue.renew(ids)
                }
                state.withLock { held in
                    for id in renewed where held[id] != nil { held[id] = max(held[id]!, sent) }
                }
                if failing { log.info("delivery leases renewed again", ["deliveries": String(ids.count)]) }
                failing = false
            } catch {
                // Logged once per run of failures; the deadlines stop the sends meanwhile.
                if !failing {
                    log.warning(
                        "cannot renew delivery leases; their messages stop being sent when the bound has passed",
                        ["deliveries": String(ids.count), "error": CommandError.from(error).message])
                }
                failing = true
                // A renewal connection lost for a moment comes back at the next renewal, a new session
                // that takes the holder lock again.
                if let thread = database as? ConnectionThread, !(await thread.isHealthy()) {
                    _ = try? await thread.reconnect()
                }
            }
        }
    }
}
