import Dispatch
import SlawatchStore
import Synchronization

/// The leases of the deliveries a worker holds: it renews them while they are being sent, and
/// tells a sender, right before each message leaves, whether its claim is still certainly held.
///
/// A claim holds from the moment its statement was sent; a renewal counts for a claim when it was
/// sent after the claim had come back (it then covered the claim's rows). Either instant plus the
/// lease, less a safety margin for the clocks' and the network's imprecision, is the deadline the
/// worker knows: past it a message is not sent any more (another worker may hold it by then). A
/// renewal that fails simply leaves the deadlines where they are, so a worker cut off from the
/// database stops sending within the lease.
final class LeaseKeeper: Sendable {
    /// Renewed this often; the lease (``DeliveryQueue/leaseMicros``) is five times as long.
    static let renewEveryNanos: UInt64 = 2_000_000_000
    /// Taken off the lease for the deadline the worker goes by.
    static let marginNanos: UInt64 = 2_000_000_000

    private struct State {
        var held: Set<Int64> = []
        /// When the latest successful renewal was sent (monotonic nanoseconds), 0 before any.
        var renewedFrom: UInt64 = 0
    }
    private let state = Mutex(State())

    /// A claim's instants: when its statement was sent, and when its rows were held here.
    struct Claim: Sendable {
        let sent: UInt64
        let held: UInt64
    }

    static func clock() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Those of `ids` not held already. A delivery on its way whose lease ran out in the database
    /// (its renewals came late) can come back in this worker's own next claim: it must not go twice.
    func notHeld(_ ids: [Int64]) -> Set<Int64> {
        state.withLock { state in Set(ids.filter { !state.held.contains($0) }) }
    }

    /// Notes `ids` as held from a claim sent at `sent`; returns the claim to check its lease by.
    func hold(_ ids: [Int64], sent: UInt64) -> Claim {
        state.withLock { $0.held.formUnion(ids) }
        // After the ids are in the set: a renewal sent from now on includes them.
        return Claim(sent: sent, held: Self.clock())
    }

    /// Forgets `ids` (recorded, given back, or given up).
    func release<S: Sequence<Int64>>(_ ids: S) {
        state.withLock { $0.held.subtract(ids) }
    }


    /// Whether the worker certainly still holds `claim`'s deliveries.
    func allows(_ claim: Claim) -> Bool {
        let renewed = state.withLock { $0.renewedFrom }
        let from = renewed > claim.held ? renewed : claim.sent
        let lease = UInt64(DeliveryQueue.leaseMicros) * 1000
        return Self.clock() < from + lease - Self.marginNanos
    }

    /// Renews the held leases every ``renewEveryNanos`` on `database` (a connection of its own, so
    /// that a renewal never waits behind claims and records) until the calling task is cancelled.
    func keepRenewing(on database: any ConnectionProvider, worker: String, log: Logger) async {
        var failing = false
        while !Task.isCancelled {
            do { try await Task.sleep(nanoseconds: Self.renewEveryNanos) } catch { return }
            let ids = state.withLock { Array($0.held) }
            guard !ids.isEmpty else { continue }
            let sent = Self.clock()
            do {
                _ = try await database.withConnection { try DeliveryQueue(connection: $0, worker: worker).renew(ids) }
                state.withLock { $0.renewedFrom = max($0.renewedFrom, sent) }
                if failing { log.info("delivery leases renewed again", ["deliveries": String(ids.count)]) }
                failing = false
            } catch {
                // Logged once per run of failures; the deadlines stop the sends meanwhile.
                if !failing {
                    log.warning(
                        "cannot renew delivery leases; their messages stop being sent when the lease runs out",
                        ["deliveries": String(ids.count), "error": CommandError.from(error).message])
                }
                failing = true
            }
        }
    }
}
