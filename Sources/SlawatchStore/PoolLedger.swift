/// A pool's bookkeeping, without the connections: which are lent out, which must be replaced
/// before their next use, and who waits for one.
///
/// Idle connections are lent most recently returned first, so that a caller working alone keeps
/// using one warm connection and the others are never opened. A waiter is served in the order it
/// came, straight from the hand of the caller that gives a connection back.
struct PoolLedger<Waiter> {
    typealias Lease = PoolLease

    let size: Int
    private var idle: [Int]
    private var waiters: [Waiter] = []
    private var firstWaiter = 0
    private var broken: Set<Int> = []
    /// Connections lent out now.
    private(set) var lent = 0
    /// Connections replaced so far.
    private(set) var replacements = 0

    init(size: Int) {
        precondition(size > 0, "a pool needs at least one connection")
        self.size = size
        idle = Array((0..<size).reversed())
    }

    var waiting: Int { waiters.count - firstWaiter }
    var idleCount: Int { idle.count }

    /// A connection for `waiter` now, or nil: then `waiter` is queued and a later `giveBack`
    /// hands it one.
    mutating func borrow(_ waiter: Waiter) -> Lease? {
        guard let index = idle.popLast() else {
            waiters.append(waiter)
            return nil
        }
        lent += 1
        return lease(index)
    }

    /// Takes connection `index` back (`healthy` false: it is replaced before its next use) and
    /// returns the waiter it goes to now, if anyone waits.
    mutating func giveBack(_ index: Int, healthy: Bool) -> (waiter: Waiter, lease: Lease)? {
        precondition(index >= 0 && index < size && !idle.contains(index), "connection \(index) is not lent")
        if !healthy { broken.insert(index) }
        guard firstWaiter < waiters.count else {
            idle.append(index)
            lent -= 1
            return nil
        }
        let waiter = waiters[firstWaiter]
        firstWaiter += 1
        if firstWaiter == waiters.count {
            waiters.removeAll(keepingCapacity: true)
            firstWaiter = 0
        }
        return (waiter, lease(index))
    }

    private mutating func lease(_ index: Int) -> Lease {
        let replace = broken.remove(index) != nil
        if replace { replacements += 1 }
        return Lease(index: index, replace: replace)
    }
}

/// A connection a pool lends: its index, and whether it must be replaced by a new one before use
/// (it broke in the hands of an earlier borrower).
struct PoolLease: Equatable, Sendable {
    let index: Int
    let replace: Bool
}
