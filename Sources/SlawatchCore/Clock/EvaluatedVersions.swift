/// The ticket versions whose clock was stored recently, so that a cycle that looks back over
/// tickets it has already seen can tell which are new without reading the stored clocks.
///
/// A version is a ticket id with the `updated_at`, status and priority its clock was computed
/// from, kept as a 64-bit hash beside its `updated_at`: two versions share a hash with a chance
/// of about one in 10^19, and a version taken for seen by such a collision only waits for its
/// next crossing or the next full pass to be evaluated.
public struct EvaluatedVersions: Sendable, Equatable {
    /// Hash → `updated_at` (microseconds) of the version.
    private var versions: [UInt64: Int64] = [:]

    public init() {}

    public var count: Int { versions.count }

    public static func hash(id: String, updated: Int64, status: String, priority: String) -> UInt64 {
        // Eight bytes at a time, each word folded in with a multiply and a shift: stable across
        // processes (unlike Swift's seeded Hasher), and cheap enough to run over every ticket a
        // cycle looks back over.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var word: UInt64 = 0
        var filled: UInt64 = 0
        @inline(__always) func fold(_ value: UInt64) {
            hash = (hash ^ value) &* 0x9E37_79B9_7F4A_7C15
            hash ^= hash >> 29
        }
        @inline(__always) func add(_ byte: UInt8) {
            word |= UInt64(byte) << (filled &* 8)
            filled &+= 1
            if filled == 8 {
                fold(word)
                word = 0
                filled = 0
            }
        }
        for byte in id.utf8 { add(byte) }
        add(0x1F)
        for byte in status.utf8 { add(byte) }
        add(0x1F)
        for byte in priority.utf8 { add(byte) }
        fold(word ^ (filled << 56))
        fold(UInt64(bitPattern: updated))
        return hash
    }

    public func contains(id: String, updated: Int64, status: String, priority: String) -> Bool {
        versions[Self.hash(id: id, updated: updated, status: status, priority: priority)] != nil
    }

    public mutating func insert(id: String, updated: Int64, status: String, priority: String) {
        versions[Self.hash(id: id, updated: updated, status: status, priority: priority)] = updated
    }

    /// Forgets the versions updated at or before `instant`: a cycle that looks no further back
    /// never meets them again.
    public mutating func forget(updatedAtOrBefore instant: Instant) {
        versions = versions.filter { $0.value > instant.microseconds }
    }

    /// 16 bytes per version, little-endian: the hash, then `updated_at`.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(versions.count * 16)
        for (hash, updated) in versions.sorted(by: { $0.key < $1.key }) {
            withUnsafeBytes(of: hash.littleEndian) { out.append(contentsOf: $0) }
            withUnsafeBytes(of: updated.littleEndian) { out.append(contentsOf: $0) }
        }
        return out
    }

    /// Reads `bytes` back; a truncated trailing entry is ignored (the set only saves work).
    public init(bytes: some Collection<UInt8>) {
        let all = Array(bytes)
        var offset = 0
        while offset + 16 <= all.count {
            var hash: UInt64 = 0
            var updated: Int64 = 0
            for i in 0..<8 { hash |= UInt64(all[offset + i]) << (8 * UInt64(i)) }
            for i in 0..<8 { updated |= Int64(all[offset + 8 + i]) << (8 * Int64(i)) }
            versions[hash] = updated
            offset += 16
        }
    }
}

extension EvaluatedVersions {
    /// The version `ticket` is in.
    public func contains(_ ticket: SourceTicket) -> Bool {
        contains(
            id: ticket.ticketID, updated: ticket.updatedAt.microseconds, status: ticket.status,
            priority: ticket.priority)
    }

    public mutating func insert(_ ticket: SourceTicket) {
        insert(
            id: ticket.ticketID, updated: ticket.updatedAt.microseconds, status: ticket.status,
            priority: ticket.priority)
    }

    /// Forgets the version `ticket` is in: its clock is no longer stored.
    public mutating func remove(_ ticket: SourceTicket) {
        versions[
            Self.hash(
                id: ticket.ticketID, updated: ticket.updatedAt.microseconds, status: ticket.status,
                priority: ticket.priority)] = nil
    }
}
