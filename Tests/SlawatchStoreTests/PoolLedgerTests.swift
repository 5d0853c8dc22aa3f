import Testing

@testable import SlawatchStore

/// The pool's bookkeeping alone: who gets which connection, who waits, what is replaced.
@Suite struct PoolLedgerTests {
    @Test func lendsEachConnectionOnceThenQueuesBorrowers() {
        var ledger = PoolLedger<String>(size: 2)
        #expect(ledger.size == 2 && ledger.idleCount == 2 && ledger.lent == 0)
        let first = ledger.borrow("a")
        let second = ledger.borrow("b")
        #expect(first == PoolLease(index: 0, replace: false))
        #expect(second == PoolLease(index: 1, replace: false))
        #expect(ledger.borrow("c") == nil)
        #expect(ledger.borrow("d") == nil)
        #expect(ledger.lent == 2 && ledger.idleCount == 0 && ledger.waiting == 2)
    }

    @Test func aConnectionGivenBackGoesToTheFirstWaiter() {
        var ledger = PoolLedger<String>(size: 1)
        _ = ledger.borrow("a")
        _ = ledger.borrow("b")
        _ = ledger.borrow("c")
        let handed = ledger.giveBack(0, healthy: true)
        #expect(handed?.waiter == "b" && handed?.lease == PoolLease(index: 0, replace: false))
        #expect(ledger.lent == 1 && ledger.waiting == 1)
        #expect(ledger.giveBack(0, healthy: true)?.waiter == "c")
        #expect(ledger.giveBack(0, healthy: true) == nil)
        #expect(ledger.lent == 0 && ledger.idleCount == 1 && ledger.waiting == 0)
    }

    @Test func theMostRecentlyReturnedConnectionIsLentFirst() {
        var ledger = PoolLedger<Int>(size: 3)
        for n in 0..<10 {
            let lease = ledger.borrow(n)
            #expect(lease?.index == 0, "a borrower alone keeps using connection 0")
            _ = ledger.giveBack(0, healthy: true)
        }
        let a = ledger.borrow(0)!
        let b = ledger.borrow(1)!
        _ = ledger.giveBack(b.index, healthy: true)
        _ = ledger.giveBack(a.index, healthy: true)
        #expect(ledger.borrow(2)?.index == a.index)
    }

    @Test func aBrokenConnectionIsReplacedAtItsNextLeaseOnly() {
        var ledger = PoolLedger<Int>(size: 2)
        let lease = ledger.borrow(0)!
        _ = ledger.giveBack(lease.index, healthy: false)
        #expect(ledger.replacements == 0)
        #expect(ledger.borrow(1) == PoolLease(index: lease.index, replace: true))
        #expect(ledger.replacements == 1)
        _ = ledger.giveBack(lease.index, healthy: true)
        #expect(ledger.borrow(2) == PoolLease(index: lease.index, replace: false))
        #expect(ledger.replacements == 1)
    }

    @Test func aBrokenConnectionHandedToAWaiterIsReplacedForIt() {
        var ledger = PoolLedger<String>(size: 1)
        _ = ledger.borrow("a")
        _ = ledger.borrow("b")
        let handed = ledger.giveBack(0, healthy: false)
        #expect(handed?.waiter == "b" && handed?.lease == PoolLease(index: 0, replace: true))
        #expect(ledger.replacements == 1)
    }

    @Test func manyBorrowersAreServedInOrderAndEveryConnectionComesBack() {
        let size = 3
        var ledger = PoolLedger<Int>(size: size)
        var holding: [(borrower: Int, index: Int)] = []
        var served: [Int] = []
        for borrower in 0..<50 {
            if let lease = ledger.borrow(borrower) {
                holding.append((borrower, lease.index))
                served.append(borrower)
            }
        }
        #expect(holding.count == size && ledger.waiting == 50 - size)
        while !holding.isEmpty {
            let (_, index) = holding.removeFirst()
            #expect(Set(holding.map(\.index)).count == holding.count, "no connection is lent twice")
            if let next = ledger.giveBack(index, healthy: true) {
                #expect(!holding.contains { $0.index == next.lease.index })
                holding.append((next.waiter, next.lease.index))
                served.append(next.waiter)
            }
        }
        #expect(served == Array(0..<50))
        #expect(ledger.lent == 0 && ledger.idleCount == size && ledger.waiting == 0)
    }
}
